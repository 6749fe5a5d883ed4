"""benchmarks/hypothesis_only.py: the label each hypothesis carries most often in train, else the majority."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from hypothesis_only import hypothesis_only  # noqa: E402


def _row(h: str, label: str, premise: str = "Note.") -> dict:
    return {"premise": premise, "hypothesis": h, "label": label}


def test_a_hypothesis_predicts_its_most_frequent_training_label_else_the_majority():
    train = [_row("A.", "entailment"), _row("A.", "entailment"), _row("A.", "neutral"),
             _row("B.", "contradiction"), _row("C.", "entailment")]
    test = [_row("A.", "entailment", "x"), _row("B.", "neutral", "y"), _row("D.", "entailment", "z"),
            _row("D.", "neutral", "w")]
    out = hypothesis_only(train, test)
    assert out["majority_label"] == "entailment"
    assert out["accuracy"] == pytest.approx(2 / 4)   # A right, B wrong, unseen D -> entailment: right, wrong
    assert out["seen"] == pytest.approx(2 / 4) and out["n"] == 4
