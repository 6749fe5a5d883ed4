"""Multiple-choice QA in JSONL with configurable columns (Medbullets, MedQA, MedMCQA, HEAD-QA exports).

    {"id": "q1", "question": "...", "options": {"A": "...", "B": "..."}, "answer": "B", "context": "..."}
    {"id": "q2", "question": "...", "options": ["...", "...", "..."], "answer": 2}
    {"qid": "7", "qtext": "...", "answers": [{"aid": 1, "atext": "..."}, ...], "ra": "3"}

- options: an object {key: text}; a list of texts (keys become A, B, C, ...); a list of objects
  with a key and a text ({aid, atext}, {label, text}, {key, text}; keys kept as given); or - if
  `options_field` is a comma-separated list of columns such as "opa,opb,opc,opd" - one column per
  option (missing or empty columns are left out; keys A, B, C, ...). Numbers become strings.
- answer: an option key, an index into the options (0-based; `answer_base=1` for 1-based exports),
  or the text of exactly one option; it is normalised to the key. The loader never guesses between
  readings: with `answer_as="auto"` every reading that fits is tried (a string as a key and as an
  option text, a digit string that is neither as an index; an integer as an index and as a key)
  and a row where they name different options is refused as ambiguous. `answer_as` = "key",
  "index" or "text" reads the answer one way only (e.g. MedQA's `answer_idx` letters as keys).
- context: optional; id: optional (missing -> "{file stem}-{row}").
- Field names may be dotted to reach nested objects (CommonsenseQA: `question.stem`, `question.choices`).
- The file may also be one JSON array of such records.
"""

from __future__ import annotations

import string
from pathlib import Path

from clinical_mpt.data.loaders.common import claim_id, get_id, lookup, missing, need_str, read_json_lines
from clinical_mpt.errors import ConfigError, DataError

LETTERS = string.ascii_uppercase
ANSWER_AS = ("auto", "key", "index", "text")
OPTION_KEYS = ("aid", "label", "key", "id")      # the key of an option given as an object
OPTION_TEXTS = ("atext", "text", "option")       # ... and its text


def layout(question_field: str, options_field: str, answer_field: str) -> str:
    return (f"one JSON object per line with '{question_field}', '{options_field}' (an object, a list, or "
            f"columns 'opa,opb,...') and '{answer_field}'; name other columns with --question-field, "
            "--options-field and --answer-field (dotted names reach nested objects: question.stem)")


def _option_text(value, where: str, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"{where}: option {key} must be a string, got {type(value).__name__}")
    return str(value)


def _first(obj: dict, names: tuple[str, ...]):
    return next((obj[n] for n in names if n in obj), None)


def _from_list(values: list, where: str) -> dict[str, str]:
    """Options from a list: texts (keys A, B, ...) or objects with a key and a text field."""
    if values and all(isinstance(v, dict) for v in values):
        out = {}
        for i, v in enumerate(values):
            key, text = _first(v, OPTION_KEYS), _first(v, OPTION_TEXTS)
            if key is None or text is None or isinstance(key, bool) or not isinstance(key, (str, int)):
                raise DataError(f"{where}: option {i} is an object without a key ({', '.join(OPTION_KEYS)}) "
                                f"and a text ({', '.join(OPTION_TEXTS)}); it has: {', '.join(v) or 'nothing'}")
            if str(key) in out:
                raise DataError(f"{where}: option key {str(key)!r} is given twice")
            out[str(key)] = _option_text(text, where, str(key))
        return out
    if len(values) > len(LETTERS):
        raise DataError(f"{where}: {len(values)} options; at most {len(LETTERS)} are supported")
    return {LETTERS[i]: _option_text(v, where, LETTERS[i]) for i, v in enumerate(values)}


def _options(obj: dict, field: str, where: str, expected: str) -> dict[str, str]:
    """The option map {key: text}; at least two options."""
    value = lookup(obj, field)
    if "," in field:
        columns = [c.strip() for c in field.split(",") if c.strip()]
        raw = _from_list([lookup(obj, c) for c in columns if lookup(obj, c) not in (None, "")], where)
    elif isinstance(value, dict):
        raw = {k: _option_text(v, where, k) for k, v in value.items()}
    elif isinstance(value, list):
        raw = _from_list(value, where)
    elif value is None:
        raise missing(obj, field, where, expected)
    else:
        raise DataError(f"{where}: field '{field}' must be an object or a list of options, got "
                        f"{type(value).__name__}; expected {expected}")
    if len(raw) < 2:
        raise DataError(f"{where}: needs at least two options, got {len(raw)}")
    return raw


