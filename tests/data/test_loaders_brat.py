"""BRAT loader: exact output on the hand-made fixture, and every malformed case named by file:line."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.loaders import load_brat
from clinical_mpt.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "brat"


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the BRAT fixture folder."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "brat"))


def test_fixture_keeps_crlf_bytes():
    # note-002 has CRLF line endings: its offsets count the '\r' (the point of reading with newline='')
    assert b"\r\n" in (FIXTURE / "note-002.txt").read_bytes()


def test_ner_exact_output():
    docs = load_brat(FIXTURE)
    assert [d["id"] for d in docs] == ["note-001", "note-002"]
    assert all(d["type"] == "ner" for d in docs)
    assert docs[0]["entities"] == [
        {"type": "Problem", "start": 38, "end": 48, "text": "chest pain"},
        {"type": "Drug", "start": 68, "end": 75, "text": "aspirin"},
        {"type": "Strength", "start": 76, "end": 81, "text": "81 mg"},
        {"type": "Frequency", "start": 82, "end": 87, "text": "daily"},
        {"type": "Reason", "start": 92, "end": 108, "text": "coronary disease"},
        {"type": "Problem", "start": 117, "end": 136, "text": "shortness of breath"},
    ]
    text = docs[1]["text"]
    assert text == "Pt reports left and right knee pain.\r\nGave ibuprofen 400 mg PO q6h prn pain.\r\n"
    left_knee, right_knee, drug = docs[1]["entities"][:3]
    assert left_knee == {"type": "Problem", "start": 11, "end": 35, "text": "left knee pain",
                         "fragments": [[11, 15], [26, 35]]}
    assert right_knee == {"type": "Problem", "start": 20, "end": 35, "text": "right knee pain"}
    assert drug == {"type": "Drug", "start": 43, "end": 52, "text": "ibuprofen"}  # 43 counts the '\r'
    for doc in docs:
        for ent in doc["entities"]:
            if "fragments" not in ent:
                assert doc["text"][ent["start"]:ent["end"]] == ent["text"]
    validate_examples(docs, "brat")


def test_re_exact_output():
    docs = load_brat(FIXTURE, type_="re")
    assert all(d["type"] == "re" for d in docs)
    drug = {"text": "ibuprofen", "type": "Drug", "start": 43, "end": 52}
    assert docs[1]["relations"] == [
        {"type": "Strength-Drug", "head": {"text": "400 mg", "type": "Strength", "start": 53, "end": 59}, "tail": drug},
        {"type": "Route-Drug", "head": {"text": "PO", "type": "Route", "start": 60, "end": 62}, "tail": drug},
        {"type": "Frequency-Drug", "head": {"text": "q6h prn", "type": "Frequency", "start": 63, "end": 70},
         "tail": drug},
    ]
    assert [r["type"] for r in docs[0]["relations"]] == ["Strength-Drug", "Frequency-Drug", "Reason-Drug"]
    assert len(docs[0]["entities"]) == 6
    validate_examples(docs, "brat", "re")


def test_single_ann_file_and_newline_inside_mention(tmp_path):
    (tmp_path / "a.txt").write_text("Has chest\npain today.")
    (tmp_path / "a.ann").write_text("T1\tProblem 4 14\tchest pain\n")  # BRAT writes the newline as a space
    [doc] = load_brat(tmp_path / "a.ann")
    assert doc["entities"] == [{"type": "Problem", "start": 4, "end": 14, "text": "chest\npain"}]


def test_relation_to_event_is_skipped_with_a_count(tmp_path, caplog):
    (tmp_path / "a.txt").write_text("Smokes 1 ppd.")
    (tmp_path / "a.ann").write_text("T1\tTobacco 0 6\tSmokes\nT2\tAmount 7 12\t1 ppd\nE1\tTobacco:T1\n"
                                    "R1\tAmount-Of Arg1:T2 Arg2:E1\n")
    with caplog.at_level(logging.WARNING, logger="clinical_mpt.data"):
        [doc] = load_brat(tmp_path, type_="re")
    assert doc["relations"] == []
    assert "skipped 1 relation" in caplog.text


ANN1 = "note-001.ann"


@pytest.mark.parametrize("line_no, new_line, message", [
    (1, "T1\tProblem 38 480\tchest pain", "note-001.ann:1: span 38-480 is outside the text"),
    (2, "T2\tDrug 68 75\taspirn", "note-001.ann:2: mention 'aspirn' does not match the text"),
    (1, "T1 Problem 38 48 chest pain", "note-001.ann:1: malformed entity line"),
    (1, "T1\tProblem 38\tchest pain", "note-001.ann:1: malformed span"),
    (1, "T1\tProblem 48 38\tchest pain", "note-001.ann:1: span 48-38 is reversed"),
    (1, "T1\tProblem x8 48\tchest pain", "note-001.ann:1: an offset must be a non-negative integer"),
    (1, "T1\tProblem 40 48;38 44\tpain chest", "note-001.ann:1: fragments '40 48;38 44' overlap"),
    (7, "R1\tStrength-Drug Arg1:T3 Arg2:T9", "note-001.ann:7: relation R1 refers to unknown entity 'T9'"),
    (7, "R1\tStrength-Drug T3 T2", "note-001.ann:7: malformed relation line"),
    (8, "R2\tFrequency-Drug Arg1:T4", "note-001.ann:8: malformed relation line"),
    (2, "T1\tDrug 68 75\taspirin", "note-001.ann:2: duplicate annotation id 'T1'"),
    (10, "X1\tsomething", "note-001.ann:10: unknown annotation line"),
])
def test_malformed_ann_lines_name_file_and_line(corpus, line_no, new_line, message):
    ann = corpus / ANN1
    lines = ann.read_text().splitlines()
    lines[line_no - 1] = new_line
    ann.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_brat(corpus, type_="re")


def test_unknown_relation_id_is_an_error_even_for_ner(corpus):
    ann = corpus / ANN1
    ann.write_text(ann.read_text().replace("Arg2:T2", "Arg2:T42", 1))
    with pytest.raises(DataError, match=r"note-001\.ann:7: .*unknown entity 'T42'"):
        load_brat(corpus)


def test_ann_without_txt(corpus):
    (corpus / "note-002.txt").unlink()
    with pytest.raises(DataError, match=r"note-002\.ann: no matching text file note-002\.txt"):
        load_brat(corpus)


def test_bad_utf8_names_file_and_line(corpus):
    ann = corpus / ANN1
    ann.write_bytes(ann.read_bytes().replace(b"aspirin", b"aspir\xffn"))
    with pytest.raises(DataError, match=r"note-001\.ann:2: not valid UTF-8"):
        load_brat(corpus)
    txt = corpus / "note-002.txt"
    txt.write_bytes(txt.read_bytes().replace(b"Gave", b"G\xc3ve"))
    (corpus / ANN1).unlink()
    with pytest.raises(DataError, match=r"note-002\.txt:2: not valid UTF-8"):
        load_brat(corpus)


def test_empty_inputs(tmp_path):
    with pytest.raises(DataError, match="no .ann files found"):
        load_brat(tmp_path)
    with pytest.raises(DataError, match="not found"):
        load_brat(tmp_path / "missing")
    (tmp_path / "a.txt").write_text("")
    (tmp_path / "a.ann").write_text("")
    with pytest.raises(DataError, match=r"a\.txt: file is empty"):
        load_brat(tmp_path)


def test_document_without_annotations_is_kept(tmp_path):
    (tmp_path / "a.txt").write_text("No acute distress.")
    (tmp_path / "a.ann").write_text("")
    assert load_brat(tmp_path) == [{"id": "a", "type": "ner", "text": "No acute distress.", "entities": []}]


def test_fragments_listed_high_to_low_are_kept_in_order(tmp_path):
    # brat rejects only reversed and overlapping fragments; the mention joins them in listed order
    (tmp_path / "a.txt").write_text("estradiol was high; levels of estradiol rose")
    (tmp_path / "a.ann").write_text("T1\tPhenotype 30 39;20 29\testradiol levels of\n")
    [doc] = load_brat(tmp_path)
    assert doc["entities"] == [{"type": "Phenotype", "start": 20, "end": 39, "text": "estradiol levels of",
                                "fragments": [[30, 39], [20, 29]]}]
    validate_examples([doc], "brat", "ner")


def test_zero_width_annotations_are_dropped_with_a_count(tmp_path, caplog):
    (tmp_path / "a.txt").write_text("ABELCET is a lipid complex.")
    (tmp_path / "a.ann").write_text("T1\tDrug 0 7\tABELCET\nT2\tDrug 13 13\t\nT3\tForm 13 26\tlipid complex\n"
                                    "R1\tForm-Of Arg1:T2 Arg2:T1\nR2\tForm-Of Arg1:T3 Arg2:T1\n")
    with caplog.at_level(logging.WARNING, logger="clinical_mpt.data"):
        [doc] = load_brat(tmp_path, type_="re")
    assert [e["text"] for e in doc["entities"]] == ["ABELCET", "lipid complex"]
    assert [r["head"]["text"] for r in doc["relations"]] == ["lipid complex"]
    assert "dropped 1 zero-width annotation(s)" in caplog.text and "1 relation(s) on them" in caplog.text


def test_byte_order_mark_in_ann_is_ignored(tmp_path):
    (tmp_path / "a.txt").write_text("Has chest pain.")
    (tmp_path / "a.ann").write_bytes("\ufeffT1\tProblem 4 14\tchest pain\n".encode("utf-8"))
    [doc] = load_brat(tmp_path)
    assert doc["entities"] == [{"type": "Problem", "start": 4, "end": 14, "text": "chest pain"}]
