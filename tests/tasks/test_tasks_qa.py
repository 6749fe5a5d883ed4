"""QA: the SQuAD v1.1 metrics, checked against an independent copy of the official normaliser and
against values computed by hand."""

import re
import string
from collections import Counter

import pytest

from clinical_mpt.tasks.normalize import squad_normalize
from clinical_mpt.tasks.qa import QA, f1_score


def official_normalize_answer(s):
    # Verbatim logic of SQuAD v1.1 evaluate-v1.1.py, kept separate from the package's copy.
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def official_f1(prediction, ground_truth):
    prediction_tokens = official_normalize_answer(prediction).split()
    ground_truth_tokens = official_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


TRICKY = ["The  Patient's B.P.", "an apple a day", "theater anthem", "A-fib", "the-the", "  ", "",
          "Ångström\tUNITS", "THE", "a.k.a. the", "50% of the dose", "x—y", "“quoted” text", "Thé", "can't"]


@pytest.mark.parametrize("s", TRICKY)
def test_normaliser_matches_official(s):
    assert squad_normalize(s) == official_normalize_answer(s)


@pytest.mark.parametrize("pred", TRICKY)
@pytest.mark.parametrize("gold", ["the patient's BP", "a fib", "anthem", "50 % dose"])
def test_f1_matches_official(pred, gold):
    assert f1_score(pred, gold) == pytest.approx(official_f1(pred, gold))


def test_format_and_parse():
    ex = {"id": "q", "type": "qa", "context": "Given 5 mg.", "question": "Dose?", "answers": ["5 \n mg", "5"]}
    assert QA.format_input(ex, "Answer briefly.") == "Answer briefly.\nContext: Given 5 mg.\nQuestion: Dose?\nAnswer:"
    assert QA.format_target(ex) == " 5 mg"
    assert QA.parse(" 5 mg\nQuestion: next", ex) == {"id": "q", "answer": "5 mg"}


def test_scores_by_hand():
    golds = [{"id": "1", "type": "qa", "context": "c", "question": "q", "answers": ["the metformin", "metformin 500 mg"]},
             {"id": "2", "type": "qa", "context": "c", "question": "q", "answers": ["aspirin"]},
             {"id": "3", "type": "qa", "context": "c", "question": "q", "answers": ["insulin"]}]
    preds = [{"id": "1", "answer": "Metformin 500mg"},
             {"id": "2", "answer": "The aspirin."},
             {"id": "3", "answer": ""}]
    # 1: tokens [metformin, 500mg]; vs [metformin]: P 1/2, R 1 -> 2/3; vs [metformin, 500, mg]: P 1/2,
    #    R 1/3 -> 2/5; max 2/3; EM 0.   2: EM 1, F1 1.   3: empty prediction: EM 0, F1 0.
    assert QA.score(golds, preds) == pytest.approx({"exact_match": 1 / 3, "f1": (2 / 3 + 1) / 3, "n": 3})


def test_empty_normalised_strings_follow_the_official_script():
    # "the" and "a" both normalise to "": exact match 1, but F1 0 (no common tokens).
    g = [{"id": "1", "type": "qa", "context": "c", "question": "q", "answers": ["the"]}]
    assert QA.score(g, [{"id": "1", "answer": "a"}]) == {"exact_match": 1.0, "f1": 0.0, "n": 1}
