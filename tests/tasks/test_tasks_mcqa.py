"""MCQA: option formatting, tolerant key parsing, accuracy by hand."""

import pytest

from clinical_mpt.tasks.mcqa import MCQA

EX = {"id": "m", "type": "mcqa", "question": "First-line drug for type 2 diabetes?",
      "options": {"A": "aspirin", "B": "metformin", "C": "insulin glargine"}, "answer": "B"}


def test_format():
    assert MCQA.format_input(EX, "Pick one.") == (
        "Pick one.\nQuestion: First-line drug for type 2 diabetes?\nA. aspirin\nB. metformin\n"
        "C. insulin glargine\nAnswer:")
    with_context = dict(EX, context="Patient with T2DM.")
    assert MCQA.format_input(with_context, None).startswith(
        MCQA.default_instruction + "\nContext: Patient with T2DM.\nQuestion:")
    assert MCQA.format_target(EX) == " B"


@pytest.mark.parametrize("generated, key", [
    (" B", "B"), ("b", "B"), ("(B)", "B"), ("B.", "B"), ("B) metformin", "B"), ("B: metformin", "B"),
    ("[c]", "C"), ("Answer: b", "B"), ("The answer is (C).", "C"), ("the correct option is A", "A"),
    (" Metformin.", "B"), ("insulin   glargine", "C"), ("B\nC", "B"),
    ("D", ""), ("", ""), ("\n\n", ""), ("metformin or aspirin", ""), ("BC", ""),
])
def test_parse_key_variants(generated, key):
    assert MCQA.parse(generated, EX) == {"id": "m", "answer": key}


def test_parse_returns_the_key_as_spelled_in_the_options():
    ex = dict(EX, options={"a": "x", "b": "y"}, answer="b")
    assert MCQA.parse(" B", ex)["answer"] == "b"


def test_accuracy_by_hand():
    golds = [dict(EX, id=str(i), answer=a) for i, a in enumerate("BCAD")]
    golds[3]["options"] = dict(EX["options"], D="none")
    preds = [{"id": "0", "answer": "b"},      # correct (case)
             {"id": "1", "answer": " C "},    # correct (whitespace)
             {"id": "2", "answer": ""},       # no answer: wrong
             {"id": "3", "answer": "A"}]      # wrong
    assert MCQA.score(golds, preds) == {"accuracy": 0.5, "n": 4}
    assert MCQA.score(golds, [{"id": str(i)} for i in range(4)]) == {"accuracy": 0.0, "n": 4}
