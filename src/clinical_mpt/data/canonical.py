"""The canonical example format (one JSON object per line) and its validation.

Each task type (clinical_mpt.tasks) declares its input fields and checks its gold fields; this module
checks the common fields and calls them. Every example has `id` (string) and `type`; `task` is
optional. The fields of each type (e.g. ner: text, entities; mcqa: question, options, answer,
context?) are listed in docs/tasks.md ("Canonical gold fields") and defined in its TaskType.
"""

from __future__ import annotations

from clinical_mpt.errors import DataError
from clinical_mpt.tasks.base import InputField, need_str
from clinical_mpt.tasks.nli import NLI_LABELS
from clinical_mpt.tasks.registry import TASK_TYPES

__all__ = ["NLI_LABELS", "PREDICTION_FIELD", "TYPES", "validate_example", "validate_examples"]

# Derived from the task-type registry (clinical_mpt.tasks.registry), never kept by hand.
TYPES = tuple(TASK_TYPES)
PREDICTION_FIELD = {name: t.prediction_field for name, t in TASK_TYPES.items()}  # type -> a prediction's field


def _check_input(ex: dict, field: InputField, where: str) -> None:
    if field.kind != "options":
        need_str(ex, field.name, where)
        return
    options = ex.get(field.name)
    if not isinstance(options, dict) or len(options) < 2 or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in options.items()):
        raise DataError(f"{where}: field '{field.name}' must map at least two keys to option texts")


def validate_example(ex, where: str, type_: str | None = None) -> dict:
    """Check one canonical example; return it unchanged or raise DataError naming `where`.

    `type_`, if given, is the expected type (an example whose `type` differs is an error). The
    required input fields of the type are checked first, then its gold fields (`TaskType.validate`),
    then the optional input fields that are present.
    """
    if not isinstance(ex, dict):
        raise DataError(f"{where}: expected a JSON object")
    if not isinstance(ex.get("id"), str) or not ex["id"]:
        raise DataError(f"{where}: field 'id' must be a non-empty string")
    t = ex.get("type", type_)
    if not isinstance(t, str) or t not in TASK_TYPES:
        raise DataError(f"{where}: unknown type {t!r}; expected one of {', '.join(TASK_TYPES)}")
    if type_ is not None and t != type_:
        raise DataError(f"{where}: type {t!r} does not match the expected type {type_!r}")
    task_type = TASK_TYPES[t]
    for field in task_type.inputs:
        if not field.optional:
            _check_input(ex, field, where)
    task_type.validate(ex, where)
    for field in task_type.inputs:
        if field.optional and field.name in ex:
            _check_input(ex, field, where)
    return ex


def validate_examples(rows: list[dict], path: str, type_: str | None = None) -> list[dict]:
    """Validate every row of a file; ids must be unique. Errors name `path:row`."""
    seen: set[str] = set()
    for i, ex in enumerate(rows, start=1):
        validate_example(ex, f"{path}:{i}", type_)
        if ex["id"] in seen:
            raise DataError(f"{path}:{i}: duplicate id {ex['id']!r}")
        seen.add(ex["id"])
    return rows
