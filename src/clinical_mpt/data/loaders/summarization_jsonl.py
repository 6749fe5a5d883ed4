"""Summarization pairs in JSONL: {"id": ..., "text": "the note", "summary": "its summary"}.

Column names are configurable (`text_field`, `summary_field`, `id_field`); a missing or empty id
becomes "{file stem}-{row}" (row = 1-based position among the examples).
"""

from __future__ import annotations

from pathlib import Path

from clinical_mpt.data.loaders.common import claim_id, get_id, need_str, read_json_lines


def summary_example(record: dict, where: str, fallback_id: str, text_field: str,
                    summary_field: str, id_field: str) -> dict:
    """One canonical `summarization` example {id, type, text, summary} from a record (JSON or CSV row)."""
    return {
        "id": get_id(record, id_field, where, fallback=fallback_id),
        "type": "summarization",
        "text": need_str(record, text_field, where),
        "summary": need_str(record, summary_field, where),
    }


def load_summarization_jsonl(path: Path, text_field: str = "text", summary_field: str = "summary",
                             id_field: str = "id") -> list[dict]:
    """Canonical `summarization` examples, one per JSONL line."""
    path = Path(path)
    examples, seen = [], set()
    for row, (lineno, obj) in enumerate(read_json_lines(path), start=1):
        where = f"{path}:{lineno}"
        ex = summary_example(obj, where, f"{path.stem}-{row}", text_field, summary_field, id_field)
        claim_id(ex["id"], seen, where)
        examples.append(ex)
    return examples
