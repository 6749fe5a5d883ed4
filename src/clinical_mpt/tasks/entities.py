"""Checks of entity and relation objects, gold and predicted, shared by the ner and re task types.

Gold (canonical) entity:  {"type": str, "text": str, "start"?: int, "end"?: int, "fragments"?: [[s, e], ...]}
                          0-based character offsets, end exclusive; `fragments` for discontinuous mentions.
Predicted entity:         {"type": str, "text": str, "start"?: int, "end"?: int}
Predicted relation:       {"type": str, "head": {"text": str, ...}, "tail": {"text": str, ...}}
Every check raises `DataError` naming `where`.
"""

from __future__ import annotations

from clinical_mpt.errors import DataError


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_span(ent: dict, text: str, where: str) -> None:
    """Offsets, when given, are integers inside the text."""
    start, end = ent.get("start"), ent.get("end")
    if start is None and end is None:
        return
    if not (_is_int(start) and _is_int(end)):
        raise DataError(f"{where}: entity offsets must be integers, got start={start!r} end={end!r}")
    if not 0 <= start < end <= len(text):
        raise DataError(f"{where}: entity offsets {start}-{end} are outside the text (length {len(text)})")


def span_text(ent: dict, text: str) -> str:
    """The text an entity's offsets cover; a discontinuous entity (optional `fragments`:
    [[start, end], ...], as BRAT writes `start end;start end`) joins its fragments with a space."""
    if ent.get("fragments"):
        return " ".join(text[a:b] for a, b in ent["fragments"])
    return text[ent["start"]:ent["end"]]


def check_entity(ent, text: str, where: str, need_type: bool) -> None:
    """A gold entity (or relation argument when `need_type` is False): a `text` string, a `type`
    string when required or present, and offsets inside `text`."""
    if not isinstance(ent, dict):
        raise DataError(f"{where}: each entity must be an object, got {type(ent).__name__}")
    if not isinstance(ent.get("text"), str):
        raise DataError(f"{where}: entity is missing its 'text' string")
    if (need_type or "type" in ent) and not isinstance(ent.get("type"), str):
        raise DataError(f"{where}: entity is missing its 'type' string")
    check_span(ent, text, where)


def check_predicted_entity(item, where: str) -> None:
    """One item of a prediction's `entities` list."""
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise DataError(f"{where}: each predicted entity must be an object with a 'type' string")
    if not isinstance(item.get("text"), str):
        raise DataError(f"{where}: each predicted entity needs a 'text' string")
    if ("start" in item or "end" in item) and not (_is_int(item.get("start")) and _is_int(item.get("end"))):
        raise DataError(f"{where}: entity offsets must both be integers, got start={item.get('start')!r} "
                        f"end={item.get('end')!r}")


def check_predicted_relation(item, where: str) -> None:
    """One item of a prediction's `relations` list."""
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise DataError(f"{where}: each predicted relation must be an object with a 'type' string")
    for arg in ("head", "tail"):
        if not isinstance(item.get(arg), dict) or not isinstance(item[arg].get("text"), str):
            raise DataError(f"{where}: each predicted relation needs '{arg}': {{\"text\": str}}")
