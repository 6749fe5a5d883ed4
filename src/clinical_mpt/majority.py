"""The majority baseline: answer every test example with the task's most frequent training answer.

For NLI that is the majority label, for MCQA the most frequent option letter, for QA, NER, RE and
summarization the most frequent training target (often " none" for extraction). The answer is the
target text the task type formats (`format_target`), parsed against each test example with the
type's own parser (so an NER mention gets its span in each text) and scored with the type's metric.
A method at or below this row has learned nothing the label distribution does not already give.

    from clinical_mpt.majority import majority_baseline
    majority_baseline(get_task_type("nli"), train_rows, test_rows)
    -> {"answer": "entailment", "metric": "macro_f1", "score": 0.167, "metrics": {...}, "n": 120}
"""

from __future__ import annotations

from collections import Counter


def majority_answer(task_type, train: list[dict]) -> str:
    """The most frequent `format_target` text among the training examples (ties: the first in sorted
    order, so the answer does not depend on the file's row order)."""
    if not train:
        raise ValueError(f"majority baseline of a {task_type.name} task: no training examples")
    counts = Counter(task_type.format_target(ex) for ex in train)
    return min(counts, key=lambda text: (-counts[text], text))


def majority_predictions(task_type, answer: str, test: list[dict]) -> list[dict]:
    """`answer` parsed as every test example's prediction (aligned with `test`)."""
    return [dict(task_type.parse(answer, ex), id=ex.get("id")) for ex in test]


def majority_baseline(task_type, train: list[dict], test: list[dict]) -> dict:
    """{"answer": the majority answer, "metric": the primary metric, "score", "metrics", "n"}."""
    answer = majority_answer(task_type, train)
    metrics = task_type.score(test, majority_predictions(task_type, answer, test))
    primary = task_type.primary_metric
    return {"answer": answer.strip(), "metric": primary, "score": metrics[primary], "metrics": metrics,
            "n": len(test)}
