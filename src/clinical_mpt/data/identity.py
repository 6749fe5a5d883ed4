"""Which data a run folder's work was trained on: OUT/data.json, a checksum of the suite's task files.

Finished work is reused by config key (protocol.py), and the config names the suite's folder, not its
content. A suite regenerated in place (a newer generator, an edited split) would otherwise be read
beside prompts trained on the old one, and a resumed run would mix the two silently. Each run in a
folder records the checksum of every task it reads; a later run there that reads one of those tasks
with other content stops with an error instead.

    {"suite": "runs/suite", "tasks": {"med_ner": "<sha256 of its spec and splits>", ...}}
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from clinical_mpt.data.jsonl import atomic_write_text
from clinical_mpt.data.suite import ROLES, SPLITS, split_path
from clinical_mpt.errors import ConfigError

DATA_FILE = "data.json"


def task_checksum(folder: str | Path, spec: dict) -> str:
    """sha256 over a task's spec (name, type, role, instruction, labels) and its split files' bytes."""
    h = hashlib.sha256(json.dumps({k: spec.get(k) for k in ("name", "type", "role", "instruction", "labels")},
                                  sort_keys=True).encode())
    for split in SPLITS:
        path = split_path(folder, spec, split)
        h.update(f"\n{split}\n".encode())
        h.update(path.read_bytes() if path.is_file() else b"<missing>")
    return h.hexdigest()


def used_specs(suite: dict, source_tasks: list[str] | None, target_tasks: list[str]) -> list[dict]:
    """The task specs a run reads: its source tasks (None: it reads none, e.g. it starts from a given P*)
    and its target tasks, every one of a role when none are named. Names the suite lacks are left to the
    stage that reads them, which reports them."""
    by_name = {t["name"]: t for t in suite["tasks"]}
    specs = {}
    for role, names in zip(ROLES, (source_tasks, target_tasks)):
        if names is None:
            continue
        chosen = [by_name[n] for n in names if n in by_name] if names else \
            [t for t in suite["tasks"] if t.get("role") == role]
        specs |= {t["name"]: t for t in chosen}
    return list(specs.values())


def read_record(path: Path) -> dict:
    """OUT/data.json as {"suite", "tasks": {name: sha256}}; {} when absent."""
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: unreadable ({e}); delete it and the next run records the data again") from None
    if not isinstance(record, dict) or not isinstance(record.get("tasks", {}), dict):
        raise ConfigError(f"{path}: expected {{\"suite\": ..., \"tasks\": {{name: sha256}}}}; delete it and the next "
                          "run records the data again")
    return record


def changed_tasks(out: Path, folder: str | Path, names: list[str]) -> list[str]:
    """Read-only: which of `names` OUT/data.json recorded with other content than `folder` now holds
    ([] when OUT has no record, or the suite no longer has the task)."""
    seen = read_record(Path(out) / DATA_FILE).get("tasks", {})
    try:
        specs = {t["name"]: t for t in json.loads((Path(folder) / "suite.json").read_text(encoding="utf-8"))["tasks"]}
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return _differ(seen, {n: task_checksum(folder, specs[n]) for n in names if n in seen and n in specs})


def _differ(seen: dict[str, str], now: dict[str, str]) -> list[str]:
    """The tasks of `now` recorded in `seen` with another checksum, sorted."""
    return sorted(name for name in now if name in seen and seen[name] != now[name])


def check_data(out: Path, folder: str | Path, specs: list[dict]) -> None:
    """Record each task's checksum in OUT/data.json; ConfigError when a task OUT has seen reads other data
    now (`--force` does not lift it). Tasks new to OUT are added to the record."""
    now = {spec["name"]: task_checksum(folder, spec) for spec in specs}
    path = Path(out) / DATA_FILE
    before = read_record(path)
    seen = before.get("tasks", {})
    changed = _differ(seen, now)
    if changed:
        raise ConfigError(
            f"{folder} now holds other data for {', '.join(changed)} than the data {out} was run on "
            f"({before.get('suite')}, checksums in {path}): work finished there would be reused beside it. "
            f"Restore that data, run into a new --out, or, if {out} holds no finished work, delete {path}")
    record = {"suite": str(folder), "tasks": dict(sorted((seen | now).items()))}
    if record != before:
        atomic_write_text(path, json.dumps(record, indent=2) + "\n")
