"""The majority baseline on hand-made train/test splits, scored with each task's metric."""

from __future__ import annotations

import pytest

from clinical_mpt.majority import majority_answer, majority_baseline
from clinical_mpt.tasks import get_task_type


def nli(label, i=0):
    return {"id": f"n{i}", "premise": "p", "hypothesis": "h", "label": label}


def mcqa(answer, i=0):
    return {"id": f"m{i}", "question": "q", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}, "answer": answer}


def test_nli_majority_label_and_macro_f1():
    train = [nli(x, i) for i, x in enumerate(["neutral", "neutral", "entailment", "contradiction"])]
    test = [nli(x, i) for i, x in enumerate(["neutral", "entailment", "contradiction", "neutral"])]
    out = majority_baseline(get_task_type("nli"), train, test)
    assert out["answer"] == "neutral"
    assert out["metrics"]["accuracy"] == 0.5
    # only "neutral" is predicted: its F1 = 2 * (2/4) * 1 / 1.5 = 2/3; entailment and contradiction 0
    assert out["metric"] == "macro_f1" and out["score"] == pytest.approx((2 / 3) / 3)
    assert out["n"] == 4


def test_mcqa_most_frequent_letter():
    train = [mcqa(x, i) for i, x in enumerate("BBCAB")]
    test = [mcqa(x, i) for i, x in enumerate("ABBD")]
    out = majority_baseline(get_task_type("mcqa"), train, test)
    assert out["answer"] == "B" and out["score"] == 0.5


def test_ties_do_not_depend_on_row_order():
    tt = get_task_type("mcqa")
    assert majority_answer(tt, [mcqa("C"), mcqa("A")]) == majority_answer(tt, [mcqa("A"), mcqa("C")]) == " A"


def test_qa_most_frequent_training_answer():
    train = [{"id": str(i), "context": "c", "question": "q", "answers": [a]}
             for i, a in enumerate(["daily", "twice daily", "daily"])]
    test = [{"id": "t0", "context": "c", "question": "q", "answers": ["daily"]},
            {"id": "t1", "context": "c", "question": "q", "answers": ["at night"]}]
    out = majority_baseline(get_task_type("qa"), train, test)
    assert out["answer"] == "daily"
    assert out["metrics"]["exact_match"] == 0.5 and out["score"] == 0.5


def test_ner_majority_none_scores_zero_f1_where_entities_exist():
    train = [{"id": "a", "text": "No meds.", "entities": []}, {"id": "b", "text": "Nothing.", "entities": []},
             {"id": "c", "text": "Took aspirin.",
              "entities": [{"type": "Drug", "text": "aspirin", "start": 5, "end": 12}]}]
    test = [{"id": "t", "text": "Took heparin.",
             "entities": [{"type": "Drug", "text": "heparin", "start": 5, "end": 12}]}]
    out = majority_baseline(get_task_type("ner"), train, test)
    assert out["answer"] == "none" and out["score"] == 0.0


def test_no_training_examples_is_an_error():
    with pytest.raises(ValueError, match="no training examples"):
        majority_baseline(get_task_type("nli"), [], [nli("neutral")])
