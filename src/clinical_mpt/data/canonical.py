"""The canonical example format (one JSON object per line) and its validation.

Every example has `id` (string) and `type`; `task` is optional. Fields by type:
- ner:           text, entities: [{type, start, end, text, fragments?}]  (0-based char offsets,
                 end exclusive; `fragments` [[s, e], ...] for discontinuous mentions)
- re:            text, relations: [{type, head: {text, type?, start?, end?}, tail: {...}}], entities?
- qa:            context, question, answers: [str]
- mcqa:          question, options: {key: text}, answer: key, context?
- nli:           premise, hypothesis, label in entailment / neutral / contradiction
- summarization: text, summary
"""

from __future__ import annotations

from clinical_mpt.errors import DataError

TYPES = ("ner", "re", "qa", "mcqa", "nli", "summarization")
NLI_LABELS = ("entailment", "neutral", "contradiction")

# type -> the field a prediction file carries
PREDICTION_FIELD = {
    "ner": "entities",
    "re": "relations",
    "qa": "answer",
    "mcqa": "answer",
    "nli": "label",
    "summarization": "summary",
}


def _need_str(ex: dict, key: str, where: str) -> str:
    value = ex.get(key)
    if not isinstance(value, str):
        raise DataError(f"{where}: field '{key}' must be a string, got {type(value).__name__}")
    return value


def _check_span(ent: dict, text: str, where: str) -> None:
    start, end = ent.get("start"), ent.get("end")
    if start is None and end is None:
        return
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
        raise DataError(f"{where}: entity offsets must be integers, got start={start!r} end={end!r}")
    if not 0 <= start < end <= len(text):
        raise DataError(f"{where}: entity offsets {start}-{end} are outside the text (length {len(text)})")


def _span_text(ent: dict, text: str) -> str:
    """The text an entity's offsets cover; a discontinuous entity (optional `fragments`:
    [[start, end], ...], as BRAT writes `start end;start end`) joins its fragments with a space."""
    if ent.get("fragments"):
        return " ".join(text[a:b] for a, b in ent["fragments"])
    return text[ent["start"]:ent["end"]]


def _check_entity(ent, text: str, where: str, need_type: bool) -> None:
    if not isinstance(ent, dict):
        raise DataError(f"{where}: each entity must be an object, got {type(ent).__name__}")
    if not isinstance(ent.get("text"), str):
        raise DataError(f"{where}: entity is missing its 'text' string")
    if (need_type or "type" in ent) and not isinstance(ent.get("type"), str):
        raise DataError(f"{where}: entity is missing its 'type' string")
    _check_span(ent, text, where)


def validate_example(ex, where: str, type_: str | None = None) -> dict:
    """Check one canonical example; return it unchanged or raise DataError naming `where`.

    `type_`, if given, is the expected type (an example whose `type` differs is an error).
    """
    if not isinstance(ex, dict):
        raise DataError(f"{where}: expected a JSON object")
    if not isinstance(ex.get("id"), str) or not ex["id"]:
        raise DataError(f"{where}: field 'id' must be a non-empty string")
    t = ex.get("type", type_)
    if t not in TYPES:
        raise DataError(f"{where}: unknown type {t!r}; expected one of {', '.join(TYPES)}")
    if type_ is not None and t != type_:
        raise DataError(f"{where}: type {t!r} does not match the expected type {type_!r}")
    if t == "ner":
        text = _need_str(ex, "text", where)
        if not isinstance(ex.get("entities"), list):
            raise DataError(f"{where}: field 'entities' must be a list")
        for ent in ex["entities"]:
            _check_entity(ent, text, where, need_type=True)
            if "start" in ent and _span_text(ent, text) != ent["text"]:
                raise DataError(
                    f"{where}: entity text {ent['text']!r} does not match the text at its offsets"
                    f" ({_span_text(ent, text)!r})")
    elif t == "re":
        text = _need_str(ex, "text", where)
        if not isinstance(ex.get("relations"), list):
            raise DataError(f"{where}: field 'relations' must be a list")
        for rel in ex["relations"]:
            if not isinstance(rel, dict) or not isinstance(rel.get("type"), str):
                raise DataError(f"{where}: each relation needs a 'type' string")
            for arg in ("head", "tail"):
                _check_entity(rel.get(arg), text, f"{where} (relation {arg})", need_type=False)
        for ent in ex.get("entities", []) or []:
            _check_entity(ent, text, where, need_type=True)
    elif t == "qa":
        _need_str(ex, "context", where)
        _need_str(ex, "question", where)
        answers = ex.get("answers")
        if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
            raise DataError(f"{where}: field 'answers' must be a non-empty list of strings")
    elif t == "mcqa":
        _need_str(ex, "question", where)
        options = ex.get("options")
        if not isinstance(options, dict) or len(options) < 2 or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in options.items()):
            raise DataError(f"{where}: field 'options' must map at least two keys to option texts")
        if ex.get("answer") not in options:
            raise DataError(f"{where}: answer {ex.get('answer')!r} is not one of the option keys {sorted(options)}")
        if "context" in ex:
            _need_str(ex, "context", where)
    elif t == "nli":
        _need_str(ex, "premise", where)
        _need_str(ex, "hypothesis", where)
        if ex.get("label") not in NLI_LABELS:
            raise DataError(f"{where}: unknown NLI label {ex.get('label')!r}; expected one of {', '.join(NLI_LABELS)}")
    elif t == "summarization":
        _need_str(ex, "text", where)
        _need_str(ex, "summary", where)
    return ex


def validate_examples(rows: list[dict], path: str, type_: str | None = None) -> list[dict]:
    """Validate every row of a file; ids must be unique. Errors name `path:row`."""
    seen: set[str] = set()
    for i, ex in enumerate(rows, start=1):
        validate_example(ex, f"{path}:{i}", type_)
        if ex["id"] in seen:
            raise DataError(f"{path}:{i}: duplicate id {ex['id']!r}")
        seen.add(ex["id"])
    return rows
