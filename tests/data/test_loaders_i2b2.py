"""i2b2/VA 2010 loader: line:token positions become the right character offsets; bad lines are named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.loaders import load_i2b2_2010
from clinical_mpt.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "i2b2-2010"


@pytest.fixture
def corpus(tmp_path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "i2b2"))


def test_ner_exact_output():
    docs = load_i2b2_2010(FIXTURE)
    assert [d["id"] for d in docs] == ["record-1", "record-2"]
    assert docs[1] == {
        "id": "record-2", "type": "ner",
        "text": "Discharge Medications :\nMetformin 500 mg twice daily for diabetes mellitus .\n",
        "entities": [{"type": "treatment", "start": 24, "end": 33, "text": "Metformin"},
                     {"type": "problem", "start": 57, "end": 74, "text": "diabetes mellitus"}],
    }
    text = docs[0]["text"]
    assert [(e["type"], e["text"]) for e in docs[0]["entities"]] == [
        ("problem", "chest pain"), ("problem", "shortness of breath"), ("test", "An ECG"),
        ("problem", "ST elevations"), ("treatment", "nitroglycerin"), ("problem", "chest pain")]
    breath = docs[0]["entities"][1]
    assert (breath["start"], breath["end"]) == (59, 78) and text[59:78] == "shortness of breath"
    assert all(text[e["start"]:e["end"]] == e["text"] for e in docs[0]["entities"])
    validate_examples(docs, "i2b2", "ner")


def test_re_exact_output():
    docs = load_i2b2_2010(FIXTURE, type_="re")
    assert docs[0]["relations"] == [
        {"type": "TeRP", "head": {"text": "An ECG", "type": "test", "start": 81, "end": 87},
         "tail": {"text": "ST elevations", "type": "problem", "start": 112, "end": 125}},
        {"type": "TrAP", "head": {"text": "nitroglycerin", "type": "treatment", "start": 141, "end": 154},
         "tail": {"text": "chest pain", "type": "problem", "start": 159, "end": 169}},
    ]
    assert docs[0]["text"][159:169] == "chest pain"
    assert len(docs[1]["relations"]) == 1
    validate_examples(docs, "i2b2", "re")


def test_missing_rel_file_means_no_relations_and_crlf_text_works(corpus):
    (corpus / "rel" / "record-2.rel").unlink()
    txt = corpus / "txt" / "record-2.txt"
    txt.write_bytes(txt.read_bytes().replace(b"\n", b"\r\n"))
    doc = load_i2b2_2010(corpus, type_="re")[1]
    assert doc["relations"] == []
    assert doc["entities"][1] == {"type": "problem", "start": 58, "end": 75, "text": "diabetes mellitus"}


@pytest.mark.parametrize("name, line_no, new_line, message", [
    ("concept/record-1.con", 2, 'c="shortness of air" 2:6 2:8||t="problem"',
     r"record-1\.con:2: concept 'shortness of air' does not match the text at 2:6 2:8"),
    ("concept/record-1.con", 1, 'c="chest pain" 2:3 2:40||t="problem"',
     r"record-1\.con:1: token 2:40 is outside the text"),
    ("concept/record-1.con", 1, 'c="chest pain" 20:3 20:4||t="problem"', r"record-1\.con:1: line 20 is outside"),
    ("concept/record-1.con", 1, 'c="chest pain" 2:4 2:3||t="problem"', r"record-1\.con:1: span 2:4 2:3 ends before"),
    ("concept/record-1.con", 3, 'c="an ecg" 3:0 3:1|t="test"', r"record-1\.con:3: malformed concept line"),
    ("rel/record-1.rel", 2, 'c="nitroglycerin" 4:3 4:3||r="TrAP"',
     r"record-1\.rel:2: malformed relation line"),
    ("rel/record-1.rel", 1, 'c="an ecg" 3:0 3:1||r="TeRP"||c="showed st elevations" 3:5 3:7',
     r"record-1\.rel:1: relation argument 'showed st elevations' is not a concept"),
    ("rel/record-1.rel", 1, 'c="an ecg" 3:0 3:1||r="TeRP"||c="st elevation" 3:6 3:7',
     r"record-1\.rel:1: concept 'st elevation' does not match"),
])
def test_malformed_lines_name_file_and_line(corpus, name, line_no, new_line, message):
    path = corpus / name
    lines = path.read_text().splitlines()
    lines[line_no - 1] = new_line
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=message):
        load_i2b2_2010(corpus, type_="re")


def test_missing_files_and_folders(corpus, tmp_path):
    with pytest.raises(DataError, match="expected a folder with txt/ and concept/"):
        load_i2b2_2010(tmp_path / "nowhere")
    (corpus / "concept" / "record-2.con").unlink()
    with pytest.raises(DataError, match=r"record-2\.txt: no matching concept file"):
        load_i2b2_2010(corpus)
    shutil.rmtree(corpus / "rel")
    with pytest.raises(DataError, match="no rel/ subfolder"):
        load_i2b2_2010(corpus, type_="re")


def test_bad_utf8_and_empty_note(corpus):
    con = corpus / "concept" / "record-2.con"
    con.write_bytes(con.read_bytes() + b'c="x\xe9" 2:0 2:0||t="problem"\n')
    with pytest.raises(DataError, match=r"record-2\.con:3: not valid UTF-8"):
        load_i2b2_2010(corpus)
    (corpus / "txt" / "record-1.txt").write_text("  \n")
    with pytest.raises(DataError, match=r"record-1\.txt: file is empty"):
        load_i2b2_2010(corpus)


def test_byte_order_mark_in_con_is_ignored(corpus):
    con = corpus / "concept" / "record-2.con"
    con.write_bytes(b"\xef\xbb\xbf" + con.read_bytes())
    assert load_i2b2_2010(corpus) == load_i2b2_2010(FIXTURE)
