"""Helpers every loader shares: strict UTF-8 reading, JSON parsing, field access and id checks.

Every function here raises `DataError` with a message that names the file and, where one exists,
the line (`notes.jsonl:12: ...`), so a user can open the file at the right place.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from clinical_mpt.data.jsonl import parse_json  # noqa: F401  (re-exported for the loaders)
from clinical_mpt.errors import DataError

# Loaders report what they skipped (unanswerable questions, relations split by chunking) here;
# with no logging configured, Python prints warnings to stderr.
log = logging.getLogger("clinical_mpt.data")


def decode_utf8(raw: bytes, path: Path) -> str:
    """Decode `raw` as UTF-8 or raise DataError naming `path:line` of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 ({e.reason} at byte {e.start})") from None


def read_text(path: Path, *, allow_empty: bool = False, strip_bom: bool = False) -> str:
    """The file's text, exactly as stored (CRLF kept, as `open(newline='')` would).

    Character offsets into the returned string are the offsets annotation tools write. A leading
    byte-order mark is dropped only if `strip_bom` (for JSON and CSV, never for annotated text, whose
    offsets count it). A file with nothing but whitespace is an error unless `allow_empty`.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder; this format reads a single file")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    text = decode_utf8(raw, path)
    if strip_bom and text.startswith("\ufeff"):
        text = text[1:]
    if not allow_empty and not text.strip():
        raise DataError(f"{path}: file is empty")
    return text


_ONE_PER_LINE = "this format reads one JSON object per line (JSONL) or a JSON array of objects"


def _array_lines(text: str, n: int) -> list[int]:
    """The 1-based line each of the `n` elements of a (valid) JSON array `text` starts on."""
    decoder, lines = json.JSONDecoder(), []
    i = text.index("[") + 1
    for _ in range(n):
        while text[i] in " \t\r\n,":
            i += 1
        lines.append(text.count("\n", 0, i) + 1)
        _, i = decoder.raw_decode(text, i)
    return lines


def _is_array_file(text: str) -> bool:
    """True when the file is one JSON array spread over lines (not JSONL whose first line is a list)."""
    first = text.lstrip().split("\n", 1)[0]
    if not first.startswith("["):
        return False
    try:
        json.loads(first)
    except RecursionError:
        return False  # too deep to read either way: the line-by-line reader names the line
    except ValueError:
        return True
    return text.strip() == first.strip()


def read_json_lines(path: Path, layout: str = "one JSON object per line") -> list[tuple[int, dict]]:
    """The records of a JSONL file, or of a file holding one JSON array of objects, with the 1-based
    line each starts on; blank lines are skipped. `layout` (what one record should look like) goes
    into the error for a line that is not a record."""
    path = Path(path)
    text = read_text(path, strip_bom=True)
    if _is_array_file(text):
        records = parse_json(text, str(path), whole_file=True)
        rows = list(zip(_array_lines(text, len(records)), records))
    else:
        rows = []
        for lineno, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                rows.append((lineno, parse_json(line, f"{path}:{lineno}", hint=_ONE_PER_LINE)))
    for lineno, obj in rows:
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}; "
                            f"this format reads {layout} (or a JSON array of such objects)")
    return rows


def lookup(obj: dict, field: str):
    """`obj[field]`; a dotted name (`question.stem`) that is not itself a key walks nested objects.
    A missing field gives None."""
    if field in obj or "." not in field:
        return obj.get(field)
    value = obj
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _has(obj: dict) -> str:
    names = list(obj)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"the record has: {shown}" if names else "the record is empty"


def missing(obj: dict, field: str, where: str, layout: str = "") -> DataError:
    """The error for a field that is absent (or null): names it, what the record has, and the layout."""
    expected = f"; expected {layout}" if layout else ""
    return DataError(f"{where}: missing field '{field}' ({_has(obj)}){expected}")


def need_str(obj: dict, field: str, where: str, layout: str = "") -> str:
    """`obj[field]` (dotted names walk nested objects), which must be a non-empty string."""
    value = lookup(obj, field)
    if value is None:
        raise missing(obj, field, where, layout)
    expected = f"; expected {layout}" if layout else ""
    if not isinstance(value, str):
        raise DataError(f"{where}: field '{field}' must be a string, got {type(value).__name__}{expected}")
    if not value.strip():
        raise DataError(f"{where}: field '{field}' is empty")
    return value


def get_id(obj: dict, field: str, where: str, fallback: str | None = None) -> str:
    """The example id from `obj[field]` (a string or an integer); `fallback` if it is missing/empty."""
    value = lookup(obj, field)
    if value is None or value == "":
        if fallback is None:
            raise DataError(f"{where}: missing id field '{field}'")
        return fallback
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataError(f"{where}: id field '{field}' must be a string or integer, got {type(value).__name__}")
    return str(value)


def claim_id(ex_id: str, seen: set[str], where: str) -> str:
    """Record `ex_id` in `seen`; a repeated id is an error."""
    if ex_id in seen:
        raise DataError(f"{where}: duplicate id {ex_id!r}")
    seen.add(ex_id)
    return ex_id


def need_int(text: str, where: str, what: str) -> int:
    """Parse a short run of ASCII digits (never a huge or non-ASCII number) or raise DataError."""
    if not re.fullmatch(r"[0-9]{1,12}", text):
        raise DataError(f"{where}: {what} must be a non-negative integer, got {text!r}")
    return int(text)
