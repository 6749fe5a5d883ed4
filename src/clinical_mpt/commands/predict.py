"""`clinical-mpt predict`: run a library task on a text or a JSONL file of canonical-format inputs.

    clinical-mpt predict --task med_ner "Pt started on metformin 500 mg PO daily."
    clinical-mpt predict --library DIR --task mednli --input pairs.jsonl --out predictions.jsonl

Output: one JSON object per input, {"id", "task", "type", <prediction field>, "generation"}, to --out
or to stdout. The backbone defaults to the one the library was trained on.
"""

from __future__ import annotations

import json
import sys

from clinical_mpt.serve.inputs import check_input, input_fields, takes_one_text
from clinical_mpt.tasks.registry import TASK_TYPES


def configure(parser) -> None:
    one_text = ", ".join(name for name in TASK_TYPES if takes_one_text(name))
    parser.add_argument("text", nargs="?", metavar="TEXT", help=f"input text (for {one_text} tasks)")
    parser.add_argument("--task", required=True, help="task name in the library (see `clinical-mpt library list`)")
    parser.add_argument("--input", metavar="FILE.jsonl", help="one canonical-format input per line")
    parser.add_argument("--out", metavar="FILE.jsonl", help="write predictions here (default: stdout)")
    parser.add_argument("--library", metavar="DIR",
                        help="prompt library (default: $CLINICAL_MPT_LIBRARY, else the shipped libraries/default)")
    parser.add_argument("--backbone", help="backbone to load (default: the library's)")
    parser.add_argument("--dtype", default="auto", help="auto | bfloat16 | float32 | float16")
    parser.add_argument("--batch-size", type=int, default=16, help="rows per forward pass")
    parser.add_argument("--max-input-tokens", type=int, default=320, help="longer inputs are truncated")
    parser.add_argument("--max-new-tokens", type=int, help="cap on generated tokens (default: the task type's)")
    parser.add_argument("--classification", choices=("rank", "generate"), default="rank", help="nli / mcqa: rank the labels / options by log-likelihood, as evaluation scores them (default), or generate the answer")
    parser.add_argument("--no-prompt-cache", action="store_true",
                        help="re-encode the prompt with every batch instead of reusing its K/V states")
    parser.add_argument("--decode", default="eager", choices=["eager", "static", "compiled"],
                        help="eager batches (default), or a static KV cache with continuous batching, its "
                             "step eager (static) or torch.compile'd (compiled); the same predictions")


def read_inputs(args, type_: str) -> list[dict]:
    """Canonical-format rows from --input, or the positional TEXT as {"id": "1", "text": TEXT}."""
    from clinical_mpt.data.jsonl import read_jsonl
    from clinical_mpt.errors import ConfigError, DataError

    if (args.text is None) == (args.input is None):
        raise ConfigError("give either a TEXT argument or --input FILE.jsonl (not both)")
    if args.text is not None:
        if not takes_one_text(type_):
            raise ConfigError(f"task {args.task} is a {type_} task: its inputs need "
                              f"{', '.join(input_fields(type_))}; put them in a JSONL file and use --input")
        return [{"id": "1", "text": args.text}]
    rows = read_jsonl(args.input)
    for i, row in enumerate(rows, start=1):
        if row.get("type", type_) != type_:
            raise DataError(f"{args.input}:{i}: type {row['type']!r} does not match task {args.task} ({type_})")
        if "id" in row and not isinstance(row["id"], str):
            raise DataError(f"{args.input}:{i}: 'id' must be a string")
        row.setdefault("id", str(i))
    return rows


def main(args) -> int:
    from clinical_mpt.data.jsonl import write_jsonl
    from clinical_mpt.library import Library, resolve_library
    from clinical_mpt.serve.engine import Engine, EngineConfig, Request

    library = resolve_library(args.library)
    type_ = Library.open(library).entry_config(args.task)["type"]    # check the inputs before loading the model
    rows = read_inputs(args, type_)
    for i, row in enumerate(rows, start=1):
        check_input(type_, row, f"{args.input or 'TEXT'}:{i}")
    config = EngineConfig(max_batch_size=args.batch_size, max_input_tokens=args.max_input_tokens,
                          max_new_tokens=args.max_new_tokens, prompt_cache=not args.no_prompt_cache,
                          classification=args.classification, decode=args.decode)
    engine = Engine.from_library(library, backbone_name=args.backbone, dtype=args.dtype, config=config,
                                 tasks=[args.task])
    results = engine.predict([Request(args.task, row, row["id"]) for row in rows], progress=True)
    if args.out:
        write_jsonl(args.out, results)
        print(f"wrote {len(results)} predictions to {args.out}", file=sys.stderr)
    else:
        for r in results:
            print(json.dumps(r, ensure_ascii=False))
    return 0
