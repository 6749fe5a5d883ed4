"""Summarization pairs in a CSV file with a header row (e.g. a spreadsheet export of notes).

    id,text,summary
    n1,"Patient seen for cough.
    Chest clear.","Cough, clear chest."

Read with Python's `csv` module: quoted fields may hold commas, doubled quotes and newlines. The
file must be UTF-8 (a byte-order mark is allowed). Columns are configurable as for
`summarization-jsonl`; a missing or empty id becomes "{file stem}-{row}" (row = 1-based data row).
Errors name the line the record starts on and its row: `notes.csv:7 (row 3): ...`. Real exports
have empty cells (the IU X-ray reports leave `findings` empty in about one row in eight):
`skip_empty` (`--skip-empty`) drops those rows and reports the count on stderr.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from clinical_mpt.data.loaders.common import claim_id, read_text
from clinical_mpt.data.loaders.summarization_jsonl import has_empty, report_skipped, summary_example
from clinical_mpt.errors import DataError


def _records(path: Path, required: tuple[str, ...]):
    """Yield (line the record starts on, data row number, {column: value}) for every non-blank row.

    The first non-blank row is the header; it must name every column in `required`."""
    reader = csv.reader(io.StringIO(read_text(path, strip_bom=True), newline=""), strict=True)
    row, header = 0, None
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DataError(f"{path}:{start}: malformed CSV ({e})") from None
        if not any(f.strip() for f in fields):
            continue
        if header is None:
            header = [f.strip() for f in fields]
            if len(set(header)) != len(header):
                raise DataError(f"{path}:{start}: the header repeats a column name")
            missing = [c for c in required if c not in header]
            if missing:
                raise DataError(f"{path}:{start}: no column '{missing[0]}' in the header ({', '.join(header)})")
            continue
        row += 1
        if len(fields) != len(header):
            raise DataError(f"{path}:{start} (row {row}): {len(fields)} fields, but the header has {len(header)}")
        yield start, row, dict(zip(header, fields))


def load_csv(path: Path, text_field: str = "text", summary_field: str = "summary",
             id_field: str = "id", skip_empty: bool = False) -> list[dict]:
    """Canonical `summarization` examples, one per data row.

    `skip_empty` drops rows whose text or summary cell is empty, and reports how many."""
    path = Path(path)
    examples, seen, skipped = [], set(), 0
    for line, row, record in _records(path, (text_field, summary_field)):
        where = f"{path}:{line} (row {row})"
        if skip_empty and has_empty(record, (text_field, summary_field)):
            skipped += 1
            continue
        ex = summary_example(record, where, f"{path.stem}-{row}", text_field, summary_field, id_field)
        claim_id(ex["id"], seen, where)
        examples.append(ex)
    if not examples:
        raise DataError(f"{path}: no data rows (only a header)" if not skipped else
                        f"{path}: every row has an empty '{text_field}' or '{summary_field}' ({skipped} skipped)")
    report_skipped(path, skipped, (text_field, summary_field))
    return examples
