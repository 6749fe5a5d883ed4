"""Summarization: ROUGE equals `rouge_score` called directly; a small case by hand."""

import pytest
from rouge_score import rouge_scorer

from clinical_mpt.tasks.summarization import SUMMARIZATION

PAIRS = [("The patient was discharged home in stable condition.", "Patient discharged home, stable."),
         ("Chest pain resolved after nitroglycerin.", "The chest pains resolved with nitro."),
         ("No acute distress.", ""),
         ("Follow up with cardiology in two weeks.", "follow up with cardiology in 2 weeks")]


def test_matches_rouge_score_directly():
    golds = [{"id": str(i), "type": "summarization", "text": "t", "summary": g} for i, (g, _) in enumerate(PAIRS)]
    preds = [{"id": str(i), "summary": p} for i, (_, p) in enumerate(PAIRS)]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    expected = {k: sum(scorer.score(g, p)[k].fmeasure for g, p in PAIRS) / len(PAIRS)
                for k in ("rouge1", "rouge2", "rougeL")}
    assert SUMMARIZATION.score(golds, preds) == pytest.approx({**expected, "n": len(PAIRS)})


def test_by_hand():
    # gold [chest, pain, resolv], pred [chest, pain]: rouge1 P 1 R 2/3 -> 0.8; rouge2 P 1 R 1/2 -> 2/3;
    # rougeL LCS 2 -> 0.8
    g = [{"id": "1", "type": "summarization", "text": "t", "summary": "Chest pain resolved."}]
    m = SUMMARIZATION.score(g, [{"id": "1", "summary": "chest pain"}])
    assert m == pytest.approx({"rouge1": 0.8, "rouge2": 2 / 3, "rougeL": 0.8, "n": 1})
    assert SUMMARIZATION.score(g, [{"id": "1"}])["rougeL"] == 0.0


def test_format_and_parse():
    ex = {"id": "s", "type": "summarization", "text": "Long note.\nMore.", "summary": "Short\nsummary."}
    assert SUMMARIZATION.format_input(ex, None) == f"{SUMMARIZATION.default_instruction}\nText: Long note.\nMore.\nAnswer:"
    assert SUMMARIZATION.format_target(ex) == " Short summary."
    assert SUMMARIZATION.parse(" Short summary.\nText: junk<|endoftext|>", ex) == {"id": "s", "summary": "Short summary."}
