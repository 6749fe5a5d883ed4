"""HEAD-QA in its own JSON (Vilares & Gomez-Rodriguez 2019; the files `HEAD_EN/dev_HEAD_EN.json` etc.).

    {"version": "1.0", "language": "en", "exams": {
        "Cuaderno_2015_1_B": {"name": ..., "data": [
            {"qid": "1", "qtext": "...", "ra": "4", "image": "",
             "answers": [{"aid": 1, "atext": "..."}, {"aid": 2, "atext": "..."}, ...]}]}}}

One canonical `mcqa` example per question: id "{exam}-{qid}" (`qid` restarts in every exam), options
keyed by `aid` (as strings, in the order given), answer = the option whose `aid` is `ra` (`ra` names an
aid; it is not a position). Errors name the JSON path of the question (`exams['X'].data[3]`).
For the same questions flattened one per line, use `mcqa-jsonl` (its options may be a list of
{aid, atext} objects).
"""

from __future__ import annotations

from pathlib import Path

from clinical_mpt.data.loaders.common import claim_id, get_id, missing, need_str, parse_json, read_text
from clinical_mpt.errors import DataError

LAYOUT = ("HEAD-QA JSON: {\"exams\": {NAME: {\"data\": [{\"qid\", \"qtext\", \"ra\", "
          "\"answers\": [{\"aid\", \"atext\"}]}]}}}")


def _options(question: dict, where: str) -> dict[str, str]:
    """{str(aid): atext} in the order given; aids unique, texts non-empty."""
    answers = question.get("answers")
    if answers is None:
        raise missing(question, "answers", where, LAYOUT)
    if not isinstance(answers, list) or len(answers) < 2:
        raise DataError(f"{where}: field 'answers' must be a list of at least two {{aid, atext}} objects")
    options: dict[str, str] = {}
    for i, ans in enumerate(answers):
        at = f"{where}.answers[{i}]"
        if not isinstance(ans, dict):
            raise DataError(f"{at}: expected an object {{aid, atext}}, got {type(ans).__name__}")
        aid = get_id(ans, "aid", at)
        if aid in options:
            raise DataError(f"{at}: aid {aid!r} is given twice")
        options[aid] = need_str(ans, "atext", at, LAYOUT)
    return options


def _exams(doc, path: Path) -> dict:
    if isinstance(doc, dict) and isinstance(doc.get("exams"), dict):
        return doc["exams"]
    got = f"an object with {', '.join(list(doc)[:6]) or 'no fields'}" if isinstance(doc, dict) else type(doc).__name__
    raise DataError(f"{path}: expected {LAYOUT}; got {got}")


def load_headqa(path: Path) -> list[dict]:
    """Canonical `mcqa` examples {id, type, question, options: {aid: text}, answer: aid}, exam by exam."""
    path = Path(path)
    doc = parse_json(read_text(path, strip_bom=True), str(path), whole_file=True,
                     hint=f"this format reads one {LAYOUT} file")
    examples, seen = [], set()
    for exam, body in _exams(doc, path).items():
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise DataError(f"{path}: exams[{exam!r}]: field 'data' must be a list of questions; expected {LAYOUT}")
        for j, question in enumerate(body["data"]):
            where = f"{path}: exams[{exam!r}].data[{j}]"
            if not isinstance(question, dict):
                raise DataError(f"{where}: expected a question object, got {type(question).__name__}")
            qid = get_id(question, "qid", where)
            options = _options(question, where)
            ra = get_id(question, "ra", where)
            if ra not in options:
                raise DataError(f"{where}: field 'ra' = {ra!r} names no answer (aids: {', '.join(options)})")
            ex_id = claim_id(f"{exam}-{qid}", seen, where)
            examples.append({"id": ex_id, "type": "mcqa", "question": need_str(question, "qtext", where, LAYOUT),
                             "options": options, "answer": ra})
    if not examples:
        raise DataError(f"{path}: no questions in any exam")
    return examples
