"""What a prediction request must give for each task type: the input fields its TaskType declares.

    ner, re, summarization   text
    nli                      premise, hypothesis
    qa                       context, question
    mcqa                     question, options {key: text} (at least two) [, context]

(the built-in types; `TaskType.inputs` is the definition). Gold fields (entities, label, answers, ...)
are ignored if present.
"""

from __future__ import annotations

from clinical_mpt.errors import DataError
from clinical_mpt.tasks.base import InputField
from clinical_mpt.tasks.registry import TASK_TYPES, get_task_type

# The order in which the web console groups task types: a display preference, not a list of types
# (a registered type missing here follows, in registry order).
CONSOLE_ORDER = ("ner", "re", "nli", "qa", "mcqa", "summarization")

class InputError(DataError):
    """A request's input does not have the fields its task type needs."""


def is_text(value) -> bool:
    """A string that can be tokenized: no lone UTF-16 surrogate in it (JSON allows "\\ud800")."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fields(type_: str) -> list[InputField]:
    """The type's input fields, required ones first (each group in declaration order)."""
    inputs = get_task_type(type_).inputs
    return [f for f in inputs if not f.optional] + [f for f in inputs if f.optional]


def input_fields(type_: str) -> list[str]:
    """Field names, optional ones marked with '?': e.g. ["question", "options", "context?"]."""
    return [f"{f.name}?" if f.optional else f.name for f in _fields(type_)]


def takes_one_text(type_: str) -> bool:
    """The type's whole input is one `text` (ner, re, summarization): a bare string can be its input."""
    return [(f.name, f.optional) for f in get_task_type(type_).inputs] == [("text", False)]


def type_forms() -> dict[str, dict]:
    """{type: {"label", "fields": [{"name", "label", "kind", "optional"}]}} for every registered type,
    in CONSOLE_ORDER: what the web console builds its input forms from (GET /v1/tasks)."""
    names = [n for n in CONSOLE_ORDER if n in TASK_TYPES] + [n for n in TASK_TYPES if n not in CONSOLE_ORDER]
    return {name: {"label": TASK_TYPES[name].label,
                   "fields": [{"name": f.name, "label": f.label, "kind": f.kind, "optional": f.optional}
                              for f in TASK_TYPES[name].inputs]}
            for name in names}


def check_input(type_: str, inp, where: str = "input") -> dict:
    """-> the input's fields for `type_` (a new dict); InputError naming what is missing or wrong."""
    if not isinstance(inp, dict):
        raise InputError(f"{where}: expected a JSON object with {', '.join(input_fields(type_))}")
    out = {}
    for field in _fields(type_):
        key, value = field.name, inp.get(field.name)
        if value is None and field.optional:
            continue
        if field.kind == "options":
            if not isinstance(value, dict) or len(value) < 2 or not all(
                    is_text(k) and is_text(v) for k, v in value.items()):
                raise InputError(f"{where}: '{key}' must map at least two keys to option texts, "
                                 'e.g. {"A": "aspirin", "B": "heparin"}')
        elif not isinstance(value, str) or not value.strip():
            raise InputError(f"{where}: a {type_} task needs a non-empty string '{key}' "
                             f"(fields: {', '.join(input_fields(type_))})")
        elif not is_text(value):
            raise InputError(f"{where}: '{key}' contains a lone surrogate (a \\ud800-\\udfff escape); "
                             "send valid Unicode text")
        out[key] = value
    return out


def input_chars(inp: dict) -> int:
    """Size of an input in characters (all string fields, option texts included)."""
    total = 0
    for value in inp.values():
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict):
            total += sum(len(k) + len(v) for k, v in value.items() if isinstance(v, str))
    return total
