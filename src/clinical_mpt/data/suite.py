"""A task suite on disk: `suite.json` (task names, types, roles, instructions) + per-task splits.

    DIR/suite.json
    DIR/<role>/<task>/{train,dev,test}.jsonl      role = source | target
"""

from __future__ import annotations

from pathlib import Path

from clinical_mpt.batching import TaskData
from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.jsonl import parse_json, read_jsonl
from clinical_mpt.errors import ConfigError, DataError
from clinical_mpt.tasks.base import TASK_NAME
from clinical_mpt.tasks.registry import TASK_TYPES

ROLES = ("source", "target")
SPLITS = ("train", "dev", "test")


def load_suite(folder: str | Path, synth_seed: int = 0) -> dict:
    """Read DIR/suite.json; generate the synthetic suite there first if DIR does not exist yet."""
    folder = Path(folder)
    path = folder / "suite.json"
    if not path.is_file():
        if folder.exists() and any(folder.iterdir()):
            raise ConfigError(f"data.suite: {folder} has no suite.json (make one with `clinical-mpt data synth --out {folder}`)")
        from clinical_mpt.data.synth import generate_suite

        print(f"generating the synthetic clinical suite in {folder} (seed {synth_seed})", flush=True)
        generate_suite(folder, seed=synth_seed)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    suite = parse_json(text, str(path), whole_file=True)
    check_suite(suite, path)
    check_synthetic_version(suite, folder)
    return suite


def check_synthetic_version(suite: dict, folder: Path) -> None:
    """ConfigError when `folder` holds the synthetic suite of another version than this code writes
    (its splits differ: results would not be comparable)."""
    from clinical_mpt.data.synth.suite import SUITE_VERSION

    if suite.get("name") == "clinical-synth" and suite.get("synthetic") is True \
            and suite.get("version") != SUITE_VERSION:
        raise ConfigError(f"data.suite: {folder} holds version {suite.get('version')} of the synthetic suite; this "
                          f"clinical-mpt writes version {SUITE_VERSION} (more target test examples): delete {folder} "
                          f"and it is generated again, or run `clinical-mpt data synth --out {folder}`")


def check_suite(suite, path: Path) -> None:
    """DataError naming the task unless `suite` is {"tasks": [{"name", "type", "role", ...}]} with
    unique folder-safe names, known types and roles source | target."""
    if not isinstance(suite, dict) or not isinstance(suite.get("tasks"), list):
        raise DataError(f"{path}: needs a JSON object with a 'tasks' list")
    seen = set()
    for i, t in enumerate(suite["tasks"]):
        name = t.get("name") if isinstance(t, dict) else None
        if not isinstance(name, str) or not TASK_NAME.match(name):
            raise DataError(f"{path}: tasks[{i}]: 'name' must be letters, digits, '_', '.' or '-' (got {name!r})")
        known_type = isinstance(t.get("type"), str) and t["type"] in TASK_TYPES
        if not known_type or t.get("role") not in ROLES or name in seen:
            raise DataError(f"{path}: task {name}: needs a unique name, 'type' one of {', '.join(TASK_TYPES)} "
                            f"and 'role' source or target")
        seen.add(name)


def select_tasks(suite: dict, role: str, names: list[str]) -> list[dict]:
    """The task specs of `role` (all of them when `names` is empty), in the order given."""
    by_name = {t["name"]: t for t in suite["tasks"]}
    if not names:
        return [t for t in suite["tasks"] if t.get("role") == role]
    for n in names:
        if n not in by_name:
            raise ConfigError(f"data.{role}_tasks: unknown task {n!r}; the suite has: {', '.join(sorted(by_name))}")
    return [by_name[n] for n in names]


def split_path(folder: str | Path, spec: dict, split: str) -> Path:
    """DIR/<role>/<task>/<split>.jsonl of a task spec (role source when unset)."""
    return Path(folder) / spec.get("role", "source") / spec["name"] / f"{split}.jsonl"


def load_split(folder: str | Path, spec: dict, split: str, max_examples: int | None = None) -> TaskData:
    """Read and validate one split of one task (at most `max_examples`, the first ones)."""
    path = split_path(folder, spec, split)
    rows = [dict(r, type=r.get("type", spec["type"])) for r in read_jsonl(path)]
    validate_examples(rows, str(path), spec["type"])
    if max_examples is not None:
        rows = rows[:max_examples]
    return TaskData(name=spec["name"], type=spec["type"], instruction=spec.get("instruction"), examples=rows)
