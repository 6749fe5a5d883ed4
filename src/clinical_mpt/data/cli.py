"""`clinical-mpt data`: convert a clinical corpus to canonical JSONL, or write the synthetic suite.

    clinical-mpt data convert --format brat n2c2_2018/train --out data/n2c2-ner.jsonl --task n2c2-ner
    clinical-mpt data convert --format brat n2c2_2018/train --type re --chunk sentences --max-chars 800 \\
        --out data/n2c2-re.jsonl
    clinical-mpt data convert --format mednli mli_train_v1.jsonl --out data/mednli.jsonl
    clinical-mpt data synth --out data/synth --seed 0

A conversion either writes the whole output file or nothing: every example is validated before
the file is (atomically) written. See docs/data-formats.md for each format.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.jsonl import write_jsonl
from clinical_mpt.data.loaders import LOADERS
from clinical_mpt.errors import ConfigError, DataError

FORMAT_HELP = {
    "brat": "folder of NAME.txt + NAME.ann (n2c2 2018 / 2022 style); --type ner|re, --chunk",
    "i2b2-2010": "folder with txt/, concept/ and optional rel/ (i2b2/VA 2010); --type ner|re, --chunk",
    "mednli": "MedNLI / SNLI JSONL (pairID, sentence1, sentence2, gold_label); --skip-unlabeled",
    "squad": "SQuAD-form JSON (e.g. converted emrQA); unanswerable questions are skipped",
    "mcqa-jsonl": "multiple-choice JSONL or JSON array (Medbullets, MedQA, MedMCQA, ...); --*-field, --answer-base, "
                  "--answer-as",
    "headqa": "HEAD-QA's own JSON (exams -> data -> qid, qtext, ra, answers [{aid, atext}])",
    "summarization-jsonl": "JSONL or JSON array with text and summary; --text-field, --summary-field, --id-field, "
                           "--skip-empty",
    "csv": "CSV with a header row, text and summary columns; --text-field, --summary-field, --id-field, --skip-empty",
}

# (flag, loader keyword, argparse settings); every default is None = "not given"
FORMAT_OPTIONS = [
    ("--type", "type_", dict(choices=("ner", "re"), help="ner: entities; re: relations (+ entities). Default ner")),
    ("--chunk", "chunk", dict(choices=("sentences", "chars"),
                              help="split each document into sentence groups or character windows")),
    ("--max-chars", "max_chars", dict(type=int, metavar="N", help="most characters per chunk (chunks never cut "
                                      "an entity, so a chunk may be longer)")),
    ("--skip-unlabeled", "skip_unlabeled", dict(action="store_true", default=None,
                                                help="drop pairs labelled '-' or '' instead of failing")),
    ("--question-field", "question_field", dict(metavar="NAME", help="default: question; a dotted name "
                                                "(question.stem) reaches into nested objects, for every --*-field")),
    ("--options-field", "options_field", dict(metavar="NAME", help="default: options; 'opa,opb,...' = one column per option")),
    ("--answer-field", "answer_field", dict(metavar="NAME", help="default: answer")),
    ("--answer-base", "answer_base", dict(type=int, choices=(0, 1), help="index answers count from 0 (default) or 1")),
    ("--answer-as", "answer_as", dict(choices=("auto", "key", "index", "text"),
                                      help="read the answer as an option key, an index or an option text only; "
                                           "default auto tries all and refuses a row where they disagree")),
    ("--context-field", "context_field", dict(metavar="NAME", help="default: context (optional column)")),
    ("--text-field", "text_field", dict(metavar="NAME", help="default: text")),
    ("--summary-field", "summary_field", dict(metavar="NAME", help="default: summary")),
    ("--id-field", "id_field", dict(metavar="NAME", help="default: id; missing ids become FILESTEM-ROW")),
    ("--skip-empty", "skip_empty", dict(action="store_true", default=None,
                                        help="drop rows whose text or summary is empty (the count goes to stderr)")),
]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    formats = "\n".join(f"  {name:20s} {text}" for name, text in FORMAT_HELP.items())
    convert = sub.add_parser(
        "convert", help="convert a corpus in a known format to canonical JSONL",
        description="Convert a clinical corpus to canonical JSONL (one example per line).",
        epilog=f"formats:\n{formats}", formatter_class=argparse.RawDescriptionHelpFormatter)
    convert.add_argument("input", type=Path, help="the corpus file or folder")
    convert.add_argument("--format", required=True, choices=sorted(LOADERS), metavar="FORMAT",
                         help="the input format: " + ", ".join(LOADERS) + " (see below)")
    convert.add_argument("--out", required=True, type=Path, help="the JSONL file to write")
    convert.add_argument("--task", help="task name written into every example (e.g. n2c2-2018-ner)")
    group = convert.add_argument_group("format options (each applies only to some formats)")
    for flag, dest, settings in FORMAT_OPTIONS:
        group.add_argument(flag, dest=dest, **settings)
    convert.set_defaults(_run=run_convert)

    synth = sub.add_parser("synth", help="write the synthetic clinical task suite (source and target tasks)",
                           description="Generate the synthetic clinical task suite: canonical JSONL files for "
                                       "every source and target task, plus a manifest.")
    synth.add_argument("--out", required=True, type=Path, help="folder to write the suite into")
    synth.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    synth.add_argument("--extra", action="append", default=[], metavar="TASK",
                       help="also write this extra task, outside the study's 31 (repeatable; e.g. note_nli: NLI over "
                            "whole-note snippets, which trains the library's general NLI prompt)")
    synth.set_defaults(_run=run_synth)
    for p in (convert, synth):
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors")


def loader_options(args: argparse.Namespace) -> dict:
    """The format options given on the command line, as keyword arguments for the loader.

    An option the chosen format does not take is a ConfigError (rather than silently ignored)."""
    accepted = inspect.signature(LOADERS[args.format]).parameters
    options = {}
    for flag, dest, _ in FORMAT_OPTIONS:
        value = getattr(args, dest, None)
        if value is None:
            continue
        if dest not in accepted:
            raise ConfigError(f"{flag} does not apply to --format {args.format}")
        options[dest] = value
    return options


def run_convert(args: argparse.Namespace) -> int:
    options = loader_options(args)
    if args.out.is_dir():
        raise ConfigError(f"--out {args.out} is a folder; give a .jsonl file path")
    if args.task is not None and not args.task.strip():
        raise ConfigError("--task must not be empty")
    rows = LOADERS[args.format](args.input, **options)
    if args.task is not None:
        rows = [{"id": r["id"], "type": r["type"], "task": args.task,
                 **{k: v for k, v in r.items() if k != "task"}} for r in rows]
    if not rows:
        raise DataError(f"{args.input}: no examples to write")
    validate_examples(rows, f"{args.input} (converted example)")
    try:
        write_jsonl(args.out, rows)
    except OSError as e:
        raise DataError(f"{args.out}: cannot write ({e.strerror})") from None
    types = ", ".join(sorted({r["type"] for r in rows}))
    print(f"wrote {len(rows)} {types} examples to {args.out}", file=sys.stderr)
    return 0


def run_synth(args: argparse.Namespace) -> int:
    from clinical_mpt.data.synth import generate_suite

    summary = generate_suite(args.out, seed=args.seed, extra=tuple(args.extra))
    print(f"wrote the synthetic suite to {args.out}: {describe_suite(summary)}", file=sys.stderr)
    return 0


def describe_suite(summary: dict) -> str:
    """One line from `generate_suite`'s summary: a manifest with `tasks: [{role, sizes: {split: n}}]`,
    or plain counts (`source_tasks`, `target_tasks`, `examples`)."""
    if not isinstance(summary, dict):
        return "done"
    tasks = summary.get("tasks")
    if isinstance(tasks, list) and all(isinstance(t, dict) for t in tasks):
        roles = [t.get("role") for t in tasks]
        n_examples = sum(n for t in tasks for n in (t.get("sizes") or {}).values() if isinstance(n, int))
        return (f"{roles.count('source')} source tasks, {roles.count('target')} target tasks, "
                f"{n_examples} examples")
    parts = []
    for key in ("source_tasks", "target_tasks", "examples"):
        value = summary.get(key)
        count = len(value) if isinstance(value, (list, dict)) else value
        if isinstance(count, int):
            parts.append(f"{count} {key.replace('_', ' ')}")
    return ", ".join(parts) or "done"


def main(args: argparse.Namespace) -> int:
    return args._run(args)
