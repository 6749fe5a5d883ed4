"""Named entity recognition as text-to-text.

Input:   "<instruction>\\nText: <text>\\nAnswer:"
Target:  " Drug: metformin; Strength: 500 mg"   (entities in order, `Type: mention` joined by "; ")
         " none"                                 (no entities)
Parse:   split the first line on ";" (and on a "," that starts another `Type:` pair, a small model's
         near-miss), drop a looping tail from the first repeated pair on (tasks/pairs.py), and split
         each piece at its first ":" into type and mention; malformed pieces are skipped. Every mention
         is grounded: found in the text (first occurrence; exact case preferred, whitespace-flexible,
         edge punctuation ignored) it gets `start`/`end` and the text's own spelling; not found, it is
         dropped (a small model fills slots with words the text does not hold: they could only be
         false positives, since a gold mention is a span of the text).
Score:   micro precision / recall / f1 over per-example sets of (normalised type, normalised mention),
         plus `span_f1` over (normalised type, start, end) when any prediction carries offsets.
Not representable: types containing ":" or ";", mentions containing ";" or a comma followed by
another `Word:` (", Dose: 5" inside a mention reads as a second pair).
"""

from __future__ import annotations

import re

from clinical_mpt.errors import DataError
from clinical_mpt.tasks.base import InputField, TaskType, build_input, check_aligned
from clinical_mpt.tasks.entities import check_entity, check_predicted_entity, span_text
from clinical_mpt.tasks.metrics import set_prf
from clinical_mpt.tasks.normalize import normalize_mention, normalize_type, one_line
from clinical_mpt.tasks.pairs import answer_pieces, pairs_complete

DEFAULT_INSTRUCTION = ("Extract the clinical entities in the text. Answer as 'Type: mention' pairs "
                       "separated by '; ', or 'none'.")
NONE = "none"


def format_input(ex: dict, instruction: str | None = None) -> str:
    return build_input(instruction or DEFAULT_INSTRUCTION, [f"Text: {ex['text']}"])


def validate(ex: dict, where: str) -> None:
    """Gold: `entities`, a list of typed entities whose offsets, when given, cover their `text`."""
    text = ex["text"]
    if not isinstance(ex.get("entities"), list):
        raise DataError(f"{where}: field 'entities' must be a list")
    for ent in ex["entities"]:
        check_entity(ent, text, where, need_type=True)
        if "start" in ent and span_text(ent, text) != ent["text"]:
            raise DataError(f"{where}: entity text {ent['text']!r} does not match the text at its offsets"
                            f" ({span_text(ent, text)!r})")


def _key(ent: dict) -> tuple[str, str]:
    return normalize_type(str(ent.get("type", ""))), normalize_mention(str(ent.get("text", "")))


def format_target(ex: dict) -> str:
    """Entities in text order (by `start` where known), each (type, mention) once."""
    ents = sorted(ex["entities"], key=lambda e: e.get("start", 0))
    seen, parts = set(), []
    for ent in ents:
        if _key(ent) in seen:
            continue
        seen.add(_key(ent))
        parts.append(f"{one_line(ent['type'])}: {one_line(ent['text'])}")
    return " " + ("; ".join(parts) if parts else NONE)


def find_span(text: str, mention: str) -> tuple[int, int] | None:
    """(start, end) of the first occurrence of `mention` in `text`, whitespace-flexible; an
    exact-case match is preferred over a case-insensitive one. None when absent."""
    tokens = mention.split()
    if not tokens:
        return None
    pattern = r"\s+".join(re.escape(t) for t in tokens)
    m = re.search(pattern, text) or re.search(pattern, text, re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def ground(text: str, mention: str) -> tuple[int, int] | None:
    """The span of `mention` in `text` (`find_span`), or of its normalised form (edge punctuation cut),
    so that every mention that could score, one whose normalised form equals a gold mention's, is found;
    None when the text does not hold it."""
    return find_span(text, mention) or find_span(text, normalize_mention(mention))


def parse(generated: str, ex: dict) -> dict:
    """-> {"id": ex["id"], "entities": [{"type", "text", "start", "end"}, ...]}; never raises."""
    pieces = answer_pieces(generated, well_formed)
    text = ex.get("text") if isinstance(ex.get("text"), str) else ""
    entities, seen = [], set()
    if len(pieces) == 1 and normalize_mention(pieces[0]) == NONE:
        pieces = []
    for piece in pieces:
        type_, sep, mention = piece.partition(":")
        ent = {"type": type_.strip(), "text": mention.strip()}
        if not sep or not ent["type"] or not normalize_mention(ent["text"]) or _key(ent) in seen:
            continue
        span = ground(text, ent["text"])
        if span is None:   # not in the text: a made-up mention can only be a false positive
            continue
        seen.add(_key(ent))
        ent["start"], ent["end"] = span
        ent["text"] = text[span[0]:span[1]]
        entities.append(ent)
    return {"id": ex.get("id"), "entities": entities}


def well_formed(piece: str) -> bool:
    """A `Type: mention` piece with both parts non-empty (where a comma may split pairs)."""
    type_, sep, mention = piece.partition(":")
    return bool(sep and type_.strip() and normalize_mention(mention))


def answer_complete(text: str) -> bool:
    """Stop decoding: the answer line ended, or a closed `Type: mention` pair repeats (tasks/pairs.py)."""
    return pairs_complete(text, well_formed)


def _has_offsets(ent) -> bool:
    return (isinstance(ent, dict) and all(isinstance(ent.get(k), int) and not isinstance(ent.get(k), bool)
                                          for k in ("start", "end")))


def _entities(pred: dict) -> list[dict]:
    ents = pred.get("entities") if isinstance(pred, dict) else None
    return [e for e in ents if isinstance(e, dict)] if isinstance(ents, list) else []


def entity_keys(row: dict) -> set[tuple[str, str]]:
    """What `score` counts for one gold or predicted row: {(normalised type, normalised mention)}."""
    return {_key(e) for e in _entities(row)}


def score(gold: list[dict], preds: list[dict]) -> dict:
    """Gold canonical NER examples and aligned predictions -> {"precision", "recall", "f1",
    ["span_f1"], "n"}. span_f1 counts only entities that carry integer `start`/`end`."""
    check_aligned(gold, preds)
    gold_ents = [_entities(g) for g in gold]
    pred_ents = [_entities(p) for p in preds]
    out = set_prf([entity_keys(g) for g in gold], [entity_keys(p) for p in preds])
    if any(_has_offsets(e) for es in pred_ents for e in es):
        def spans(es):
            return {(_key(e)[0], e["start"], e["end"]) for e in es if _has_offsets(e)}
        out["span_f1"] = set_prf([spans(es) for es in gold_ents], [spans(es) for es in pred_ents])["f1"]
    out["n"] = len(gold)
    return out


NER = TaskType(
    name="ner",
    label="Named entities",
    primary_metric="f1",
    max_new_tokens=112,
    default_instruction=DEFAULT_INSTRUCTION,
    inputs=(InputField("text", "Clinical text"),),
    prediction_field="entities",
    validate=validate,
    prediction_item=check_predicted_entity,
    format_input=format_input,
    format_target=format_target,
    parse=parse,
    score=score,
    answer_complete=answer_complete,
    item_keys=entity_keys,
)
