"""Extractive question answering as text-to-text, scored with the official SQuAD v1.1 metrics.

Input:   "<instruction>\\nContext: <context>\\nQuestion: <question>\\nAnswer:"
Target:  " <first gold answer>"   (whitespace collapsed to one line)
Parse:   the first line of the generation, stripped.
Score:   `exact_match` and token `f1` (SQuAD v1.1: normalise, max over gold answers, mean over
         examples), as fractions.
"""

from __future__ import annotations

from collections import Counter

from clinical_mpt.errors import DataError
from clinical_mpt.tasks.base import InputField, TaskType, build_input, check_aligned
from clinical_mpt.tasks.normalize import clean_generation, ended_line, one_line, squad_normalize

DEFAULT_INSTRUCTION = "Answer the question with a short span copied from the context."


def format_input(ex: dict, instruction: str | None = None) -> str:
    return build_input(instruction or DEFAULT_INSTRUCTION,
                       [f"Context: {ex['context']}", f"Question: {ex['question']}"])


def validate(ex: dict, where: str) -> None:
    """Gold: `answers`, a non-empty list of strings."""
    answers = ex.get("answers")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
        raise DataError(f"{where}: field 'answers' must be a non-empty list of strings")


def format_target(ex: dict) -> str:
    return " " + one_line(ex["answers"][0])


def parse(generated: str, ex: dict) -> dict:
    """-> {"id": ex["id"], "answer": str}; never raises."""
    return {"id": ex.get("id"), "answer": clean_generation(generated)}


# --- official SQuAD v1.1 evaluation logic (evaluate-v1.1.py), returning fractions ---

def f1_score(prediction: str, ground_truth: str) -> float:
    prediction_tokens = squad_normalize(prediction).split()
    ground_truth_tokens = squad_normalize(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str) -> float:
    return float(squad_normalize(prediction) == squad_normalize(ground_truth))


def metric_max_over_ground_truths(metric_fn, prediction: str, ground_truths: list[str]) -> float:
    return max(metric_fn(prediction, gt) for gt in ground_truths)


def score(gold: list[dict], preds: list[dict]) -> dict:
    """Gold canonical QA examples and aligned predictions ({"answer": str}) ->
    {"exact_match", "f1", "n"}; a missing or non-string answer counts as ""."""
    check_aligned(gold, preds)
    em = f1 = 0.0
    for g, p in zip(gold, preds):
        answer = p.get("answer") if isinstance(p, dict) else None
        answer = answer if isinstance(answer, str) else ""
        em += metric_max_over_ground_truths(exact_match_score, answer, g["answers"])
        f1 += metric_max_over_ground_truths(f1_score, answer, g["answers"])
    n = len(gold)
    return {"exact_match": em / n if n else 0.0, "f1": f1 / n if n else 0.0, "n": n}


QA = TaskType(
    name="qa",
    label="Question answering",
    primary_metric="f1",
    max_new_tokens=24,
    default_instruction=DEFAULT_INSTRUCTION,
    inputs=(InputField("context", "Context"), InputField("question", "Question", "line")),
    prediction_field="answer",
    validate=validate,
    format_input=format_input,
    format_target=format_target,
    parse=parse,
    score=score,
    answer_complete=ended_line,
    metric_is_mean=True,
)
