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
from clinical_mpt.data.suite import ROLES
from clinical_mpt.errors import ConfigError

DATA_FILE = "data.json"
SPLITS = ("train", "dev", "test")


def task_checksum(folder: str | Path, spec: dict) -> str:
    """sha256 over a task's spec (name, type, role, instruction, labels) and its split files' bytes."""
    h = hashlib.sha256(json.dumps({k: spec.get(k) for k in ("name", "type", "role", "instruction", "labels")},
                                  sort_keys=True).encode())
    for split in SPLITS:
        path = Path(folder) / spec.get("role", "source") / spec["name"] / f"{split}.jsonl"
        h.update(f"\n{split}\n".encode())
        h.update(path.read_bytes() if path.is_file() else b"<missing>")
    return h.hexdigest()


def used_specs(suite: dict, source_tasks: list[str], target_tasks: list[str]) -> list[dict]:
    """The task specs a config may read: its source and target tasks (every one of a role when none are
    named). Names the suite lacks are left to the stage that reads them (a run that starts from a given
    P* names source tasks its suite need not hold)."""
    by_name = {t["name"]: t for t in suite["tasks"]}
    specs = {}
    for role, names in zip(ROLES, (source_tasks, target_tasks)):
        chosen = [by_name[n] for n in names if n in by_name] if names else \
            [t for t in suite["tasks"] if t.get("role") == role]
        specs |= {t["name"]: t for t in chosen}
    return list(specs.values())


def check_data(out: Path, folder: str | Path, specs: list[dict]) -> None:
    """Record each task's checksum in OUT/data.json; ConfigError when a task OUT has seen reads other data
    now. Tasks new to OUT are added to the record (their work has no key there yet)."""
    now = {spec["name"]: task_checksum(folder, spec) for spec in specs}
    path = Path(out) / DATA_FILE
    before = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    seen = before.get("tasks", {})
    changed = sorted(name for name in now if name in seen and seen[name] != now[name])
    if changed:
        raise ConfigError(
            f"{out} holds work trained on other data than {folder} now has for {', '.join(changed)} "
            f"(checksums in {path}; recorded from {before.get('suite')}): it would be reused beside the new "
            f"data. Run into a new --out, or delete {out} to start it again")
    record = {"suite": str(folder), "tasks": dict(sorted((seen | now).items()))}
    if record != before:
        atomic_write_text(path, json.dumps(record, indent=2) + "\n")
