"""Split long annotated documents (canonical `ner` / `re` examples) into shorter pieces.

Clinical notes are often longer than a prompt can hold. A chunk is a contiguous piece of the
document; its entities and relations are shifted so offsets stay right within the chunk.

- `sentences`: pieces end at sentence ends (`.`, `!` or `?` followed by whitespace) or newlines;
  consecutive sentences are packed while the piece stays within `max_chars` (one sentence per
  chunk if `max_chars` is None).
- `chars`: pieces of at most `max_chars` characters, cut at whitespace where possible.

A chunk boundary never cuts an entity: a chunk that would is extended to the end of that entity
(so a chunk may exceed `max_chars`). A relation whose two arguments end up in different chunks is
dropped; `chunk_example` returns how many were.
"""

from __future__ import annotations

import bisect
import re

from clinical_mpt.errors import ConfigError

CHUNK_MODES = ("sentences", "chars")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*")
_WHITESPACE = re.compile(r"\s+")


def check_chunk_options(mode: str | None, max_chars: int | None) -> None:
    """Raise ConfigError for an unknown mode or a missing/non-positive `max_chars`."""
    if mode is None:
        if max_chars is not None:
            raise ConfigError("--max-chars needs --chunk sentences|chars")
        return
    if mode not in CHUNK_MODES:
        raise ConfigError(f"unknown chunk mode {mode!r}; expected one of {', '.join(CHUNK_MODES)}")
    if mode == "chars" and max_chars is None:
        raise ConfigError("--chunk chars needs --max-chars N")
    if max_chars is not None and max_chars < 1:
        raise ConfigError(f"--max-chars must be at least 1, got {max_chars}")


def _boundaries(text: str, mode: str) -> list[int]:
    """Sorted offsets where a chunk may end (the next chunk starts there); always ends with len(text)."""
    pattern = _SENTENCE_END if mode == "sentences" else _WHITESPACE
    ends = [m.end() for m in pattern.finditer(text) if 0 < m.end() < len(text)]
    return sorted(set(ends)) + [len(text)]


def _spans(ex: dict) -> list[tuple[int, int]]:
    """(start, end) of every entity and relation argument: the spans a boundary must not cut."""
    spans = [(e["start"], e["end"]) for e in ex.get("entities", [])]
    for rel in ex.get("relations", []):
        spans += [(rel[arg]["start"], rel[arg]["end"]) for arg in ("head", "tail")]
    return spans


def _piece_ends(text: str, mode: str, max_chars: int | None, spans: list[tuple[int, int]]) -> list[int]:
    """End offsets of consecutive pieces covering the whole text, none cutting a span."""
    bounds = _boundaries(text, mode)
    ends, start = [], 0
    while start < len(text):
        limit = start + (max_chars or 0)
        i = bisect.bisect_right(bounds, limit)
        if i > 0 and bounds[i - 1] > start:
            end = bounds[i - 1]  # the last boundary that keeps the piece within max_chars
        elif mode == "chars":
            end = min(limit, len(text))  # no whitespace in reach: hard cut
        else:
            end = bounds[bisect.bisect_right(bounds, start)]  # one sentence longer than max_chars
        while True:  # extend past every span the cut would split
            crossing = [e for s, e in spans if s < end < e]
            if not crossing:
                break
            end = max(crossing)
        ends.append(end)
        start = end
    return ends


def _shift(ent: dict, offset: int) -> dict:
    out = dict(ent, start=ent["start"] - offset, end=ent["end"] - offset)
    if "fragments" in ent:
        out["fragments"] = [[a - offset, b - offset] for a, b in ent["fragments"]]
    return out


def chunk_example(ex: dict, mode: str, max_chars: int | None) -> tuple[list[dict], int]:
    """Split one `ner`/`re` example into chunks; return (chunks, number of relations dropped).

    Each chunk keeps the example's other fields and gets `id` = "{id}-{k}" (k from 0), `doc` = the
    original id and `offset` = where the chunk starts in the original text. Leading and trailing
    whitespace is trimmed from each chunk; chunks that are only whitespace are left out.
    """
    text = ex["text"]
    spans = _spans(ex)
    chunks, dropped, start = [], 0, 0
    for end in _piece_ends(text, mode, max_chars, spans):
        inside = [(s, e) for s, e in spans if start <= s and e <= end]
        piece = text[start:end]
        lo = start + len(piece) - len(piece.lstrip())
        hi = end - len(piece) + len(piece.rstrip())
        lo = min([lo] + [s for s, _ in inside])
        hi = max([hi] + [e for _, e in inside])
        if hi > lo:
            chunk = dict(ex, id=f"{ex['id']}-{len(chunks)}", text=text[lo:hi], doc=ex["id"], offset=lo)
            if "entities" in ex:
                chunk["entities"] = [_shift(e, lo) for e in ex["entities"] if start <= e["start"] < end]
            if "relations" in ex:
                chunk["relations"] = [
                    dict(r, head=_shift(r["head"], lo), tail=_shift(r["tail"], lo)) for r in ex["relations"]
                    if all(start <= r[a]["start"] < end for a in ("head", "tail"))]
            chunks.append(chunk)
        start = end
    if "relations" in ex:
        kept = sum(len(c["relations"]) for c in chunks)
        dropped = len(ex["relations"]) - kept
    return chunks, dropped


def chunk_examples(examples: list[dict], mode: str | None, max_chars: int | None) -> tuple[list[dict], int]:
    """`chunk_example` over a list (unchanged if `mode` is None); returns (chunks, relations dropped)."""
    check_chunk_options(mode, max_chars)
    if mode is None:
        return examples, 0
    out, dropped = [], 0
    for ex in examples:
        chunks, n = chunk_example(ex, mode, max_chars)
        out += chunks
        dropped += n
    return out, dropped
