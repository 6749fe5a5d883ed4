"""Reading and atomically writing JSONL files, with errors that name the file and line."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

from clinical_mpt.errors import DataError

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_json(text: str, where: str, *, whole_file: bool = False, hint: str = ""):
    """`json.loads(text)`, with every failure turned into a DataError naming `where`
    (`where:line` for a syntax error if `whole_file`, i.e. `text` is a whole multi-line file);
    `hint` (the layout the caller expected) is appended to a syntax error.

    Besides syntax errors this catches integers too long to convert, nesting too deep to parse,
    and `\\ud800`-style escapes that decode to lone surrogates (which cannot be written as UTF-8).
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        where = f"{where}:{e.lineno}" if whole_file else where
        hint = f"; {hint}" if hint else ""
        raise DataError(f"{where}: invalid JSON ({e.msg} at column {e.colno}){hint}") from None
    except (ValueError, RecursionError) as e:
        raise DataError(f"{where}: invalid JSON ({type(e).__name__}: {str(e)[:80]})") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise DataError(f"{where}: a \\u escape encodes a lone surrogate (not valid text)") from None
    return obj


def read_jsonl(path: str | Path) -> list[dict]:
    """Return the objects of a JSONL file (blank lines skipped).

    Raises DataError naming `path:line` for undecodable bytes, invalid JSON, or a non-object line,
    and for a file with no examples at all.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    rows = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}:{lineno}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
            if not line.strip():
                continue
            obj = parse_json(line, f"{path}:{lineno}")
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            rows.append(obj)
    if not rows:
        raise DataError(f"{path}: file is empty (no examples)")
    return rows


def _file_mode() -> int:
    """The mode a plain open() would give a new file (0o666 minus the umask), read once at import."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()


def temp_beside(path: Path) -> str:
    """A new temporary file in `path`'s folder (for an atomic os.replace onto `path`), with the
    permissions a normally created file gets (mkstemp alone would leave it readable by its owner only)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, FILE_MODE)
    return tmp


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` via a temporary file in the same folder and an atomic rename.

    Readers never see a half-written file; on any failure the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(path)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    """Atomically write `rows` as JSONL (UTF-8, one object per line, non-ASCII kept)."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def write_json(path: str | Path, obj) -> None:
    """Atomically write `obj` as indented JSON."""
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