def _readings(answer, options: dict[str, str], base: int, answer_as: str) -> dict[str, str]:
    """{reading: option key} for every way `answer` names an option ('key', 'text', 'index')."""
    keys, out = list(options), {}
    if isinstance(answer, bool) or not isinstance(answer, (str, int)):
        return out
    raw = answer.strip() if isinstance(answer, str) else str(answer)
    if answer_as in ("auto", "key") and raw in options:
        out["key"] = raw
    if answer_as in ("auto", "text") and isinstance(answer, str):
        texts = [k for k, v in options.items() if v.strip() == raw]
        if texts:
            out["text"] = texts[0] if len(texts) == 1 else texts
    string_index = isinstance(answer, str) and not out  # a digit string is an index only if nothing else fits
    as_index = answer_as == "index" or (answer_as == "auto" and (isinstance(answer, int) or string_index))
    if as_index and raw.isascii() and raw.isdigit() and len(raw) < 10 and 0 <= int(raw) - base < len(keys):
        out["index"] = keys[int(raw) - base]
    return out


def _answer_key(answer, options: dict[str, str], base: int, answer_as: str, where: str, field: str) -> str:
    """Normalise an answer given as key, index or option text to the option key; never guess."""
    readings = _readings(answer, options, base, answer_as)
    if isinstance(readings.get("text"), list):
        raise DataError(f"{where}: answer {answer!r} matches several options {readings['text']}; "
                        "give the answer as a key instead (e.g. --answer-field answer_idx)")
    named = sorted(set(readings.values()))
    if len(named) > 1:
        ways = ", ".join(f"as {how} it names option {key}" for how, key in readings.items())
        raise DataError(f"{where}: answer {answer!r} is ambiguous (field '{field}': {ways}); say how to "
                        "read it with --answer-as key|index|text, or use a column of option keys "
                        "(e.g. --answer-field answer_idx)")
    if named:
        return named[0]
    how = {"auto": f"an option key, a {base}-based index or the text of an option",
           "key": "an option key", "index": f"a {base}-based index", "text": "the text of an option"}[answer_as]
    raise DataError(f"{where}: answer {answer!r} is not {how} (field '{field}'; options: {', '.join(options)})")


def load_mcqa_jsonl(path: Path, question_field: str = "question", options_field: str = "options",
                    answer_field: str = "answer", context_field: str = "context", id_field: str = "id",
                    answer_base: int = 0, answer_as: str = "auto") -> list[dict]:
    """Canonical `mcqa` examples: {id, type, question, options: {key: text}, answer: key, context?}."""
    path = Path(path)
    if answer_base not in (0, 1):
        raise ConfigError(f"--answer-base must be 0 or 1, got {answer_base}")
    if answer_as not in ANSWER_AS:
        raise ConfigError(f"--answer-as must be one of {', '.join(ANSWER_AS)}, got {answer_as!r}")
    expected = layout(question_field, options_field, answer_field)
    examples, seen = [], set()
    for row, (lineno, obj) in enumerate(read_json_lines(path, expected), start=1):
        where = f"{path}:{lineno}"
        if "exams" in obj and lookup(obj, question_field) is None:
            raise DataError(f"{where}: this is HEAD-QA's own JSON (a field 'exams'); read it with --format headqa")
        ex = {"id": get_id(obj, id_field, where, fallback=f"{path.stem}-{row}"), "type": "mcqa",
              "question": need_str(obj, question_field, where, expected)}
        ex["options"] = _options(obj, options_field, where, expected)
        if lookup(obj, answer_field) is None:
            raise missing(obj, answer_field, where, expected)
        ex["answer"] = _answer_key(lookup(obj, answer_field), ex["options"], answer_base, answer_as, where,
                                   answer_field)
        if lookup(obj, context_field) not in (None, ""):
            ex["context"] = need_str(obj, context_field, where)
        claim_id(ex["id"], seen, where)
        examples.append(ex)
    return examples
