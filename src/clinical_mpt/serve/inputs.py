"""What a prediction request must give for each task type: the input fields of the canonical format.

    ner, re, summarization   text
    nli                      premise, hypothesis
    qa                       context, question
    mcqa                     question, options {key: text} (at least two) [, context]

Gold fields (entities, label, answers, ...) are ignored if present.
"""

from __future__ import annotations

from clinical_mpt.errors import DataError

REQUIRED = {
    "ner": ("text",),
    "re": ("text",),
    "summarization": ("text",),
    "nli": ("premise", "hypothesis"),
    "qa": ("context", "question"),
    "mcqa": ("question", "options"),
}
OPTIONAL = {"mcqa": ("context",)}
TEXT_TYPES = ("ner", "re", "summarization")  # types whose whole input is one `text`


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


def input_fields(type_: str) -> list[str]:
    return list(REQUIRED[type_]) + [f"{f}?" for f in OPTIONAL.get(type_, ())]


def check_input(type_: str, inp, where: str = "input") -> dict:
    """-> the input's fields for `type_` (a new dict); InputError naming what is missing or wrong."""
    if not isinstance(inp, dict):
        raise InputError(f"{where}: expected a JSON object with {', '.join(input_fields(type_))}")
    out = {}
    for key in REQUIRED[type_] + OPTIONAL.get(type_, ()):
        value = inp.get(key)
        if value is None and key in OPTIONAL.get(type_, ()):
            continue
        if key == "options":
            if not isinstance(value, dict) or len(value) < 2 or not all(
                    is_text(k) and is_text(v) for k, v in value.items()):
                raise InputError(f"{where}: 'options' must map at least two keys to option texts, "
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
