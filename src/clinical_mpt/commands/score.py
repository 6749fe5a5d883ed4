"""`clinical-mpt score`: score a prediction file against a gold file and print the metrics as JSON.

    clinical-mpt score --type ner --gold test.jsonl --pred predictions.jsonl
    {"precision": 0.8, "recall": 0.75, "f1": 0.774, "span_f1": 0.7, "n": 120}
"""

from __future__ import annotations

import argparse
import json

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.jsonl import read_jsonl
from clinical_mpt.errors import DataError
from clinical_mpt.tasks import TASK_TYPES, score_predictions, validate_prediction


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Score predictions against gold answers. Both files are JSONL, one example per line, matched "
        "by 'id'. A gold example with no prediction counts as answered with nothing; predictions "
        "for ids not in the gold file are ignored. Prints one JSON object: the metrics (fractions "
        "between 0 and 1) and n, the number of gold examples.")
    parser.add_argument("--type", dest="type_", choices=list(TASK_TYPES), default=None,
                        help="task type of the gold file; defaults to the 'type' field of its rows")
    parser.add_argument("--gold", required=True, metavar="GOLD.jsonl",
                        help="gold examples in the canonical JSONL format (fields per type: docs/tasks.md)")
    parser.add_argument("--pred", required=True, metavar="PRED.jsonl",
                        help="predictions: one {\"id\": ..., <field>: ...} per line, the field being "
                             + ", ".join(f"{t.name}: {t.prediction_field}" for t in TASK_TYPES.values()))


def _gold_type(rows: list[dict], path: str, type_: str | None) -> str:
    """`--type`, or the one type the gold rows declare."""
    if type_ is not None:
        return type_
    declared = {row.get("type") for row in rows}
    if len(declared) != 1 or None in declared:
        raise DataError(f"{path}: cannot tell the task type (rows declare {sorted(map(str, declared))}); "
                        "pass --type")
    return declared.pop()


def main(args: argparse.Namespace) -> int:
    gold_rows = read_jsonl(args.gold)
    type_ = _gold_type(gold_rows, args.gold, args.type_)
    gold_rows = validate_examples([{**row, "type": row.get("type", type_)} for row in gold_rows],
                                  args.gold, type_)
    pred_rows = read_jsonl(args.pred)
    seen: set[str] = set()
    for i, row in enumerate(pred_rows, start=1):
        validate_prediction(row, f"{args.pred}:{i}", type_)
        if row["id"] in seen:
            raise DataError(f"{args.pred}:{i}: duplicate id {row['id']!r}")
        seen.add(row["id"])
    print(json.dumps(score_predictions(type_, gold_rows, pred_rows)))
    return 0
