"""Chunking long documents: offsets stay right, no entity is cut, split relations are dropped and counted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.loaders import load_brat, load_i2b2_2010
from clinical_mpt.data.loaders.chunking import chunk_example, chunk_examples
from clinical_mpt.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"


def _ent(text: str, word: str, type_: str = "X") -> dict:
    start = text.index(word)
    return {"type": type_, "start": start, "end": start + len(word), "text": word}


def _check_against_original(chunks: list[dict], original: dict) -> None:
    """Every chunk entity, shifted back by the chunk offset, is an entity of the original document."""
    validate_examples(chunks, "chunks")
    text = original["text"]
    for chunk in chunks:
        assert text[chunk["offset"]:chunk["offset"] + len(chunk["text"])] == chunk["text"]
        for ent in chunk["entities"]:
            back = dict(ent, start=ent["start"] + chunk["offset"], end=ent["end"] + chunk["offset"])
            if "fragments" in ent:
                back["fragments"] = [[a + chunk["offset"], b + chunk["offset"]] for a, b in ent["fragments"]]
            assert back in original["entities"]
    assert sum(len(c["entities"]) for c in chunks) == len(original["entities"])


def test_brat_sentence_chunks_keep_offsets_and_relations(caplog):
    whole = load_brat(FIXTURES / "brat", type_="re")
    with caplog.at_level(logging.WARNING, logger="clinical_mpt.data"):
        chunks = load_brat(FIXTURES / "brat", type_="re", chunk="sentences")
    assert [c["id"] for c in chunks] == ["note-001-0", "note-001-1", "note-001-2", "note-002-0", "note-002-1"]
    assert chunks[1]["text"] == "He was started on aspirin 81 mg daily for coronary disease."
    assert chunks[4]["text"] == "Gave ibuprofen 400 mg PO q6h prn pain."  # CRLF trimmed, offsets still right
    assert chunks[4]["entities"][0] == {"type": "Drug", "start": 5, "end": 14, "text": "ibuprofen"}
    assert chunks[4]["offset"] == 43 - 5 and chunks[4]["doc"] == "note-002"
    # the discontinuous entity stays whole, fragments shifted with it
    assert chunks[3]["entities"][0]["fragments"] == [[11, 15], [26, 35]]
    for doc in whole:
        _check_against_original([c for c in chunks if c["doc"] == doc["id"]], doc)
    assert sum(len(c["relations"]) for c in chunks) == 6  # all relations are within one sentence
    assert "dropped" not in caplog.text


def test_relation_across_chunks_is_dropped_with_a_count(tmp_path, caplog):
    text = "Aspirin was started. It was for chest pain."
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "a.ann").write_text("T1\tDrug 0 7\tAspirin\nT2\tReason 32 42\tchest pain\n"
                                    "R1\tReason-Drug Arg1:T2 Arg2:T1\n")
    with caplog.at_level(logging.WARNING, logger="clinical_mpt.data"):
        chunks = load_brat(tmp_path, type_="re", chunk="sentences")
    assert [c["text"] for c in chunks] == ["Aspirin was started.", "It was for chest pain."]
    assert [c["relations"] for c in chunks] == [[], []]
    assert "dropped 1 relation(s)" in caplog.text
    # packing both sentences into one chunk keeps the relation
    [chunk] = load_brat(tmp_path, type_="re", chunk="sentences", max_chars=100)
    assert len(chunk["relations"]) == 1


def test_chars_chunk_is_extended_to_the_end_of_a_cut_entity():
    text = "Seen today for acute chest pain radiating to arm."
    doc = {"id": "d", "type": "ner", "text": text, "entities": [_ent(text, "acute chest pain")]}
    chunks, dropped = chunk_example(doc, "chars", 25)  # a 25-char cut would fall inside the entity
    assert dropped == 0
    assert chunks[0]["text"] == "Seen today for acute chest pain"
    assert chunks[0]["entities"] == [{"type": "X", "start": 15, "end": 31, "text": "acute chest pain"}]
    assert [c["text"] for c in chunks[1:]] == ["radiating to arm."]
    _check_against_original(chunks, doc)


def test_chars_chunk_without_whitespace_is_cut_hard():
    doc = {"id": "d", "type": "ner", "text": "abcdefghij", "entities": []}
    chunks, _ = chunk_example(doc, "chars", 4)
    assert [c["text"] for c in chunks] == ["abcd", "efgh", "ij"]
    assert [c["offset"] for c in chunks] == [0, 4, 8]


def test_i2b2_chunks(tmp_path):
    whole = load_i2b2_2010(FIXTURES / "i2b2-2010", type_="re")
    chunks = load_i2b2_2010(FIXTURES / "i2b2-2010", type_="re", chunk="chars", max_chars=30)
    for doc in whole:
        mine = [c for c in chunks if c["doc"] == doc["id"]]
        _check_against_original(mine, doc)
        assert all(len(c["text"]) <= 30 or c["entities"] for c in mine)


@pytest.mark.parametrize("mode, max_chars, message", [
    ("chars", None, "needs --max-chars"),
    ("words", 10, "unknown chunk mode"),
    ("sentences", 0, "at least 1"),
    (None, 10, "needs --chunk"),
])
def test_bad_chunk_options(mode, max_chars, message):
    with pytest.raises(ConfigError, match=message):
        chunk_examples([], mode, max_chars)


WORDS = st.sampled_from(["pain", "chest", "q6h", "81mg", "aspirin", "a", "Dr.", "BP", "ok."])


@settings(max_examples=60, deadline=None)
@given(words=st.lists(WORDS, min_size=1, max_size=30), seps=st.lists(st.sampled_from([" ", "\n", ". ", "  "]),
       min_size=30, max_size=30), picks=st.lists(st.tuples(st.integers(0, 29), st.integers(1, 3)), max_size=6),
       mode=st.sampled_from(["chars", "sentences"]), max_chars=st.integers(1, 40))
def test_chunking_never_cuts_or_loses_an_entity(words, seps, picks, mode, max_chars):
    text, starts, ends = "", [], []
    for word, sep in zip(words, seps):
        starts.append(len(text))
        text += word
        ends.append(len(text))
        text += sep
    entities = []
    for first, n in picks:  # entities of 1-3 consecutive words (they may overlap)
        if first < len(words):
            last = min(first + n, len(words)) - 1
            entities.append({"type": "X", "start": starts[first], "end": ends[last],
                             "text": text[starts[first]:ends[last]]})
    doc = {"id": "d", "type": "ner", "text": text, "entities": entities}
    chunks, _ = chunk_example(doc, mode, max_chars)
    _check_against_original(chunks, doc)
    assert all(not c["text"][:1].isspace() and not c["text"][-1:].isspace() for c in chunks)
    # chunks appear in order and do not overlap
    assert all(a["offset"] + len(a["text"]) <= b["offset"] for a, b in zip(chunks, chunks[1:]))
