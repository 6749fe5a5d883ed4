"""i2b2/VA 2010 concepts and relations (problems, tests, treatments; TrAP, TeRP, PIP, ...).

Layout (as distributed): `txt/NAME.txt`, `concept/NAME.con`, optionally `rel/NAME.rel`.

    concept/NAME.con:  c="chest pain" 2:5 2:6||t="problem"
    rel/NAME.rel:      c="nitroglycerin" 4:3 4:3||r="TrAP"||c="chest pain" 4:5 4:6

`2:5` is line 2 (1-based) token 5 (0-based, tokens = whitespace-split words of that line); the
end token is inclusive. These are converted to character offsets into the whole note (its lines
joined by newlines, as stored). The quoted concept text must match those tokens (case and
spacing ignored: the distributed `.con` files are lower-cased).
"""

from __future__ import annotations

import re
from pathlib import Path

from clinical_mpt.data.loaders.chunking import check_chunk_options, chunk_examples
from clinical_mpt.data.loaders.common import log, read_text
from clinical_mpt.errors import ConfigError, DataError

_POS = r"(\d{1,9}):(\d{1,9}) (\d{1,9}):(\d{1,9})"
CONCEPT_LINE = re.compile(rf'c="(.*)" {_POS}\|\|t="([^"]*)"', re.ASCII)
RELATION_LINE = re.compile(rf'c="(.*?)" {_POS}\|\|r="([^"]*)"\|\|c="(.*)" {_POS}', re.ASCII)


def token_index(text: str) -> list[list[tuple[int, int]]]:
    """For each line (split on '\\n'), the (start, end) document offsets of its whitespace tokens."""
    index, offset = [], 0
    for line in text.split("\n"):
        index.append([(offset + m.start(), offset + m.end()) for m in re.finditer(r"\S+", line)])
        offset += len(line) + 1
    return index


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _span(mention: str, pos: tuple[str, ...], where: str, text: str, index) -> tuple[int, int]:
    """Character (start, end) of the tokens `pos` = (line1, tok1, line2, tok2); checks `mention`."""
    (l1, t1), (l2, t2) = (int(pos[0]), int(pos[1])), (int(pos[2]), int(pos[3]))
    for line, tok in ((l1, t1), (l2, t2)):
        if not 1 <= line <= len(index):
            raise DataError(f"{where}: line {line} is outside the text ({len(index)} lines)")
        if not tok < len(index[line - 1]):
            raise DataError(f"{where}: token {line}:{tok} is outside the text (line {line} has "
                            f"{len(index[line - 1])} tokens)")
    start, end = index[l1 - 1][t1][0], index[l2 - 1][t2][1]
    if end <= start:
        raise DataError(f"{where}: span {l1}:{t1} {l2}:{t2} ends before it starts")
    if _norm(mention) != _norm(text[start:end]):
        raise DataError(f"{where}: concept {mention!r} does not match the text at {l1}:{t1} {l2}:{t2} "
                        f"({text[start:end]!r})")
    return start, end


def _lines(path: Path):
    """(where, stripped line) for every non-blank line of a .con / .rel file (a byte-order mark is
    dropped: these files hold token positions, not character offsets)."""
    for lineno, line in enumerate(read_text(path, allow_empty=True, strip_bom=True).split("\n"), start=1):
        if line.strip():
            yield f"{path}:{lineno}", line.strip()


def parse_concepts(con: Path, text: str, index) -> list[dict]:
    """The canonical entities of one `.con` file, sorted by offset."""
    entities = []
    for where, line in _lines(con):
        m = CONCEPT_LINE.fullmatch(line)
        if not m:
            raise DataError(f"{where}: malformed concept line; expected c=\"TEXT\" L:T L:T||t=\"TYPE\"")
        start, end = _span(m.group(1), m.groups()[1:5], where, text, index)
        entities.append({"type": m.group(6), "start": start, "end": end, "text": text[start:end]})
    return sorted(entities, key=lambda e: (e["start"], e["end"], e["type"]))


def parse_relations(rel: Path, text: str, index, entities: list[dict]) -> list[dict]:
    """The canonical relations of one `.rel` file; both arguments must be concepts of the note."""
    types = {(e["start"], e["end"]): e["type"] for e in entities}
    relations = []
    for where, line in _lines(rel):
        m = RELATION_LINE.fullmatch(line)
        if not m:
            raise DataError(f"{where}: malformed relation line; expected "
                            "c=\"TEXT\" L:T L:T||r=\"TYPE\"||c=\"TEXT\" L:T L:T")
        args = []
        for mention, pos in ((m.group(1), m.groups()[1:5]), (m.group(7), m.groups()[7:11])):
            start, end = _span(mention, pos, where, text, index)
            if (start, end) not in types:
                raise DataError(f"{where}: relation argument {mention!r} is not a concept of the note")
            args.append({"text": text[start:end], "type": types[start, end], "start": start, "end": end})
        relations.append({"type": m.group(6), "head": args[0], "tail": args[1]})
    return relations


def load_i2b2_2010(path: Path, type_: str = "ner", chunk: str | None = None,
                   max_chars: int | None = None) -> list[dict]:
    """One canonical `ner` (or `re`) example per note in `path/txt/` (id = file name without .txt).

    `ner`: {id, type, text, entities: [{type, start, end, text}]}.
    `re`:  {id, type, text, relations: [{type, head: {text, type, start, end}, tail}], entities};
           a note without `rel/NAME.rel` has no relations. `chunk`/`max_chars` as for BRAT.
    """
    if type_ not in ("ner", "re"):
        raise ConfigError(f"--type must be ner or re for i2b2-2010, got {type_!r}")
    check_chunk_options(chunk, max_chars)
    path = Path(path)
    if not (path / "txt").is_dir() or not (path / "concept").is_dir():
        raise DataError(f"{path}: expected a folder with txt/ and concept/ subfolders (i2b2 2010 layout)")
    if type_ == "re" and not (path / "rel").is_dir():
        raise DataError(f"{path}: no rel/ subfolder, which --type re needs")
    notes = sorted((path / "txt").glob("*.txt"))
    if not notes:
        raise DataError(f"{path / 'txt'}: no .txt files found")
    examples = []
    for txt in notes:
        text = read_text(txt)
        index = token_index(text)
        con = path / "concept" / f"{txt.stem}.con"
        if not con.is_file():
            raise DataError(f"{txt}: no matching concept file {con}")
        ex = {"id": txt.stem, "type": type_, "text": text, "entities": parse_concepts(con, text, index)}
        rel = path / "rel" / f"{txt.stem}.rel"
        if type_ == "re":
            ex["relations"] = parse_relations(rel, text, index, ex["entities"]) if rel.is_file() else []
        examples.append(ex)
    examples, dropped = chunk_examples(examples, chunk, max_chars)
    if dropped:
        log.warning(f"{path}: dropped {dropped} relation(s) whose arguments fell in different chunks")
    return examples
