"""MedNLI, summarization JSONL and CSV loaders: exact output and errors naming file and line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.loaders import load_csv, load_mednli, load_summarization_jsonl
from clinical_mpt.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures"


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ---- mednli --------------------------------------------------------------------------------------

def test_mednli_exact_output():
    rows = load_mednli(FIXTURES / "mednli" / "mednli.jsonl")
    assert rows[0] == {"id": "a1b2-1", "type": "nli", "premise": "Labs were notable for a creatinine of 2.3.",
                       "hypothesis": "The patient has abnormal kidney function.", "label": "entailment"}
    assert [r["label"] for r in rows] == ["entailment", "contradiction", "neutral"]
    validate_examples(rows, "mednli", "nli")


def _pair(i: int, label: str) -> dict:
    return {"pairID": f"p{i}", "sentence1": "No fever.", "sentence2": "Afebrile.", "gold_label": label}


def test_mednli_unlabelled(tmp_path, caplog):
    path = _jsonl(tmp_path / "nli.jsonl", [_pair(1, "entailment"), _pair(2, "-"), _pair(3, "")])
    with pytest.raises(DataError, match=r"nli\.jsonl:2: unknown gold_label '-'.*--skip-unlabeled"):
        load_mednli(path)
    with caplog.at_level(logging.WARNING, logger="clinical_mpt.data"):
        rows = load_mednli(path, skip_unlabeled=True)
    assert [r["id"] for r in rows] == ["p1"]
    assert "skipped 2 unlabelled pair(s)" in caplog.text
    with pytest.raises(DataError, match="no labelled pairs"):
        load_mednli(_jsonl(tmp_path / "none.jsonl", [_pair(1, "-")]), skip_unlabeled=True)


@pytest.mark.parametrize("row, message", [
    (_pair(2, "entails"), r"nli\.jsonl:2: unknown gold_label 'entails'"),
    ({"pairID": "p2", "sentence1": "x", "gold_label": "neutral"}, r"nli\.jsonl:2: missing field 'sentence2'"),
    ({"pairID": "p2", "sentence1": "x", "sentence2": 5, "gold_label": "neutral"},
     r"nli\.jsonl:2: field 'sentence2' must be a string"),
    ({"sentence1": "x", "sentence2": "y", "gold_label": "neutral"}, r"nli\.jsonl:2: missing id field 'pairID'"),
    (_pair(1, "neutral"), r"nli\.jsonl:2: duplicate id 'p1'"),
    ([1, 2], r"nli\.jsonl:2: expected a JSON object, got list"),
    ({"premise": "x", "hypothesis": "y", "label": "entailment"},
     (r"nli\.jsonl:2: missing field 'gold_label' \(the record has: premise, hypothesis, label\); expected one "
      r"JSON object per line with pairID, sentence1, sentence2 and gold_label")),
    ({"pairID": "p2", "sentence1": "x", "sentence2": "y", "gold_label": None}, r"missing field 'gold_label'"),
])
def test_mednli_errors(tmp_path, row, message):
    with pytest.raises(DataError, match=message):
        load_mednli(_jsonl(tmp_path / "nli.jsonl", [_pair(1, "entailment"), row]))


@pytest.mark.parametrize("content, message", [
    (b"", r"x\.jsonl: file is empty"),
    (b"\n  \n", r"x\.jsonl: file is empty"),
    (b'{"pairID": "p1"}\n{"pairID": "p2", \n', r"x\.jsonl:2: invalid JSON"),
    (b'{"pairID": "p1"}\n\n{"pairID": "caf\xe9"}\n', r"x\.jsonl:3: not valid UTF-8"),
    (b'{"pairID": 1' + b"0" * 5000 + b"}\n", r"x\.jsonl:1: invalid JSON"),
    (b"[" * 100000 + b"\n", r"x\.jsonl:1: invalid JSON"),
    (b'{"pairID": "\\ud800", "gold_label": "neutral"}\n', r"x\.jsonl:1: .*lone surrogate"),
])
def test_jsonl_byte_level_errors(tmp_path, content, message):
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    for load in (load_mednli, load_summarization_jsonl):
        with pytest.raises(DataError, match=message):
            load(path)


# ---- summarization-jsonl -------------------------------------------------------------------------

def test_summarization_jsonl_exact_output():
    rows = load_summarization_jsonl(FIXTURES / "summarization-jsonl" / "summaries.jsonl")
    assert rows == [
        {"id": "d1", "type": "summarization",
         "text": "72F with CHF exacerbation, diuresed with IV furosemide, weight down 3 kg, discharged on oral furosemide.",
         "summary": "CHF exacerbation treated with diuresis."},
        {"id": "summaries-2", "type": "summarization",
         "text": "45M with cellulitis of the left leg, treated with cefazolin, improved, discharged on cephalexin.",
         "summary": "Left leg cellulitis improved on antibiotics."},
    ]
    validate_examples(rows, "summ", "summarization")


def test_summarization_jsonl_custom_fields_and_errors(tmp_path):
    path = _jsonl(tmp_path / "s.jsonl", [{"note_id": 7, "note": "Long note.", "impression": "Short."}])
    assert load_summarization_jsonl(path, text_field="note", summary_field="impression", id_field="note_id") == [
        {"id": "7", "type": "summarization", "text": "Long note.", "summary": "Short."}]
    with pytest.raises(DataError, match=r"s\.jsonl:1: missing field 'text'"):
        load_summarization_jsonl(path)
    _jsonl(path, [{"text": "a", "summary": "b"}, {"text": "c", "summary": "  "}])
    with pytest.raises(DataError, match=r"s\.jsonl:2: field 'summary' is empty"):
        load_summarization_jsonl(path)


def test_summarization_reads_a_json_array_and_skips_empty_records(tmp_path, caplog):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"study_id": "1", "findings": "Clear lungs.", "impression": "Normal."},
                                {"study_id": "2", "findings": "", "impression": "No findings given."},
                                {"study_id": "3", "findings": "Effusion.", "impression": None}], indent=1))
    with pytest.raises(DataError, match=r"a\.json:7: field 'findings' is empty \(--skip-empty"):
        load_summarization_jsonl(path, text_field="findings", summary_field="impression", id_field="study_id")
    with caplog.at_level(logging.WARNING, logger="clinical_mpt.data"):
        rows = load_summarization_jsonl(path, text_field="findings", summary_field="impression",
                                        id_field="study_id", skip_empty=True)
    assert [r["id"] for r in rows] == ["1"]
    assert "skipped 2 row(s) with an empty 'findings' or 'impression'" in caplog.text


# ---- csv -----------------------------------------------------------------------------------------

def test_csv_exact_output_with_quoted_multiline_field():
    rows = load_csv(FIXTURES / "csv" / "summaries.csv")
    assert rows == [
        {"id": "n1", "type": "summarization", "text": 'Patient seen for cough, 3 days.\nLungs clear; no "wheeze".',
         "summary": "Cough, clear lungs."},
        {"id": "summaries-2", "type": "summarization", "text": "Follow-up for hypertension. BP 128/80 on amlodipine.",
         "summary": "Hypertension controlled."},
    ]
    validate_examples(rows, "csv", "summarization")


def test_csv_bom_crlf_and_custom_columns(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_bytes(b'\xef\xbb\xbfNOTE_ID,NOTE,SUMMARY\r\n7,"Line one.\r\nLine two.",Two lines.\r\n')
    assert load_csv(path, text_field="NOTE", summary_field="SUMMARY", id_field="NOTE_ID") == [
        {"id": "7", "type": "summarization", "text": "Line one.\r\nLine two.", "summary": "Two lines."}]


@pytest.mark.parametrize("content, message", [
    (b'id,text,summary\n1,"a\nb",c\n2,"unterminated,x\n', r"bad\.csv:4: malformed CSV"),
    (b'id,text,summary\n1,"a\nb",c\n2,x,y\n3,y,z,w\n', r"bad\.csv:5 \(row 3\): 4 fields, but the header has 3"),
    (b"id,text\n1,a\n", r"bad\.csv:1: no column 'summary' in the header \(id, text\)"),
    (b"id,text,summary\n", r"bad\.csv: no data rows"),
    (b"", r"bad\.csv: file is empty"),
    (b'id,text,summary\n1,a,b\n2,"caf\xe9",c\n', r"bad\.csv:3: not valid UTF-8"),
    (b"id,text,summary\n1,a,b\n1,c,d\n", r"bad\.csv:3 \(row 2\): duplicate id '1'"),
    (b"id,text,summary\n1,,b\n", r"bad\.csv:2 \(row 1\): field 'text' is empty"),
    (b"text,text,summary\n", r"bad\.csv:1: the header repeats a column name"),
    (b'id,text,summary\n1,"a"b,c\n', r"bad\.csv:2: malformed CSV"),
])
def test_csv_errors_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_csv(path)


def test_csv_skip_empty_drops_rows_with_an_empty_cell(tmp_path, caplog):
    path = tmp_path / "r.csv"
    path.write_text('uid,findings,impression\n1,Clear.,Normal.\n2,,Normal.\n3,"Effusion.\nSmall.",  \n4,Clear.,Ok.\n')
    with caplog.at_level(logging.WARNING, logger="clinical_mpt.data"):
        rows = load_csv(path, text_field="findings", summary_field="impression", id_field="uid", skip_empty=True)
    assert [r["id"] for r in rows] == ["1", "4"]
    assert "skipped 2 row(s)" in caplog.text
