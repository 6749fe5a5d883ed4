"""BRAT standoff (n2c2 2018 medication extraction, n2c2 2022 and most clinical NER/RE corpora).

A corpus is a folder of `NAME.txt` (the note) + `NAME.ann` (its annotations). `.ann` lines:

    T1<TAB>Drug 120 127<TAB>aspirin                 text-bound entity
    T2<TAB>Problem 10 14;25 34<TAB>left knee pain     discontinuous: fragments joined by one space
    T3<TAB>Dose 116 125;73 82<TAB>...                 fragments may be listed high-to-low (kept in order)
    R1<TAB>Strength-Drug Arg1:T3 Arg2:T1            relation (Arg1 = head, Arg2 = tail)

Attributes (`A`, `M`), normalisations (`N`), notes (`#`), events (`E`) and equivalences (`*`)
are read past. Offsets are character offsets into the `.txt` exactly as stored (CRLF counts as
two characters), and every mention must match the text at its offsets. As in brat itself, a
fragment may not end before it starts and fragments may not overlap; a zero-width annotation
(`65 65`) is dropped, with a count on stderr. A byte-order mark at the start of an `.ann` is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from clinical_mpt.data.loaders.chunking import check_chunk_options, chunk_examples
from clinical_mpt.data.loaders.common import log, need_int, read_text
from clinical_mpt.errors import ConfigError, DataError

IGNORED_PREFIXES = ("A", "M", "N", "#", "E", "*")


@dataclass
class Relation:
    """One `R` line before its argument ids are resolved."""
    where: str
    rel_id: str
    type: str
    head: str
    tail: str


def _ws(s: str) -> str:
    return " ".join(s.split())


def _fragments(spans: str, where: str, n_chars: int) -> list[list[int]]:
    """'10 14;25 34' -> [[10, 14], [25, 34]], in the order listed (brat allows high-to-low).

    As in brat, a fragment may not end before it starts, and fragments may not overlap; each must
    lie inside the text. Zero-width fragments are returned as they are (the caller drops them)."""
    frags = []
    for piece in spans.split(";"):
        parts = piece.split()
        if len(parts) != 2:
            raise DataError(f"{where}: malformed span {piece!r}; expected 'start end' (fragments joined by ';')")
        start, end = (need_int(p, where, "an offset") for p in parts)
        if start > end:
            raise DataError(f"{where}: span {start}-{end} is reversed (ends before it starts)")
        if end > n_chars:
            raise DataError(f"{where}: span {start}-{end} is outside the text (length {n_chars})")
        frags.append([start, end])
    for (_, prev_end), (start, _) in pairwise(sorted(frags)):
        if start < prev_end:
            raise DataError(f"{where}: fragments {spans.strip()!r} overlap")
    return frags


def _entity(line: str, where: str, text: str) -> tuple[str, dict | None]:
    """Parse a `T` line into (id, canonical entity) and check its mention against the text.

    A zero-width annotation (`65 65`, which brat accepts) covers no text: its entity is None."""
    parts = line.split("\t", 2)
    if len(parts) != 3:
        raise DataError(f"{where}: malformed entity line; expected 'ID<TAB>Type start end<TAB>mention'")
    ent_id, info, mention = parts
    ent_type, _, spans = info.partition(" ")
    if not ent_type or not spans.strip():
        raise DataError(f"{where}: malformed entity line; expected 'ID<TAB>Type start end<TAB>mention'")
    frags = _fragments(spans, where, len(text))
    if any(a == b for a, b in frags):
        return ent_id.strip(), None
    covered = " ".join(text[a:b] for a, b in frags)
    # BRAT writes a newline inside a mention as a space, so compare whitespace-normalised too.
    if mention != covered and _ws(mention) != _ws(covered):
        raise DataError(f"{where}: mention {mention!r} does not match the text at {spans.strip()} ({covered!r})")
    ent = {"type": ent_type, "start": min(a for a, _ in frags), "end": max(b for _, b in frags), "text": covered}
    if len(frags) > 1:
        ent["fragments"] = frags
    return ent_id.strip(), ent


def _relation(line: str, where: str) -> Relation:
    parts = line.split("\t")
    fields = parts[1].split() if len(parts) >= 2 else []
    args = [f.partition(":") for f in fields[1:]]
    if len(fields) != 3 or not all(sep and name and ref for name, sep, ref in args):
        raise DataError(f"{where}: malformed relation line; expected 'ID<TAB>Type Arg1:T1 Arg2:T2'")
    return Relation(where, parts[0].strip(), fields[0], args[0][2], args[1][2])


def parse_ann(ann: Path, text: str) -> tuple[dict[str, dict], list[Relation], set[str], set[str]]:
    """Read one `.ann` file against its text: (entities by T id, relations, ids of other annotations,
    ids of zero-width entities, which are dropped). A leading byte-order mark is ignored."""
    entities: dict[str, dict] = {}
    relations: list[Relation] = []
    other_ids: set[str] = set()
    empty_ids: set[str] = set()
    for lineno, line in enumerate(read_text(ann, allow_empty=True, strip_bom=True).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        where = f"{ann}:{lineno}"
        if line.startswith("T"):
            ent_id, ent = _entity(line, where, text)
            if ent_id in entities or ent_id in empty_ids:
                raise DataError(f"{where}: duplicate annotation id {ent_id!r}")
            if ent is None:
                empty_ids.add(ent_id)
            else:
                entities[ent_id] = ent
        elif line.startswith("R"):
            relations.append(_relation(line, where))
        elif line.startswith(IGNORED_PREFIXES):
            other_ids.add(line.split("\t", 1)[0].strip())
        else:
            label = line.split("\t", 1)[0][:20]
            raise DataError(f"{where}: unknown annotation line {label!r} (expected an id starting with T, R, A, "
                            "E, N, M, # or *)")
    return entities, relations, other_ids, empty_ids


def _arg(ent: dict) -> dict:
    return {"text": ent["text"], "type": ent["type"], "start": ent["start"], "end": ent["end"]}


def _resolve(relations: list[Relation], entities: dict[str, dict], other_ids: set[str],
             empty_ids: set[str]) -> tuple[list[dict], int, int]:
    """Canonical relations, plus the counts skipped because an argument is not a text-bound entity
    (an event, say) and because an argument is a dropped zero-width entity."""
    out, skipped, on_empty = [], 0, 0
    for rel in relations:
        for ref in (rel.head, rel.tail):
            if ref not in entities and ref not in other_ids and ref not in empty_ids:
                raise DataError(f"{rel.where}: relation {rel.rel_id} refers to unknown entity {ref!r}")
        if rel.head in empty_ids or rel.tail in empty_ids:
            on_empty += 1
        elif rel.head not in entities or rel.tail not in entities:
            skipped += 1
        else:
            out.append({"type": rel.type, "head": _arg(entities[rel.head]), "tail": _arg(entities[rel.tail])})
    return out, skipped, on_empty


def _ann_files(path: Path) -> list[Path]:
    if path.is_file() and path.suffix == ".ann":
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: not found (expected a folder of NAME.txt + NAME.ann files)")
    files = sorted(path.glob("*.ann"))
    if not files:
        raise DataError(f"{path}: no .ann files found (expected a folder of NAME.txt + NAME.ann files)")
    return files


def load_brat(path: Path, type_: str = "ner", chunk: str | None = None, max_chars: int | None = None) -> list[dict]:
    """One canonical `ner` (or `re`) example per document (id = file name without extension).

    `ner`: {id, type, text, entities: [{type, start, end, text, fragments?}]}, entities sorted by offset.
    `re`:  {id, type, text, relations: [{type, head: {text, type, start, end}, tail: {...}}], entities}.
    `chunk` ("sentences" | "chars") with `max_chars` splits documents; see `chunking.py`.
    """
    if type_ not in ("ner", "re"):
        raise ConfigError(f"--type must be ner or re for BRAT, got {type_!r}")
    check_chunk_options(chunk, max_chars)
    path = Path(path)
    examples, skipped, empty, on_empty = [], 0, 0, 0
    for ann in _ann_files(path):
        txt = ann.with_suffix(".txt")
        if not txt.is_file():
            raise DataError(f"{ann}: no matching text file {txt.name}")
        text = read_text(txt)
        entities, relations, other_ids, empty_ids = parse_ann(ann, text)
        ex = {"id": ann.stem, "type": type_, "text": text,
              "entities": sorted(entities.values(), key=lambda e: (e["start"], e["end"], e["type"]))}
        rels, n_skipped, n_on_empty = _resolve(relations, entities, other_ids, empty_ids)  # rejects unknown ids
        empty += len(empty_ids)
        if type_ == "re":
            ex["relations"] = rels
            skipped, on_empty = skipped + n_skipped, on_empty + n_on_empty
        examples.append(ex)
    if empty:
        log.warning(f"{path}: dropped {empty} zero-width annotation(s) (start == end: they cover no text)"
                    + (f" and {on_empty} relation(s) on them" if on_empty else ""))
    if skipped:
        log.warning(f"{path}: skipped {skipped} relation(s) whose arguments are not text-bound entities (T)")
    examples, dropped = chunk_examples(examples, chunk, max_chars)
    if dropped:
        log.warning(f"{path}: dropped {dropped} relation(s) whose arguments fell in different chunks")
    return examples
