"""Score a prompt library on hand-written clinical text from outside the synthetic suite.

The project's proxy for "the shipped prompts work on new text" (docs/synthetic-suite.md, "The
real-text check"): benchmarks/real_text/med_ner.jsonl (medication NER, scored by F1) and
benchmarks/real_text/nli.jsonl (NLI, scored by accuracy), both small and written by hand, separately
from the generators' vocabulary. Predictions go through the same path as `clinical-mpt predict`
(`Engine.from_library` ... `Engine.predict`) and are scored with `tasks.scoring.score_predictions`.

    python benchmarks/real_text_check.py [--library libraries/default] [--backbone NAME]

Prints one JSON object per scored task and check file, one per line (ci95: bootstrap over its rows):
    {"task": "med_ner", "data": "med_ner.jsonl", "n": 45, "metric": "f1", "score": 0.41, "ci95": [0.3, 0.5], "goal": 0.6}
With --paired, then one line per two tasks of one type and check file, their paired bootstrap difference:
    {"paired": ["a", "b"], "data": "nli.jsonl", "metric": "accuracy", "delta": 0.09, "ci95": [-0.07, 0.24]}
NLI lines add "confusion": {gold label: {predicted label: count}}. NLI has two check files: nli.jsonl
(the first, written beside the generators) and unseen/nli.jsonl (written after the note_nli generator,
on topics chosen outside the generators' facts: the fairer proxy for new text); a folder given with --data
needs the first, and the second is scored when it is there.
By default the NER file is scored with the library's `med_ner` entry and the NLI file with every NLI
entry of the library; `--ner-task` / `--nli-task` choose others.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = HERE / "real_text"
# task type -> (check files, the first required, the metric of the goal, the goal from issue 16)
CHECKS = {"ner": (("med_ner.jsonl",), "f1", 0.6), "nli": (("nli.jsonl", "unseen/nli.jsonl"), "accuracy", 0.6)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--library", default=str(HERE.parent / "libraries" / "default"), metavar="DIR",
                   help="prompt library to check (default: the shipped libraries/default)")
    p.add_argument("--backbone", help="backbone to load (default: the library's)")
    p.add_argument("--dtype", default="auto", help="auto | bfloat16 | float32 | float16")
    p.add_argument("--data", default=str(DATA), metavar="DIR", help="folder holding med_ner.jsonl and nli.jsonl")
    p.add_argument("--ner-task", default="med_ner", help="library entry that scores med_ner.jsonl ('' to skip)")
    p.add_argument("--nli-task", action="append", metavar="TASK",
                   help="library entry that scores nli.jsonl (repeatable; default: every nli entry)")
    p.add_argument("--batch-size", type=int, default=16, help="rows per forward pass")
    p.add_argument("--classification", choices=("rank", "generate"), default="rank",
                   help="NLI: rank the labels (default, as `predict` and `serve` answer) or generate the answer")
    p.add_argument("--paired", action="store_true",
                   help="also print, per check file, the paired bootstrap difference of every two scored tasks of one type")
    return p.parse_args(argv)


def read_check(folder: Path, type_: str) -> dict[str, list[dict]]:
    """{check file: its validated rows} for a task type: its first file (required), then the others
    that `folder` holds."""
    from clinical_mpt.data.canonical import validate_examples
    from clinical_mpt.data.jsonl import read_jsonl

    first, *others = CHECKS[type_][0]
    files = [first] + [name for name in others if (folder / name).is_file()]
    return {name: validate_examples(read_jsonl(folder / name), str(folder / name), type_) for name in files}


def chosen_tasks(library, ner_task: str, nli_tasks: list[str] | None) -> dict[str, str]:
    """{task name: task type} to score, each checked against the library's entries."""
    from clinical_mpt.errors import ConfigError

    wanted = {ner_task: "ner"} if ner_task else {}
    if nli_tasks is None:
        nli_tasks = [name for name in library.names() if library.entry_config(name)["type"] == "nli"]
    wanted.update({name: "nli" for name in nli_tasks})
    for name, type_ in wanted.items():
        if name not in library.names():
            raise ConfigError(f"{library.root}: no entry {name!r} to score {CHECKS[type_][0][0]}; "
                              f"entries: {', '.join(library.names()) or '(none)'}")
        actual = library.entry_config(name)["type"]
        if actual != type_:
            raise ConfigError(f"{library.root}: entry {name!r} is a {actual} task; {CHECKS[type_][0][0]} needs a {type_} task")
    return wanted


