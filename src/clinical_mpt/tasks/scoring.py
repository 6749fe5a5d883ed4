"""Scoring prediction rows against gold rows matched by `id`, and checking prediction rows.

A prediction row is `{"id": str, <field>: value}` where the field is the task type's
`prediction_field`:
- ner:  "entities":  [{"type": str, "text": str, "start"?: int, "end"?: int}, ...]
- re:   "relations": [{"type": str, "head": {"text": str, ...}, "tail": {"text": str, ...}}, ...]
- qa, mcqa: "answer": str;  nli: "label": str;  summarization: "summary": str
"""

from __future__ import annotations

from clinical_mpt.errors import DataError
from clinical_mpt.tasks.registry import get_task_type


def empty_prediction(type_name: str, id_: str) -> dict:
    """The prediction that stands in for a missing one: no entities / relations, or ""."""
    task_type = get_task_type(type_name)
    return {"id": id_, task_type.prediction_field: task_type.empty_prediction()}


def validate_prediction(row, where: str, type_name: str) -> dict:
    """Check one prediction row; return it unchanged or raise DataError naming `where`."""
    task_type = get_task_type(type_name)
    field = task_type.prediction_field
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object")
    if not isinstance(row.get("id"), str) or not row["id"]:
        raise DataError(f"{where}: field 'id' must be a non-empty string")
    if field not in row:
        raise DataError(f"{where}: missing the prediction field '{field}' (type {type_name})")
    value = row[field]
    if task_type.prediction_item is not None:
        if not isinstance(value, list):
            raise DataError(f"{where}: field '{field}' must be a list, got {type(value).__name__}")
        for item in value:
            task_type.prediction_item(item, where)
    elif not isinstance(value, str):
        raise DataError(f"{where}: field '{field}' must be a string, got {type(value).__name__}")
    return row


def _index_by_id(rows: list[dict], what: str) -> dict[str, dict]:
    index: dict[str, dict] = {}
    for i, row in enumerate(rows, start=1):
        id_ = row.get("id") if isinstance(row, dict) else None
        if not isinstance(id_, str):
            raise DataError(f"{what} row {i}: field 'id' must be a string")
        if id_ in index:
            raise DataError(f"{what} row {i}: duplicate id {id_!r}")
        index[id_] = row
    return index


def align_predictions(type_name: str, gold_rows: list[dict], pred_rows: list[dict]) -> list[dict]:
    """Predictions in gold order, matched by id. A gold id with no prediction gets
    `empty_prediction`; prediction ids not in gold are ignored; duplicate ids are a DataError."""
    gold_ids = list(_index_by_id(gold_rows, "gold"))
    preds = _index_by_id(pred_rows, "prediction")
    return [preds[id_] if id_ in preds else empty_prediction(type_name, id_) for id_ in gold_ids]


def score_predictions(type_name: str, gold_rows: list[dict], pred_rows: list[dict]) -> dict:
    """Metrics of `pred_rows` against `gold_rows` (canonical examples of `type_name`), aligned by id:
    `{<metric>: fraction in [0, 1], ..., "n": number of gold examples}`."""
    task_type = get_task_type(type_name)
    return task_type.score(gold_rows, align_predictions(type_name, gold_rows, pred_rows))
