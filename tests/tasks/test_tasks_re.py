"""RE: format, parser, and micro P/R/F1 over (type, head, tail) sets, computed by hand."""

import pytest

from clinical_mpt.tasks.relation import RE

TEXT = "Metformin 500 mg daily."


def rel(type_, head, tail):
    return {"type": type_, "head": {"text": head}, "tail": {"text": tail}}


def gold(id_, rels):
    return {"id": id_, "type": "re", "text": TEXT, "relations": rels}


def test_format_and_parse_round_trip_with_dashes_and_underscores():
    ex = gold("1", [rel("Strength-Drug", "500 mg", "Metformin"), rel("Frequency_of", "daily", "Metformin"),
                    rel("strength-drug", "500 MG", "metformin")])          # a duplicate after normalisation
    assert RE.format_input(ex, None) == f"{RE.default_instruction}\nText: {TEXT}\nAnswer:"
    target = RE.format_target(ex)
    assert target == " Strength-Drug: 500 mg -> Metformin; Frequency_of: daily -> Metformin"
    assert RE.parse(target, ex) == {"id": "1", "relations": ex["relations"][:2]}
    assert RE.format_target(gold("2", [])) == " none"
    assert RE.parse(" none", ex)["relations"] == []


def test_parse_skips_malformed_pieces():
    ex = gold("1", [])
    out = RE.parse("Strength-Drug: 500 mg->Metformin; Drug: aspirin; -> x; Route: -> po; A: b ->\nmore", ex)
    assert out["relations"] == [rel("Strength-Drug", "500 mg", "Metformin")]


def test_micro_prf_by_hand():
    golds = [gold("1", [rel("Strength-Drug", "500 mg", "Metformin"), rel("Frequency-Drug", "daily", "Metformin")]),
             gold("2", []), gold("3", [])]
    preds = [{"id": "1", "relations": [rel("strength-drug", "500 MG", "Metformin."),    # tp
                                       rel("Strength-Drug", "500 mg", "metformin"),     # duplicate: once
                                       rel("Frequency-Drug", "Metformin", "daily")]},   # reversed: fp
             {"id": "2", "relations": []},
             {"id": "3", "relations": [rel("Route-Drug", "po", "Metformin")]}]          # fp
    # tp = 1, predicted = 3, gold = 2 -> P = 1/3, R = 1/2, F1 = 2 * (1/6) / (5/6) = 2/5
    assert RE.score(golds, preds) == pytest.approx({"precision": 1 / 3, "recall": 1 / 2, "f1": 0.4, "n": 3})


def test_empty_set_conventions():
    assert RE.score([gold("1", [])], [{"id": "1", "relations": []}])["f1"] == 1.0
    assert RE.score([gold("1", [])], [{"id": "1"}])["f1"] == 1.0
    m = RE.score([gold("1", [rel("A", "b", "c")])], [{"id": "1", "relations": []}])
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
