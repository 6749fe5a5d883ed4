"""SQuAD-form extractive QA JSON (SQuAD 1.1/2.0, and emrQA as usually distributed after conversion).

    {"data": [{"title": ..., "paragraphs": [{"context": ...,
        "qas": [{"id": ..., "question": ..., "answers": [{"text": ..., "answer_start": ...}],
                 "is_impossible": false}]}]}]}

A question with `is_impossible: true` or no answers is skipped (the count goes to stderr): the
canonical `qa` type needs at least one answer. Errors name the JSON path (`data[0].paragraphs[2]`).
"""

from __future__ import annotations

from pathlib import Path

from clinical_mpt.data.loaders.common import claim_id, get_id, log, need_str, parse_json, read_text
from clinical_mpt.errors import DataError

LAYOUT = ("SQuAD JSON {\"data\": [{\"paragraphs\": [{\"context\", \"qas\": [{\"id\", \"question\", "
          "\"answers\": [{\"text\", \"answer_start\"}]}]}]}]}")


def _list(obj, field: str, where: str) -> list:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    value = obj.get(field)
    if not isinstance(value, list):
        raise DataError(f"{where}: field '{field}' must be a list; expected {LAYOUT}")
    return value


def _answer_texts(qa: dict, where: str) -> list[str]:
    """Unique non-empty answer texts in order of appearance."""
    answers = qa.get("answers")
    if answers is None:
        return []
    if not isinstance(answers, list):
        raise DataError(f"{where}: field 'answers' must be a list")
    texts: list[str] = []
    for i, ans in enumerate(answers):
        if not isinstance(ans, dict) or not isinstance(ans.get("text"), str):
            raise DataError(f"{where}.answers[{i}]: expected an object with a 'text' string")
        if ans["text"].strip() and ans["text"] not in texts:
            texts.append(ans["text"])
    return texts


def load_squad(path: Path) -> list[dict]:
    """Canonical `qa` examples: {id: question id, type, context, question, answers: [str]}."""
    path = Path(path)
    doc = parse_json(read_text(path, strip_bom=True), str(path), whole_file=True)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(f"{path}: expected a JSON object with a 'data' list; expected {LAYOUT}")
    examples, seen, skipped = [], set(), 0
    for i, article in enumerate(doc["data"]):
        for j, para in enumerate(_list(article, "paragraphs", f"{path}: data[{i}]")):
            where = f"{path}: data[{i}].paragraphs[{j}]"
            qas = _list(para, "qas", where)
            context = need_str(para, "context", where, LAYOUT)
            for k, qa in enumerate(qas):
                qa_where = f"{where}.qas[{k}]"
                if not isinstance(qa, dict):
                    raise DataError(f"{qa_where}: expected a JSON object, got {type(qa).__name__}")
                ex_id, question = get_id(qa, "id", qa_where), need_str(qa, "question", qa_where, LAYOUT)
                answers = _answer_texts(qa, qa_where)
                if qa.get("is_impossible") is True or not answers:
                    skipped += 1
                    continue
                examples.append({"id": claim_id(ex_id, seen, qa_where), "type": "qa", "context": context,
                                 "question": question, "answers": answers})
    if not examples:
        raise DataError(f"{path}: no answerable questions ({skipped} unanswerable skipped)")
    if skipped:
        log.warning(f"{path}: skipped {skipped} unanswerable question(s)")
    return examples
