"""Helpers every loader shares: strict UTF-8 reading, JSON parsing, field access and id checks.

Every function here raises `DataError` with a message that names the file and, where one exists,
the line (`notes.jsonl:12: ...`), so a user can open the file at the right place.
"""

from __future__ import annotations

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


def read_json_lines(path: Path) -> list[tuple[int, dict]]:
    """The objects of a JSONL file with their 1-based line numbers; blank lines are skipped."""
    path = Path(path)
    rows = []
    for lineno, line in enumerate(read_text(path, strip_bom=True).split("\n"), start=1):
        if not line.strip():
            continue
        obj = parse_json(line, f"{path}:{lineno}")
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        rows.append((lineno, obj))
    return rows


def need_str(obj: dict, field: str, where: str) -> str:
    """`obj[field]`, which must be a non-empty string."""
    if field not in obj or obj[field] is None:
        raise DataError(f"{where}: missing field '{field}'")
    value = obj[field]
    if not isinstance(value, str):
        raise DataError(f"{where}: field '{field}' must be a string, got {type(value).__name__}")
    if not value.strip():
        raise DataError(f"{where}: field '{field}' is empty")
    return value


def get_id(obj: dict, field: str, where: str, fallback: str | None = None) -> str:
    """The example id from `obj[field]` (a string or an integer); `fallback` if it is missing/empty."""
    value = obj.get(field)
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
