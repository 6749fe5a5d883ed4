"""Summarization as text-to-text, scored with ROUGE from the `rouge-score` package.

Input:   "<instruction>\\nText: <text>\\nAnswer:"
Target:  " <summary>"   (whitespace collapsed to one line)
Parse:   the first line of the generation, stripped.
Score:   `rouge1`, `rouge2`, `rougeL`: mean F-measure of
         `rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
          .score(target=gold_summary, prediction=predicted_summary)`.
"""

from __future__ import annotations

from functools import lru_cache

from clinical_mpt.tasks.base import InputField, TaskType, build_input, check_aligned, need_str
from clinical_mpt.tasks.normalize import clean_generation, ended_line, one_line

DEFAULT_INSTRUCTION = "Summarize the clinical text in one or two sentences."
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def format_input(ex: dict, instruction: str | None = None) -> str:
    return build_input(instruction or DEFAULT_INSTRUCTION, [f"Text: {ex['text']}"])


def validate(ex: dict, where: str) -> None:
    """Gold: `summary`, a string."""
    need_str(ex, "summary", where)


def format_target(ex: dict) -> str:
    return " " + one_line(ex["summary"])


def parse(generated: str, ex: dict) -> dict:
    """-> {"id": ex["id"], "summary": str}; never raises."""
    return {"id": ex.get("id"), "summary": clean_generation(generated)}


@lru_cache(maxsize=1)
def _scorer():
    from rouge_score import rouge_scorer  # imported lazily: it pulls in nltk

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def score(gold: list[dict], preds: list[dict]) -> dict:
    """Gold canonical summarization examples and aligned predictions ({"summary": str}) ->
    {"rouge1", "rouge2", "rougeL", "n"}; a missing summary counts as ""."""
    check_aligned(gold, preds)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for g, p in zip(gold, preds):
        summary = p.get("summary") if isinstance(p, dict) else None
        scores = _scorer().score(target=g["summary"], prediction=summary if isinstance(summary, str) else "")
        for name in ROUGE_TYPES:
            totals[name] += scores[name].fmeasure
    n = len(gold)
    out = {name: total / n if n else 0.0 for name, total in totals.items()}
    out["n"] = n
    return out


SUMMARIZATION = TaskType(
    name="summarization",
    label="Summarization",
    primary_metric="rougeL",
    max_new_tokens=112,
    default_instruction=DEFAULT_INSTRUCTION,
    inputs=(InputField("text", "Clinical text"),),
    prediction_field="summary",
    validate=validate,
    format_input=format_input,
    format_target=format_target,
    parse=parse,
    score=score,
    answer_complete=ended_line,
    metric_is_mean=True,
)