def score_task(engine, task: str, type_: str, data: str, rows: list[dict]):
    """One task on one check file: ({task, data, n, metric, score, ci95, goal}, its metric as a function
    of resampled row indices, for `paired`). ci95: percentile bootstrap over the file's rows."""
    from clinical_mpt.serve.engine import Request
    from clinical_mpt.stats import bootstrap_ci, task_metric
    from clinical_mpt.tasks.registry import get_task_type
    from clinical_mpt.tasks.scoring import align_predictions

    preds = align_predictions(type_, rows, engine.predict([Request(task, row, row["id"]) for row in rows]))
    _, metric, goal = CHECKS[type_]
    scored = task_metric(get_task_type(type_), rows, preds, metric)
    ci = bootstrap_ci(scored, len(rows))
    out = {"task": task, "data": data, "n": ci["n"], "metric": metric, "score": ci["score"], "ci95": ci["ci95"],
           "goal": goal}
    if type_ == "nli":
        out["confusion"] = confusion(rows, preds)
    return out, scored


def paired(data: str, metric: str, n: int, a: str, scored_a, b: str, scored_b) -> dict:
    """{"paired": [a, b], data, metric, delta, ci95}: score(a) - score(b) on the same resampled rows."""
    from clinical_mpt.stats import paired_delta

    return {"paired": [a, b], "data": data, "metric": metric, **paired_delta([[scored_a]], [[scored_b]], [n])}


def confusion(rows: list[dict], preds: list[dict]) -> dict[str, dict[str, int]]:
    """{gold label: {predicted label: count}} over the NLI labels; a prediction without a valid label
    (possible when generating) counts under "other"."""
    from clinical_mpt.data.canonical import NLI_LABELS

    table = {gold: dict.fromkeys((*NLI_LABELS, "other"), 0) for gold in NLI_LABELS}
    for row, pred in zip(rows, preds, strict=True):
        label = pred.get("label") if isinstance(pred, dict) else None
        table[row["label"]][label if label in NLI_LABELS else "other"] += 1
    return table


def main(argv: list[str] | None = None) -> int:
    from clinical_mpt.library import Library, resolve_library
    from clinical_mpt.serve.engine import Engine, EngineConfig

    args = parse_args(argv)
    library = Library.open(resolve_library(args.library))
    tasks = chosen_tasks(library, args.ner_task, args.nli_task)
    rows = {type_: read_check(Path(args.data), type_) for type_ in set(tasks.values())}
    engine = Engine.from_library(library.root, backbone_name=args.backbone, dtype=args.dtype,
                                 config=EngineConfig(max_batch_size=args.batch_size, classification=args.classification),
                                 tasks=sorted(tasks))
    scored = {}   # (task, check file) -> its metric of resampled rows
    for task in sorted(tasks):
        for data, check in rows[tasks[task]].items():
            line, scored[task, data] = score_task(engine, task, tasks[task], data, check)
            print(json.dumps(line), flush=True)
    if args.paired:
        for a, b in itertools.combinations(sorted(tasks), 2):
            if tasks[a] == tasks[b]:
                for data, check in rows[tasks[a]].items():
                    print(json.dumps(paired(data, CHECKS[tasks[a]][1], len(check), a, scored[a, data], b,
                                            scored[b, data])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
