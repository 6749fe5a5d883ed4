"""NLI: label parsing, accuracy and macro-F1 by hand."""

import pytest

from clinical_mpt.tasks.nli import NLI


def golds(labels):
    return [{"id": str(i), "type": "nli", "premise": "p", "hypothesis": "h", "label": lab}
            for i, lab in enumerate(labels)]


def preds(labels):
    return [{"id": str(i), "label": lab} for i, lab in enumerate(labels)]


def test_format():
    ex = golds(["neutral"])[0]
    assert NLI.format_input(ex, None) == f"{NLI.default_instruction}\nPremise: p\nHypothesis: h\nAnswer:"
    assert NLI.format_target(ex) == " neutral"


@pytest.mark.parametrize("generated, label", [
    (" entailment", "entailment"), ("Entailment.", "entailment"), ("CONTRADICTION", "contradiction"),
    (" contradicts the premise", "contradiction"), ("neutral\nentailment", "neutral"),
    ("It is neutral.", "neutral"), ("yes", ""), ("", ""), ("entail? contradict?", "entailment"),
    ("maybe entail or contradict", ""),
])
def test_parse(generated, label):
    assert NLI.parse(generated, {"id": "x"}) == {"id": "x", "label": label}


def test_macro_f1_by_hand():
    # gold  [E, E, N, C], pred [E, N, N, -]; labels {E, N, C} (the missing prediction adds none)
    # E: tp 1, predicted 1, gold 2 -> P 1, R 1/2, F1 2/3
    # N: tp 1, predicted 2, gold 1 -> P 1/2, R 1, F1 2/3
    # C: tp 0 -> F1 0;  macro = (2/3 + 2/3 + 0) / 3 = 4/9;  accuracy = 2/4
    m = NLI.score(golds(["entailment", "entailment", "neutral", "contradiction"]),
                  preds(["entailment", "neutral", "Neutral ", ""]))
    assert m == pytest.approx({"accuracy": 0.5, "macro_f1": 4 / 9, "n": 4})


def test_predicted_label_absent_from_gold_joins_the_average():
    # gold [E, E], pred [E, C]: E: P 1, R 1/2 -> 2/3; C: 0 -> macro 1/3
    m = NLI.score(golds(["entailment", "entailment"]), preds(["entailment", "contradiction"]))
    assert m == pytest.approx({"accuracy": 0.5, "macro_f1": 1 / 3, "n": 2})


def test_missing_prediction_is_wrong_and_adds_no_label():
    assert NLI.score(golds(["entailment"]), [{"id": "0"}]) == {"accuracy": 0.0, "macro_f1": 0.0, "n": 1}
    assert NLI.score(golds(["neutral"]), preds(["neutral"])) == {"accuracy": 1.0, "macro_f1": 1.0, "n": 1}
