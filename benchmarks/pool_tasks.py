"""Copy a task suite and add one task that pools the splits of several tasks of one type.

Used for the NLI real-text experiment (docs/results/README.md, "The real-text check"): one NLI prompt
trained on every synthetic NLI task at once (history, medication, lab, radiology and trial-abstract
premises) instead of one topic, to see whether topic variety alone carries over to hand-written pairs.

    python benchmarks/pool_tasks.py --suite runs/suite --out runs/nli-pool-suite --name nli_pool \\
        mednli_history mednli_meds mednli_labs radnli scinli
    clinical-mpt teach configs/study-cpu.yaml --out runs/nli-pool --depth deep \\
        data.suite=runs/nli-pool-suite 'data.source_tasks=[nli_pool]' teach.steps=300 teach.eval_every=50

The pooled task's train/dev/test splits are the named tasks' splits concatenated and shuffled with
`--seed` (deterministic), each row's `task` renamed. Every other task is copied unchanged, so the
copy is still the same synthetic suite (same version) plus one task; suite.json lists the pooled task
last with `"pooled_from"` naming its parts.

`--role target --test FILE` makes the pooled task a target whose test split is FILE's rows (canonical
JSONL of the task type, validated; their `task` renamed, suite.json's `"test_from"` names the file),
so that `clinical-mpt run` trains every method on the pooled synthetic train split, stops early on its
synthetic dev split, and scores the methods on FILE with intervals, a majority row and paired deltas:
the real-text check as a study (docs/results/README.md, "The real-text check"):

    python benchmarks/pool_tasks.py --suite runs/suite --out runs/nli-real-suite --name nli_real \
        --role target --test benchmarks/real_text/nli.jsonl mednli_history mednli_meds mednli_labs radnli scinli
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("tasks", nargs="+", metavar="TASK", help="tasks to pool (all of one type)")
    p.add_argument("--suite", required=True, metavar="DIR", help="suite folder to copy (holds suite.json)")
    p.add_argument("--out", required=True, metavar="DIR", help="new suite folder (must not exist)")
    p.add_argument("--name", required=True, help="name of the pooled task")
    p.add_argument("--role", choices=("source", "target"), default="source", help="its role (default: source)")
    p.add_argument("--test", metavar="FILE", help="canonical JSONL rows that replace its test split")
    p.add_argument("--instruction", help="its instruction (default: the first pooled task's)")
    p.add_argument("--seed", type=int, default=0, help="shuffle seed")
    return p.parse_args(argv)


def pooled_spec(suite: dict, tasks: list[str], name: str, instruction: str | None, role: str = "source") -> dict:
    """The suite.json entry of the pooled task; ConfigError on unknown tasks, mixed types or a taken name."""
    from clinical_mpt.errors import ConfigError

    by_name = {t["name"]: t for t in suite["tasks"]}
    unknown = [t for t in tasks if t not in by_name]
    if unknown:
        raise ConfigError(f"no task {', '.join(unknown)} in the suite; tasks: {', '.join(by_name)}")
    if name in by_name:
        raise ConfigError(f"the suite already has a task named {name!r}")
    types = sorted({by_name[t]["type"] for t in tasks})
    if len(types) != 1:
        raise ConfigError(f"pooled tasks must share one type (got {', '.join(types)})")
    first = by_name[tasks[0]]
    return {"name": name, "type": types[0], "role": role, "style": first.get("style", ""),
            "description": f"{', '.join(tasks)} pooled", "instruction": instruction or first.get("instruction", ""),
            "labels": first.get("labels", []), "pooled_from": list(tasks)}


def pool(suite_dir: Path, out_dir: Path, tasks: list[str], name: str, instruction: str | None = None,
         seed: int = 0, role: str = "source", test: Path | None = None) -> dict:
    """Write the copy with the pooled task to `out_dir`; return its suite.json content."""
    from clinical_mpt.data.canonical import validate_examples
    from clinical_mpt.data.jsonl import read_jsonl, write_json, write_jsonl
    from clinical_mpt.data.suite import load_split, load_suite
    from clinical_mpt.data.synth.suite import SPLITS
    from clinical_mpt.errors import ConfigError

    if out_dir.exists():
        raise ConfigError(f"{out_dir} exists; pick a new folder")
    suite = load_suite(suite_dir)
    spec = pooled_spec(suite, tasks, name, instruction, role)
    test_rows = validate_examples(read_jsonl(test), str(test), spec["type"]) if test else None
    parts = [next(t for t in suite["tasks"] if t["name"] == part) for part in tasks]
    shutil.copytree(suite_dir, out_dir)
    rng, sizes = random.Random(seed), {}
    for split in SPLITS:
        if split == "test" and test_rows is not None:  # the last split: the shuffles before it are unchanged
            rows = [dict(r, task=name) for r in test_rows]
        else:
            rows = [dict(r, task=name) for part in parts for r in load_split(suite_dir, part, split).examples]
            rng.shuffle(rows)
        write_jsonl(out_dir / role / name / f"{split}.jsonl", rows)
        sizes[split] = len(rows)
    suite["tasks"].append(dict(spec, sizes=sizes, **({"test_from": str(test)} if test else {})))
    write_json(out_dir / "suite.json", suite)
    return suite


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    suite = pool(Path(args.suite), Path(args.out), args.tasks, args.name, args.instruction, args.seed, args.role,
                 Path(args.test) if args.test else None)
    print(json.dumps({"out": args.out, "task": suite["tasks"][-1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
