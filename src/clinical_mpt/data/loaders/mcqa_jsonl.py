"""Multiple-choice QA in JSONL with configurable columns (Medbullets, HeadQA, MedQA, MedMCQA exports).

    {"id": "q1", "question": "...", "options": {"A": "...", "B": "..."}, "answer": "B", "context": "..."}
    {"id": "q2", "question": "...", "options": ["...", "...", "..."], "answer": 2}

- options: an object {key: text}, a list (keys become A, B, C, ...), or - if `options_field` is a
  comma-separated list of columns such as "opa,opb,opc,opd" - one column per option (missing or
  empty columns are left out; keys A, B, C, ...). Numeric option texts are turned into strings.
- answer: an option key, an index into the options (0-based; `answer_base=1` for 1-based exports
  such as HeadQA's `ra`), or the text of exactly one option. It is normalised to the key.
- context: optional; id: optional (missing -> "{file stem}-{row}").
"""

from __future__ import annotations

import string
from pathlib import Path

from clinical_mpt.data.loaders.common import claim_id, get_id, need_str, read_json_lines
from clinical_mpt.errors import ConfigError, DataError

LETTERS = string.ascii_uppercase


def _option_text(value, where: str, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"{where}: option {key} must be a string, got {type(value).__name__}")
    return str(value)


def _lettered(values: list, where: str) -> dict[str, str]:
    if len(values) > len(LETTERS):
        raise DataError(f"{where}: {len(values)} options; at most {len(LETTERS)} are supported")
    return {LETTERS[i]: _option_text(v, where, LETTERS[i]) for i, v in enumerate(values)}


def _options(obj: dict, field: str, where: str) -> dict[str, str]:
    """The option map {key: text}; at least two options."""
    if "," in field:
        columns = [c.strip() for c in field.split(",") if c.strip()]
        raw = _lettered([obj[c] for c in columns if obj.get(c) not in (None, "")], where)
    elif isinstance(obj.get(field), dict):
        raw = {k: _option_text(v, where, k) for k, v in obj[field].items()}
    elif isinstance(obj.get(field), list):
        raw = _lettered(obj[field], where)
    elif field not in obj:
        raise DataError(f"{where}: missing field '{field}'")
    else:
        raise DataError(f"{where}: field '{field}' must be an object or a list of options")
    if len(raw) < 2:
        raise DataError(f"{where}: needs at least two options, got {len(raw)}")
    return raw


def _answer_key(answer, options: dict[str, str], base: int, where: str) -> str:
    """Normalise an answer given as key, index or option text to the option key."""
    keys = list(options)
    index = None
    if isinstance(answer, str):
        if answer.strip() in options:
            return answer.strip()
        matches = [k for k, v in options.items() if v.strip() == answer.strip()]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise DataError(f"{where}: answer {answer!r} matches several options {matches}")
        if answer.strip().isascii() and answer.strip().isdigit() and len(answer.strip()) < 10:
            index = int(answer.strip())
    elif isinstance(answer, int) and not isinstance(answer, bool):
        index = answer
    if index is not None and 0 <= index - base < len(keys):
        return keys[index - base]
    raise DataError(f"{where}: answer {answer!r} is not an option key ({', '.join(keys)}), a "
                    f"{base}-based index or the text of an option")


def load_mcqa_jsonl(path: Path, question_field: str = "question", options_field: str = "options",
                    answer_field: str = "answer", context_field: str = "context", id_field: str = "id",
                    answer_base: int = 0) -> list[dict]:
    """Canonical `mcqa` examples: {id, type, question, options: {key: text}, answer: key, context?}."""
    path = Path(path)
    if answer_base not in (0, 1):
        raise ConfigError(f"--answer-base must be 0 or 1, got {answer_base}")
    examples, seen = [], set()
    for row, (lineno, obj) in enumerate(read_json_lines(path), start=1):
        where = f"{path}:{lineno}"
        ex = {"id": get_id(obj, id_field, where, fallback=f"{path.stem}-{row}"), "type": "mcqa",
              "question": need_str(obj, question_field, where)}
        ex["options"] = _options(obj, options_field, where)
        if answer_field not in obj:
            raise DataError(f"{where}: missing field '{answer_field}'")
        ex["answer"] = _answer_key(obj[answer_field], ex["options"], answer_base, where)
        if obj.get(context_field) not in (None, ""):
            ex["context"] = need_str(obj, context_field, where)
        claim_id(ex["id"], seen, where)
        examples.append(ex)
    return examples
