"""SQuAD-form QA and multiple-choice JSONL loaders: exact output, answer normalisation, errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.loaders import load_headqa, load_mcqa_jsonl, load_squad
from clinical_mpt.errors import ConfigError, DataError

FIXTURES = Path(__file__).parent / "fixtures"


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _squad(path: Path, qas: list, context: str = "Given metoprolol for rate control.") -> Path:
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}))
    return path


# ---- squad ---------------------------------------------------------------------------------------

def test_squad_exact_output_skips_unanswerable(caplog):
    with caplog.at_level(logging.WARNING, logger="clinical_mpt.data"):
        rows = load_squad(FIXTURES / "squad" / "emrqa.json")
    assert rows == [
        {"id": "q1", "type": "qa",
         "context": "Patient was given metoprolol 25 mg for rate control. Lisinopril was held because of hypotension.",
         "question": "Why was the patient given metoprolol?", "answers": ["rate control", "for rate control"]},
        {"id": "q3", "type": "qa", "context": "Discharged on insulin glargine 10 units nightly for type 2 diabetes.",
         "question": "What is the dose of insulin glargine?", "answers": ["10 units"]},
    ]
    assert "skipped 1 unanswerable question(s)" in caplog.text
    validate_examples(rows, "squad", "qa")


@pytest.mark.parametrize("content, message", [
    ('{"data": [\n  {"paragraphs": [}\n]}', r"bad\.json:2: invalid JSON"),
    ('[1, 2]', r"expected a JSON object with a 'data' list"),
    ('{"data": [{"title": "x"}]}', r"bad\.json: data\[0\]: field 'paragraphs' must be a list"),
    ('{"data": [{"paragraphs": [{"context": "c", "qas": {}}]}]}',
     r"data\[0\]\.paragraphs\[0\]: field 'qas' must be a list"),
    ('{"data": [{"paragraphs": [{"context": 3, "qas": []}]}]}', r"paragraphs\[0\]: field 'context' must be a string"),
    ('{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "a", "question": "q", "answers": [{"t": 1}]}]}]}]}',
     r"qas\[0\]\.answers\[0\]: expected an object with a 'text' string"),
    ('{"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": [{"text": "c"}]}]}]}]}',
     r"qas\[0\]: missing id field 'id'"),
    ('', r"bad\.json: file is empty"),
    ('\ufeff{"data": []}', r"bad\.json: no answerable questions"),
])
def test_squad_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_squad(path)


def test_squad_duplicate_ids_and_only_unanswerable(tmp_path):
    qa = {"id": "a", "question": "Why?", "answers": [{"text": "rate control", "answer_start": 20}]}
    with pytest.raises(DataError, match=r"qas\[1\]: duplicate id 'a'"):
        load_squad(_squad(tmp_path / "d.json", [qa, qa]))
    with pytest.raises(DataError, match="no answerable questions"):
        load_squad(_squad(tmp_path / "u.json", [{"id": "b", "question": "?", "answers": [], "is_impossible": True}]))


# ---- mcqa-jsonl ----------------------------------------------------------------------------------

def test_mcqa_exact_output_list_options_index_answers():
    rows = load_mcqa_jsonl(FIXTURES / "mcqa-jsonl" / "mcqa.jsonl")
    assert rows[0] == {
        "id": "mb-1", "type": "mcqa",
        "question": "A 54-year-old man has crushing chest pain and ST elevation in II, III and aVF. "
                    "Which artery is most likely occluded?",
        "options": {"A": "Left anterior descending", "B": "Right coronary", "C": "Left circumflex", "D": "Left main"},
        "answer": "B"}
    assert rows[1] == {"id": "mb-2", "type": "mcqa", "question": "Which drug reverses heparin?",
                       "options": {"A": "Vitamin K", "B": "Protamine sulfate", "C": "Idarucizumab"},
                       "answer": "B", "context": "Patient on unfractionated heparin is bleeding."}
    validate_examples(rows, "mcqa", "mcqa")


@pytest.mark.parametrize("row, options, expected", [
    ({"question": "Q?", "options": {"a": "x", "b": "y"}, "answer": "b"}, {}, "b"),
    ({"question": "Q?", "options": {"A": "Protamine", "B": "Vitamin K"}, "answer": "Vitamin K"}, {}, "B"),
    ({"question": "Q?", "options": ["x", "y", "z"], "answer": "2"}, {}, "C"),
    ({"question": "Q?", "options": ["x", "y", "z"], "answer": 3}, {"answer_base": 1}, "C"),
    ({"q": "Q?", "opa": "x", "opb": "y", "opc": "", "cop": 1},
     {"question_field": "q", "options_field": "opa,opb,opc", "answer_field": "cop"}, "B"),
    # an option key that is also another option's text: read one way only when told how
    ({"question": "Q?", "options": {"A": "B", "B": "C"}, "answer": "B"}, {"answer_as": "text"}, "A"),
    ({"question": "Q?", "options": {"A": "B", "B": "C"}, "answer": "B"}, {"answer_as": "key"}, "B"),
    ({"question": "Q?", "options": {"A": "B", "B": "C"}, "answer_idx": "A"}, {"answer_field": "answer_idx"}, "A"),
    ({"question": "Q?", "options": {"A": "A", "B": "C"}, "answer": "A"}, {}, "A"),   # both readings agree
    ({"question": "Q?", "options": ["x", "y", "z"], "answer": "1"}, {"answer_as": "index"}, "B"),
    # options as a list of {key, text} objects (HEAD-QA flattened, CommonsenseQA choices), keys kept
    ({"qtext": "Q?", "answers": [{"aid": 1, "atext": "x"}, {"aid": 2, "atext": "y"}], "ra": "2"},
     {"question_field": "qtext", "options_field": "answers", "answer_field": "ra"}, "2"),
    ({"question": {"stem": "Q?", "choices": [{"label": "A", "text": "x"}, {"label": "B", "text": "y"}]},
      "answerKey": "B"},
     {"question_field": "question.stem", "options_field": "question.choices", "answer_field": "answerKey"}, "B"),
])
def test_mcqa_answer_forms(tmp_path, row, options, expected):
    [ex] = load_mcqa_jsonl(_jsonl(tmp_path / "m.jsonl", [row]), **options)
    assert ex["answer"] == expected and ex["id"] == "m-1"
    validate_examples([ex], "m", "mcqa")


@pytest.mark.parametrize("row, message", [
    ({"question": "Q?", "options": ["x", "y"], "answer": 2}, r"m\.jsonl:2: answer 2 is not an option key"),
    ({"question": "Q?", "options": ["x", "y"], "answer": True}, r"m\.jsonl:2: answer True is not"),
    ({"question": "Q?", "options": ["x"], "answer": 0}, r"m\.jsonl:2: needs at least two options"),
    ({"question": "Q?", "options": {"A": "x", "B": "x"}, "answer": "x"}, r"m\.jsonl:2: answer 'x' matches several"),
    ({"question": "Q?", "options": "x|y", "answer": 0}, r"m\.jsonl:2: field 'options' must be an object or a list"),
    ({"question": "Q?", "options": [["x"], "y"], "answer": 0}, r"m\.jsonl:2: option A must be a string"),
    ({"question": "Q?", "answer": 0}, r"m\.jsonl:2: missing field 'options'"),
    ({"question": "Q?", "options": ["x", "y"]}, r"m\.jsonl:2: missing field 'answer'"),
    ({"options": ["x", "y"], "answer": 0}, r"m\.jsonl:2: missing field 'question'"),
    ({"id": "ok-1", "question": "Q?", "options": ["x", "y"], "answer": 0}, r"m\.jsonl:2: duplicate id 'ok-1'"),
    ({"question": "Q?", "options": {"A": "B", "B": "C", "C": "D"}, "answer": "B"},
     r"m\.jsonl:2: answer 'B' is ambiguous \(field 'answer': as key it names option B, as text it names option A\)"),
    ({"question": "Q?", "options": [{"aid": 1, "atext": "x"}, {"aid": 2, "atext": "y"}], "answer": 1},
     r"m\.jsonl:2: answer 1 is ambiguous \(field 'answer': as key it names option 1, as index it names option 2\)"),
    ({"question": "Q?", "options": [{"aid": 1}, {"aid": 2, "atext": "y"}], "answer": 1},
     r"m\.jsonl:2: option 0 is an object without a key .* and a text"),
    ({"question": "Q?", "options": {"A": "x", "B": "y"}, "answer": "C"}, r"answer 'C' is not an option key"),
    ({"question": {"stem": "Q?"}, "options": ["x", "y"], "answer": 0},
     r"m\.jsonl:2: field 'question' must be a string, got dict; expected .*question\.stem"),
    ({"goal": "Q?", "sol1": "x", "sol2": "y"},
     r"m\.jsonl:2: missing field 'question' \(the record has: goal, sol1, sol2\); expected one JSON object"),
    ({"version": "1.0", "exams": {}}, r"m\.jsonl:2: this is HEAD-QA's own JSON .*--format headqa"),
])
def test_mcqa_errors_name_file_and_line(tmp_path, row, message):
    good = {"id": "ok-1", "question": "Q?", "options": ["x", "y"], "answer": 0}
    with pytest.raises(DataError, match=message):
        load_mcqa_jsonl(_jsonl(tmp_path / "m.jsonl", [good, row]))


def test_mcqa_bad_json_line_and_answer_base(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"question": "Q?", "options": ["x", "y"], "answer": 0}\n\n{"question": \n')
    with pytest.raises(DataError, match=r"m\.jsonl:3: invalid JSON"):
        load_mcqa_jsonl(path)
    with pytest.raises(ConfigError, match="--answer-base"):
        load_mcqa_jsonl(path, answer_base=2)
    with pytest.raises(ConfigError, match="--answer-as"):
        load_mcqa_jsonl(path, answer_as="letter")


def test_mcqa_reads_a_json_array_with_line_numbers(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('[\n  {"question": "Q?", "options": ["x", "y"], "answer": 0},\n\n'
                    '  {"question": "R?", "options": ["x", "y"], "answer": 5}\n]\n')
    with pytest.raises(DataError, match=r"m\.json:4: answer 5 is not"):
        load_mcqa_jsonl(path)
    path.write_text('[{"question": "Q?", "options": ["x", "y"], "answer": 1}]')
    assert [r["answer"] for r in load_mcqa_jsonl(path)] == ["B"]


# ---- headqa --------------------------------------------------------------------------------------

def test_headqa_exact_output_ids_unique_across_exams_ra_names_an_aid():
    rows = load_headqa(FIXTURES / "headqa" / "headqa.json")
    assert [r["id"] for r in rows] == ["Cuaderno_2016_1_M-1", "Cuaderno_2016_1_M-2", "Cuaderno_2016_1_E-1"]
    assert rows[0] == {"id": "Cuaderno_2016_1_M-1", "type": "mcqa", "question": "Which drug is a loop diuretic?",
                       "options": {"1": "Spironolactone.", "2": "Hydrochlorothiazide.", "3": "Furosemide.",
                                   "4": "Acetazolamide."}, "answer": "3"}
    # answers listed out of aid order: `ra` names the aid, not a position
    assert rows[2]["options"] == {"2": "60-100", "1": "30-50", "3": "120-160"}
    assert rows[2]["options"][rows[2]["answer"]] == "60-100"
    validate_examples(rows, "headqa", "mcqa")


@pytest.mark.parametrize("doc, message", [
    ({"data": []}, r"h\.json: expected HEAD-QA JSON.*got an object with data"),
    ([], r"h\.json: expected HEAD-QA JSON.*got list"),
    ({"exams": {"E": {"data": {}}}}, r"exams\['E'\]: field 'data' must be a list"),
    ({"exams": {"E": {"data": [{"qid": "1", "qtext": "Q", "ra": "9",
                                "answers": [{"aid": 1, "atext": "a"}, {"aid": 2, "atext": "b"}]}]}}},
     r"exams\['E'\]\.data\[0\]: field 'ra' = '9' names no answer \(aids: 1, 2\)"),
    ({"exams": {"E": {"data": [{"qid": "1", "qtext": "Q", "ra": "1",
                                "answers": [{"aid": 1, "atext": "a"}, {"aid": 1, "atext": "b"}]}]}}},
     r"data\[0\]\.answers\[1\]: aid '1' is given twice"),
    ({"exams": {"E": {"data": [{"qid": "1", "qtext": "Q", "ra": "1",
                                "answers": [{"aid": 1, "atext": "a"}, {"aid": 2}]}]}}},
     r"data\[0\]\.answers\[1\]: missing field 'atext'"),
    ({"exams": {"E": {"data": [{"qid": "1", "qtext": "Q", "answers": []}]}}},
     r"data\[0\]: field 'answers' must be a list of at least two"),
    ({"exams": {"E": {"data": []}}}, r"h\.json: no questions"),
])
def test_headqa_errors_name_the_question_and_field(tmp_path, doc, message):
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=message):
        load_headqa(path)
