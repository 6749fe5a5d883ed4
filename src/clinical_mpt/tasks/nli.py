"""Natural language inference as text-to-text.

Input:   "<instruction>\\nPremise: <premise>\\nHypothesis: <hypothesis>\\nAnswer:"
Target:  " entailment" | " neutral" | " contradiction"
Parse:   the label the first word of the first line starts with ("Entailment.", "contradicts",
         "NEUTRAL"); failing that, the one label stem ("entail", "neutral", "contradict") that occurs
         in the line; failing that, "" (no label).
Score:   `accuracy`, and `macro_f1`: the mean per-label F1 over the labels that occur in gold or in
         the predictions. A missing prediction ("" / absent) is wrong and adds no label.
"""

from __future__ import annotations

import re

from clinical_mpt.errors import DataError
from clinical_mpt.tasks.base import InputField, TaskType, build_input, check_aligned
from clinical_mpt.tasks.normalize import clean_generation, ended_line

DEFAULT_INSTRUCTION = ("Does the premise entail, contradict, or neither the hypothesis? "
                       "Answer entailment, neutral or contradiction.")
NLI_LABELS = ("entailment", "neutral", "contradiction")
# label stem -> label; covers NLI_LABELS
_STEMS = {"entail": "entailment", "neutral": "neutral", "contradict": "contradiction"}


def format_input(ex: dict, instruction: str | None = None) -> str:
    return build_input(instruction or DEFAULT_INSTRUCTION,
                       [f"Premise: {ex['premise']}", f"Hypothesis: {ex['hypothesis']}"])


def validate(ex: dict, where: str) -> None:
    """Gold: `label`, one of NLI_LABELS."""
    if ex.get("label") not in NLI_LABELS:
        raise DataError(f"{where}: unknown NLI label {ex.get('label')!r}; expected one of {', '.join(NLI_LABELS)}")


def format_target(ex: dict) -> str:
    return " " + ex["label"]


def parse(generated: str, ex: dict) -> dict:
    """-> {"id": ex["id"], "label": one of NLI_LABELS or ""}; never raises."""
    line = clean_generation(generated).lower()
    words = re.findall(r"[a-z]+", line)
    for stem, label in _STEMS.items():
        if words and words[0].startswith(stem):
            return {"id": ex.get("id"), "label": label}
    found = {label for stem, label in _STEMS.items() if stem in line}
    return {"id": ex.get("id"), "label": found.pop() if len(found) == 1 else ""}


def answer_complete(text: str) -> bool:
    """Stop decoding: the answer line ended, or its first word is finished (a non-letter follows it) and
    starts with a label stem, so `parse` can no longer change its answer.

    >>> answer_complete(" neutral."), answer_complete(" neutr"), answer_complete(" The answer")
    (True, False, False)
    """
    m = re.match(r"\s*([A-Za-z]+)[^A-Za-z]", text) if isinstance(text, str) else None
    return ended_line(text) or bool(m and m.group(1).lower().startswith(tuple(_STEMS)))


def _label(row) -> str:
    value = row.get("label") if isinstance(row, dict) else None
    return value.strip().lower() if isinstance(value, str) else ""


def macro_f1(gold_labels: list[str], pred_labels: list[str]) -> float:
    """Mean over labels in gold or predictions ("" is no label) of that label's F1
    (P = tp / predicted-as-label, R = tp / gold-label, F1 = 2PR / (P + R), 0 where undefined)."""
    labels = {g for g in gold_labels if g} | {p for p in pred_labels if p}
    if not labels:
        return 0.0
    total = 0.0
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold_labels, pred_labels))
        n_pred = sum(p == label for p in pred_labels)
        n_gold = sum(g == label for g in gold_labels)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        total += 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return total / len(labels)


def score(gold: list[dict], preds: list[dict]) -> dict:
    """Gold canonical NLI examples and aligned predictions ({"label": str}) ->
    {"accuracy", "macro_f1", "n"}; predicted labels are compared after strip + lowercase."""
    check_aligned(gold, preds)
    gold_labels = [_label(g) for g in gold]
    pred_labels = [_label(p) for p in preds]
    n = len(gold)
    correct = sum(bool(p) and p == g for g, p in zip(gold_labels, pred_labels))
    return {"accuracy": correct / n if n else 0.0, "macro_f1": macro_f1(gold_labels, pred_labels), "n": n}


NLI = TaskType(
    name="nli",
    label="Inference (NLI)",
    primary_metric="macro_f1",
    max_new_tokens=4,
    default_instruction=DEFAULT_INSTRUCTION,
    inputs=(InputField("premise", "Premise"), InputField("hypothesis", "Hypothesis", "line")),
    prediction_field="label",
    validate=validate,
    format_input=format_input,
    format_target=format_target,
    parse=parse,
    score=score,
    answer_complete=answer_complete,
)
