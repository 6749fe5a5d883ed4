"""Multiple-choice question answering as text-to-text.

Input:   "<instruction>\\n[Context: <context>\\n]Question: <question>\\nA. <option>\\nB. <option>\\nAnswer:"
         (options in the order of the example's `options` object, written as `<key>. <text>`)
Target:  " B"   (the gold option key)
Parse:   the option key the first line starts with, case-insensitively, tolerating "(B)", "B.",
         "B)", "B: text", "Answer: B", "The answer is B"; failing that, the key whose option text the
         line equals (after normalisation); failing that, "" (no answer).
Score:   `accuracy`: predicted key == gold key after strip + uppercase.
"""

from __future__ import annotations

import re

from clinical_mpt.errors import DataError
from clinical_mpt.tasks.base import InputField, TaskType, build_input, check_aligned
from clinical_mpt.tasks.normalize import clean_generation, ended_line, normalize_mention, one_line

DEFAULT_INSTRUCTION = "Choose the correct option. Answer with its letter."

_PREFIX = re.compile(r"^\W*(?:the\s+)?(?:correct\s+|best\s+)?(?:answer|option|choice)(?:\s+is)?\b\W*", re.IGNORECASE)
_LEADING_KEY = re.compile(r"^[\s(\[{'\"*]*([^\s()\[\]{}.:,;'\"*]+)")


def format_input(ex: dict, instruction: str | None = None) -> str:
    lines = [f"Context: {ex['context']}"] if ex.get("context") else []
    lines.append(f"Question: {ex['question']}")
    lines += [f"{key}. {one_line(text)}" for key, text in ex["options"].items()]
    return build_input(instruction or DEFAULT_INSTRUCTION, lines)


def validate(ex: dict, where: str) -> None:
    """Gold: `answer`, one of the option keys."""
    if ex.get("answer") not in ex["options"]:
        raise DataError(f"{where}: answer {ex.get('answer')!r} is not one of the option keys {sorted(ex['options'])}")


def format_target(ex: dict) -> str:
    return " " + ex["answer"]


def _norm_key(key) -> str:
    return key.strip().upper() if isinstance(key, str) else ""


def parse(generated: str, ex: dict) -> dict:
    """-> {"id": ex["id"], "answer": option key or ""}; never raises."""
    options = ex.get("options") if isinstance(ex.get("options"), dict) else {}
    by_key = {_norm_key(k): k for k in options}
    body = clean_generation(generated)
    for candidate in (body, _PREFIX.sub("", body, count=1)):
        m = _LEADING_KEY.match(candidate)
        if m and _norm_key(m.group(1)) in by_key:
            return {"id": ex.get("id"), "answer": by_key[_norm_key(m.group(1))]}
    said = normalize_mention(body)
    for key, text in options.items():
        if said and isinstance(text, str) and normalize_mention(text) == said:
            return {"id": ex.get("id"), "answer": key}
    return {"id": ex.get("id"), "answer": ""}


def answer_complete(text: str) -> bool:
    """Stop decoding: the answer line ended, or it starts with a lone option letter that a separator
    closes (" B", " (B)", " B." followed by anything), which is all `parse` reads.

    >>> answer_complete(" B\n"), answer_complete(" (C) heparin"), answer_complete(" B"), answer_complete(" Bo")
    (True, True, False, False)
    """
    closed = isinstance(text, str) and re.match(r"\s*[(\[]?[A-Za-z][)\].:,;]?[\s.:,;)\]]", text)
    return ended_line(text) or bool(closed)


def score(gold: list[dict], preds: list[dict]) -> dict:
    """Gold canonical MCQA examples and aligned predictions ({"answer": key}) -> {"accuracy", "n"};
    a missing answer is wrong."""
    check_aligned(gold, preds)
    correct = 0
    for g, p in zip(gold, preds):
        answer = _norm_key(p.get("answer") if isinstance(p, dict) else None)
        correct += bool(answer) and answer == _norm_key(g["answer"])
    n = len(gold)
    return {"accuracy": correct / n if n else 0.0, "n": n}


MCQA = TaskType(
    name="mcqa",
    label="Multiple choice",
    primary_metric="accuracy",
    max_new_tokens=4,
    default_instruction=DEFAULT_INSTRUCTION,
    inputs=(InputField("context", "Context", optional=True), InputField("question", "Question", "line"),
            InputField("options", "Options", "options")),
    prediction_field="answer",
    validate=validate,
    format_input=format_input,
    format_target=format_target,
    parse=parse,
    score=score,
    answer_complete=answer_complete,
    metric_is_mean=True,
)
