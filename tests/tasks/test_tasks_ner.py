"""NER: format, parser, and micro P/R/F1 over (type, normalised mention) sets, computed by hand."""

import pytest

from clinical_mpt.tasks.ner import NER, find_span, ground
from clinical_mpt.tasks.normalize import normalize_mention

TEXT = "Metformin 500 mg daily and aspirin."


def gold(id_, text, ents):
    return {"id": id_, "type": "ner", "text": text, "entities": ents}


def ent(type_, text, start=None, end=None):
    e = {"type": type_, "text": text}
    if start is not None:
        e["start"], e["end"] = start, end
    return e


def test_offsets_of_the_fixture():
    assert (TEXT[0:9], TEXT[10:16], TEXT[27:34]) == ("Metformin", "500 mg", "aspirin")


def test_format_input_and_target():
    ex = gold("1", TEXT, [ent("Strength", "500 mg", 10, 16), ent("Drug", "Metformin", 0, 9)])
    assert NER.format_input(ex, "Find Drug and Strength.") == f"Find Drug and Strength.\nText: {TEXT}\nAnswer:"
    assert NER.format_input(ex, None).startswith(NER.default_instruction)
    # text order (by start), "Type: mention" joined by "; "
    assert NER.format_target(ex) == " Drug: Metformin; Strength: 500 mg"
    assert NER.format_target(gold("2", TEXT, [])) == " none"


def test_parse_tolerates_junk_and_finds_offsets():
    ex = gold("1", TEXT, [])
    pred = NER.parse(" drug: METFORMIN; garbage; Strength: ; : x; Drug: aspirin;Drug: heparin\nText: more", ex)
    assert pred["id"] == "1"
    assert pred["entities"] == [
        {"type": "drug", "text": "Metformin", "start": 0, "end": 9},   # case-insensitive match, text's spelling
        {"type": "Drug", "text": "aspirin", "start": 27, "end": 34},
    ]                                                                  # heparin: not in the text, dropped
    assert NER.parse(" None.", ex)["entities"] == []
    assert NER.parse("", ex)["entities"] == []


def test_find_span_prefers_exact_case_then_first_occurrence_and_is_whitespace_flexible():
    text = "aspirin then Aspirin\nthen heparin  sodium"
    assert find_span(text, "Aspirin") == (13, 20)
    assert find_span(text, "ASPIRIN") == (0, 7)
    assert find_span(text, "heparin sodium") == (26, 41)
    assert find_span(text, "warfarin") is None
    assert find_span(text, "   ") is None


def test_normalize_mention():
    assert normalize_mention("  (Metformin\n 500 mg). ") == "metformin 500 mg"
    assert normalize_mention("“aspirin”") == "aspirin"      # Unicode quotes are punctuation
    assert normalize_mention("b.i.d.") == "b.i.d"            # inner punctuation is kept
    assert normalize_mention("...") == ""


def test_micro_prf_by_hand():
    golds = [gold("1", TEXT, [ent("Drug", "Metformin"), ent("Strength", "500 mg"), ent("Drug", "aspirin")]),
             gold("2", "Insulin given.", [ent("Drug", "Insulin")])]
    preds = [{"id": "1", "entities": [ent("DRUG", "metformin"),    # tp (case-insensitive type and text)
                                      ent("Drug", "aspirin."),     # tp (trailing punctuation stripped)
                                      ent("Frequency", "daily"),   # fp
                                      ent("Drug", " Metformin ")]},  # duplicate of the first: counted once
             {"id": "2", "entities": []}]                          # fn: insulin
    # tp = 2, predicted = 3, gold = 4 -> P = 2/3, R = 1/2, F1 = 2 * (1/3) / (7/6) = 4/7
    m = NER.score(golds, preds)
    assert m == pytest.approx({"precision": 2 / 3, "recall": 1 / 2, "f1": 4 / 7, "n": 2})
    assert "span_f1" not in m                                      # no prediction carries offsets


def test_type_must_match():
    g = [gold("1", TEXT, [ent("Drug", "aspirin")])]
    m = NER.score(g, [{"id": "1", "entities": [ent("Strength", "aspirin")]}])
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)


def test_empty_set_conventions():
    empty = [gold("1", TEXT, [])]
    assert NER.score(empty, [{"id": "1", "entities": []}]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "n": 1}
    m = NER.score(empty, [{"id": "1", "entities": [ent("Drug", "aspirin")]}])
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    m = NER.score([gold("1", TEXT, [ent("Drug", "aspirin")])], [{"id": "1", "entities": []}])
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)


def test_span_f1_by_hand():
    golds = [gold("1", TEXT, [ent("Drug", "Metformin", 0, 9), ent("Strength", "500 mg", 10, 16),
                              ent("Drug", "aspirin", 27, 34)])]
    preds = [{"id": "1", "entities": [ent("drug", "Metformin", 0, 9),     # tp (type normalised)
                                      ent("Strength", "500 m", 10, 15),   # wrong boundary: fp and fn
                                      ent("Drug", "aspirin", 27, 34),     # tp
                                      ent("Drug", "heparin")]}]           # no offsets: not a span item
    # spans: tp = 2, predicted = 3, gold = 3 -> P = R = F1 = 2/3
    # text:  tp = 2 (metformin, aspirin), predicted = 4, gold = 3 -> P = 1/2, R = 2/3, F1 = 4/7
    m = NER.score(golds, preds)
    assert m == pytest.approx({"precision": 1 / 2, "recall": 2 / 3, "f1": 4 / 7, "span_f1": 2 / 3, "n": 1})


def test_score_tolerates_malformed_prediction_rows():
    g = [gold("1", TEXT, [ent("Drug", "aspirin")])]
    for bad in ({"id": "1"}, {"id": "1", "entities": None}, {"id": "1", "entities": ["aspirin", 3]}):
        assert NER.score(g, [bad])["f1"] == 0.0
    with pytest.raises(ValueError):
        NER.score(g, [])


def test_parse_keeps_only_mentions_the_text_holds():
    """Slots a small model fills with words from nowhere are dropped; a mention with edge punctuation or
    another case or spacing is grounded to the text's own span, so no mention that could score is lost."""
    ex = gold("1", "Lovenox 40 mg SQ daily for DVT ppx.", [])
    pred = NER.parse(" Drug: Lovenox; Strength: 40  MG; Route: subcutaneous; Frequency: (daily.; Drug: Drug", ex)
    assert pred["entities"] == [{"type": "Drug", "text": "Lovenox", "start": 0, "end": 7},
                                {"type": "Strength", "text": "40 mg", "start": 8, "end": 13},
                                {"type": "Frequency", "text": "daily", "start": 17, "end": 22}]
    assert NER.parse(" Drug: aspirin", {"id": "2"})["entities"] == []      # no text: nothing to ground in


def test_grounding_never_drops_a_mention_that_matches_a_gold_span():
    text = "Pt on Metoprolol  Tartrate 25 mg PO b.i.d., (ASA 81)."
    for start, end in ((6, 26), (27, 32), (36, 42), (46, 52), (45, 48)):
        gold_key = normalize_mention(text[start:end])
        for variant in (text[start:end], gold_key, gold_key.upper() + ".", f"({gold_key})", gold_key.replace(" ", "   ")):
            span = ground(text, variant)
            assert span is not None and normalize_mention(text[span[0]:span[1]]) == gold_key, variant
    assert ground(text, "warfarin") is None and ground(text, "...") is None
