"""Summarization pairs in JSONL: {"id": ..., "text": "the note", "summary": "its summary"}.

Column names are configurable (`text_field`, `summary_field`, `id_field`); a missing or empty id
becomes "{file stem}-{row}" (row = 1-based position among the examples).
"""

from __future__ import annotations

from pathlib import Path

from clinical_mpt.data.loaders.common import claim_id, get_id, log, lookup, need_str, read_json_lines
from clinical_mpt.errors import DataError


def layout(text_field: str, summary_field: str) -> str:
    return (f"a record with the fields '{text_field}' and '{summary_field}' "
            "(name others with --text-field and --summary-field)")


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def has_empty(record: dict, fields: tuple[str, ...]) -> bool:
    """True when one of `fields` is missing, null or only whitespace (a gap `--skip-empty` drops)."""
    return any(is_blank(lookup(record, f)) for f in fields)


def summary_example(record: dict, where: str, fallback_id: str, text_field: str,
                    summary_field: str, id_field: str) -> dict:
    """One canonical `summarization` example {id, type, text, summary} from a record (JSON or CSV row)."""
    expected = layout(text_field, summary_field)
    for field in (text_field, summary_field):
        value = lookup(record, field)
        if isinstance(value, str) and not value.strip():
            raise DataError(f"{where}: field '{field}' is empty (--skip-empty drops such rows and counts them)")
    return {
        "id": get_id(record, id_field, where, fallback=fallback_id),
        "type": "summarization",
        "text": need_str(record, text_field, where, expected),
        "summary": need_str(record, summary_field, where, expected),
    }


def report_skipped(path: Path, skipped: int, fields: tuple[str, str]) -> None:
    if skipped:
        log.warning(f"{path}: skipped {skipped} row(s) with an empty '{fields[0]}' or '{fields[1]}' (--skip-empty)")


def load_summarization_jsonl(path: Path, text_field: str = "text", summary_field: str = "summary",
                             id_field: str = "id", skip_empty: bool = False) -> list[dict]:
    """Canonical `summarization` examples, one per JSONL line (or element of a JSON array).

    `skip_empty` drops records whose text or summary is missing or blank, and reports how many."""
    path = Path(path)
    examples, seen, skipped = [], set(), 0
    for row, (lineno, obj) in enumerate(read_json_lines(path, layout(text_field, summary_field)), start=1):
        where = f"{path}:{lineno}"
        if skip_empty and has_empty(obj, (text_field, summary_field)):
            skipped += 1
            continue
        ex = summary_example(obj, where, f"{path.stem}-{row}", text_field, summary_field, id_field)
        claim_id(ex["id"], seen, where)
        examples.append(ex)
    if not examples:
        raise DataError(f"{path}: no records with both '{text_field}' and '{summary_field}' ({skipped} skipped)")
    report_skipped(path, skipped, (text_field, summary_field))
    return examples
