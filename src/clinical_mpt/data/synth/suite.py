"""Build the synthetic suite (pure) and write it to disk.

Layout written by `generate_suite(DIR)`:
    DIR/suite.json                          the task table (see `suite_dict`)
    DIR/<role>/<task>/{train,dev,test}.jsonl canonical examples, ids `<task>-<split>-<nnnn>`

Determinism: each task draws from its own `random.Random(seed * 1_000_003 + crc32(task name))`;
nothing uses the global RNG, `hash()` or set order, so the same seed gives byte-identical files.
Within a task, examples are unique by input (no text appears twice, in particular not in two splits).
"""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

from clinical_mpt.data.canonical import validate_example
from clinical_mpt.data.jsonl import write_json, write_jsonl
from clinical_mpt.data.synth.styles import STYLES
from clinical_mpt.data.synth.tasks import EXTRA_TASKS, TASKS, TaskSpec
from clinical_mpt.tasks.registry import get_task_type

SPLITS = ("train", "dev", "test")
SUITE_VERSION = 2  # 2: target tasks have 128 test and 48 dev examples (1: 48 and 32); richer medication and
#   MedNLI sources (med_ner, drug_attr_re, ade_ner, drug_ade_re, mednli_history, mednli_meds, mednli_labs)
MAX_TRIES_PER_EXAMPLE = 50

DESCRIPTION = (
    "SYNTHETIC clinical benchmark: 21 source and 10 target tasks over NER, RE, extractive QA, multiple-choice QA, "
    "NLI and summarization, written from curated vocabularies in simulated institution styles. Labels are correct "
    "by construction. It contains no patient data and says nothing about clinical validity or real-world accuracy."
)



def task_rng(seed: int, name: str) -> random.Random:
    """The task's own generator: stable across processes (crc32, not the salted `hash()`)."""
    return random.Random(seed * 1_000_003 + zlib.crc32(name.encode("utf-8")))


def input_key(ex: dict) -> str:
    """The example's input fields (its type's `inputs`) as one string: used to keep inputs unique."""
    return json.dumps([ex.get(f.name) for f in get_task_type(ex["type"]).inputs], sort_keys=True, ensure_ascii=False)


def generate_task(spec: TaskSpec, seed: int) -> dict[str, list[dict]]:
    """{split: [example, ...]} for one task; every example validated, inputs unique across splits."""
    rng, style = task_rng(seed, spec.name), STYLES[spec.style]
    seen: set[str] = set()
    out: dict[str, list[dict]] = {}
    for split in SPLITS:
        rows: list[dict] = []
        tries = 0
        while len(rows) < spec.sizes[split]:
            tries += 1
            if tries > MAX_TRIES_PER_EXAMPLE * spec.sizes[split]:
                raise RuntimeError(f"{spec.name}: could not draw {spec.sizes[split]} distinct {split} examples")
            ex = {"id": f"{spec.name}-{split}-{len(rows):04d}", "type": spec.type, "task": spec.name,
                  **spec.make(rng, style)}
            key = input_key(ex)
            if key in seen:
                continue
            seen.add(key)
            rows.append(validate_example(ex, ex["id"], spec.type))
        out[split] = rows
    return out


def suite_tasks(extra: tuple[str, ...] = ()) -> tuple[TaskSpec, ...]:
    """The 31 tasks, then the named extra tasks (tasks.EXTRA_TASKS); ConfigError on an unknown name."""
    from clinical_mpt.errors import ConfigError

    by_name = {t.name: t for t in EXTRA_TASKS}
    unknown = [name for name in extra if name not in by_name]
    if unknown:
        raise ConfigError(f"no extra synthetic task {', '.join(unknown)}; extra tasks: {', '.join(by_name)}")
    return TASKS + tuple(by_name[name] for name in dict.fromkeys(extra))


def suite_dict(seed: int, extra: tuple[str, ...] = ()) -> dict:
    """The content of suite.json (the keys the training code reads)."""
    return {
        "name": "clinical-synth", "version": SUITE_VERSION, "seed": seed, "synthetic": True,
        "description": DESCRIPTION + (f" Extra tasks outside the study: {', '.join(dict.fromkeys(extra))}." if extra else ""),
        "styles": {s.name: s.description for s in STYLES.values()},
        "tasks": [{"name": t.name, "type": t.type, "role": t.role, "style": t.style, "description": t.description,
                   "instruction": t.instruction, "labels": list(t.labels), "sizes": dict(t.sizes)}
                  for t in suite_tasks(extra)],
    }


def build_suite(seed: int = 0, extra: tuple[str, ...] = ()) -> tuple[dict, dict[str, dict[str, list[dict]]]]:
    """Pure: (suite dict, {task_name: {"train": [...], "dev": [...], "test": [...]}}) without touching disk.
    `extra` names tasks of tasks.EXTRA_TASKS to add after the 31 (their draws leave the others unchanged)."""
    return suite_dict(seed, extra), {t.name: generate_task(t, seed) for t in suite_tasks(extra)}


def generate_suite(out_dir: Path, seed: int = 0, extra: tuple[str, ...] = ()) -> dict:
    """Write DIR/suite.json and DIR/<role>/<task>/{train,dev,test}.jsonl; return the suite dict."""
    out_dir = Path(out_dir)
    suite, data = build_suite(seed, extra)
    for task in suite["tasks"]:
        for split, rows in data[task["name"]].items():
            write_jsonl(out_dir / task["role"] / task["name"] / f"{split}.jsonl", rows)
    write_json(out_dir / "suite.json", suite)
    return suite
