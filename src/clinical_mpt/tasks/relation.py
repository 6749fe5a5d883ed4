"""Relation extraction as text-to-text (the "re" task type; the file is not called re.py so it
never shadows the standard library's `re`).

Input:   "<instruction>\\nText: <text>\\nAnswer:"
Target:  " Strength-Drug: 500 mg -> metformin; Route-Drug: po -> metformin"   or   " none"
         (`Type: head -> tail`, relations joined by "; "; types may contain '-' and '_')
Parse:   split the first line on ";" (and on a "," that starts another `Type:` pair), drop a looping
         tail from the first repeated relation on (tasks/pairs.py), and split each piece at its first
         ":" (type) and then at its first "->" (head, tail); malformed pieces are skipped.
Score:   micro precision / recall / f1 over per-example sets of
         (normalised type, normalised head text, normalised tail text); direction matters.
Not representable: types containing ":" or ";", argument texts containing ";" or "->".
"""

from __future__ import annotations

from clinical_mpt.errors import DataError
from clinical_mpt.tasks.base import InputField, TaskType, build_input, check_aligned
from clinical_mpt.tasks.entities import check_entity, check_predicted_relation
from clinical_mpt.tasks.metrics import set_prf
from clinical_mpt.tasks.normalize import normalize_mention, normalize_type, one_line
from clinical_mpt.tasks.pairs import answer_pieces, pairs_complete

DEFAULT_INSTRUCTION = ("List the relations in the text. Answer as 'Type: head -> tail' separated by '; ', "
                       "or 'none'.")
NONE = "none"
ARROW = "->"


def format_input(ex: dict, instruction: str | None = None) -> str:
    return build_input(instruction or DEFAULT_INSTRUCTION, [f"Text: {ex['text']}"])


def validate(ex: dict, where: str) -> None:
    """Gold: `relations`, each with a `type` and `head`/`tail` arguments; optional typed `entities`."""
    text = ex["text"]
    if not isinstance(ex.get("relations"), list):
        raise DataError(f"{where}: field 'relations' must be a list")
    for rel in ex["relations"]:
        if not isinstance(rel, dict) or not isinstance(rel.get("type"), str):
            raise DataError(f"{where}: each relation needs a 'type' string")
        for arg in ("head", "tail"):
            check_entity(rel.get(arg), text, f"{where} (relation {arg})", need_type=False)
    for ent in ex.get("entities", []) or []:
        check_entity(ent, text, where, need_type=True)


def _arg_text(arg) -> str:
    if isinstance(arg, dict):
        arg = arg.get("text", "")
    return arg if isinstance(arg, str) else ""


def _key(rel: dict) -> tuple[str, str, str]:
    return (normalize_type(str(rel.get("type", ""))), normalize_mention(_arg_text(rel.get("head"))),
            normalize_mention(_arg_text(rel.get("tail"))))


def format_target(ex: dict) -> str:
    """Relations in the given order, each (type, head, tail) once."""
    seen, parts = set(), []
    for rel in ex["relations"]:
        if _key(rel) in seen:
            continue
        seen.add(_key(rel))
        head, tail = one_line(_arg_text(rel["head"])), one_line(_arg_text(rel["tail"]))
        parts.append(f"{one_line(rel['type'])}: {head} {ARROW} {tail}")
    return " " + ("; ".join(parts) if parts else NONE)


def parse(generated: str, ex: dict) -> dict:
    """-> {"id": ex["id"], "relations": [{"type", "head": {"text"}, "tail": {"text"}}, ...]};
    never raises."""
    pieces = answer_pieces(generated, well_formed)
    if len(pieces) == 1 and normalize_mention(pieces[0]) == NONE:
        pieces = []
    relations, seen = [], set()
    for piece in pieces:
        type_, sep, args = piece.partition(":")
        head, arrow, tail = args.partition(ARROW)
        rel = {"type": type_.strip(), "head": {"text": head.strip()}, "tail": {"text": tail.strip()}}
        key = _key(rel)
        if not (sep and arrow and key[0] and key[1] and key[2]) or key in seen:
            continue
        seen.add(key)
        relations.append(rel)
    return {"id": ex.get("id"), "relations": relations}


def well_formed(piece: str) -> bool:
    """A `Type: head -> tail` piece with all three parts non-empty (where a comma may split pairs).
    Arguments never contain "->", so a comma split of a well-formed target never happens."""
    type_, sep, args = piece.partition(":")
    head, arrow, tail = args.partition(ARROW)
    return bool(sep and arrow and type_.strip() and normalize_mention(head) and normalize_mention(tail))


def answer_complete(text: str) -> bool:
    """Stop decoding: the answer line ended, or a closed `Type: head -> tail` repeats (tasks/pairs.py)."""
    return pairs_complete(text, well_formed)


def _relations(row: dict) -> list[dict]:
    rels = row.get("relations") if isinstance(row, dict) else None
    return [r for r in rels if isinstance(r, dict)] if isinstance(rels, list) else []


def relation_keys(row: dict) -> set[tuple[str, str, str]]:
    """What `score` counts for one gold or predicted row: {(normalised type, head, tail)}."""
    return {_key(r) for r in _relations(row)}


def score(gold: list[dict], preds: list[dict]) -> dict:
    """Gold canonical RE examples and aligned predictions -> {"precision", "recall", "f1", "n"}."""
    check_aligned(gold, preds)
    out = set_prf([relation_keys(g) for g in gold], [relation_keys(p) for p in preds])
    out["n"] = len(gold)
    return out


RE = TaskType(
    name="re",
    label="Relations",
    primary_metric="f1",
    max_new_tokens=112,
    default_instruction=DEFAULT_INSTRUCTION,
    inputs=(InputField("text", "Clinical text"),),
    prediction_field="relations",
    validate=validate,
    prediction_item=check_predicted_relation,
    format_input=format_input,
    format_target=format_target,
    parse=parse,
    score=score,
    answer_complete=answer_complete,
    item_keys=relation_keys,
)
