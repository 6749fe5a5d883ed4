"""Composing a note piece by piece while recording where every entity lands.

Labels are correct by construction: an entity's offsets are taken from the running length of the
text at the moment its surface is appended, never by searching the finished text.

Templates are plain strings with slots, inline choices and optional groups:
    "<Started|Began> {Drug}[ {Strength}][ {Route}][ {Frequency}] for {Reason}"
    "<former|remote:StatusTime> <smoker:Tobacco>[, {Amount}]"
`{Name}` is filled from `slots[Name]`; a slot is a `Slot(surface, type)`: with a type it becomes an
entity, without one plain text. `<a|b>` picks one alternative as running text; `<a|b:Type>` picks
one as an entity of that type. `[...]` is kept only if every slot inside it is given.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from clinical_mpt.data.synth.styles import Style

_SLOT = re.compile(r"\{(\w+)\}")
_TOKEN = re.compile(r"\{(\w+)\}|<([^<>]+)>")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


@dataclass(frozen=True)
class Slot:
    surface: str
    type: str | None = None  # entity type; None: plain text that is not an entity


def required_slots(template: str) -> set[str]:
    """Slots outside optional groups: a template is usable only if all of them are given."""
    return set(_SLOT.findall(_OPTIONAL.sub("", template)))


def usable(templates: list[str], slots: dict) -> list[str]:
    return [t for t in templates if required_slots(t) <= set(slots)]


def choose(rng: random.Random, templates: list[str], slots: dict) -> str:
    """A random template whose required slots are all given (a programming error if none is)."""
    ok = usable(templates, slots)
    if not ok:
        raise ValueError(f"no template fits slots {sorted(slots)}")
    return rng.choice(ok)


def expand(template: str, slots: dict) -> str:
    """Drop the optional groups whose slots are not all given."""
    return _OPTIONAL.sub(lambda m: m.group(1) if set(_SLOT.findall(m.group(1))) <= set(slots) else "", template)


def suffixed(template: str, i: int | str) -> str:
    """Rename every slot `{X}` to `{Xi}`, so one fragment can be used for several mentions."""
    return _SLOT.sub(lambda m: "{" + m.group(1) + str(i) + "}", template)


def by_register(style: Style, bank: dict[str, list[str]]) -> list[str]:
    """The templates of `bank` for the style's register ("fields" falls back to "short")."""
    if style.register in bank:
        return bank[style.register]
    return bank["short"] if style.register == "fields" else bank["prose"]


class Doc:
    """A text under construction, laid out in the style's sections and sentences."""

    def __init__(self, style: Style, rng: random.Random):
        self.style, self.rng = style, rng
        self._parts: list[str] = []
        self._len = 0
        self._case: str | None = None      # case rule for the next appended chunk
        self._in_section = False
        self._sentences = 0                # sentences in the current section
        self.entities: list[dict] = []
        self.relations: list[dict] = []

    @property
    def text(self) -> str:
        return "".join(self._parts)

    # -- low level -------------------------------------------------------------------------
    def raw(self, s: str) -> str:
        """Append `s` as is (after the pending first-letter case rule); return what was appended."""
        if not s:
            return s
        if self._case is not None:
            s = _apply_case(s, self._case)
            self._case = None
        self._parts.append(s)
        self._len += len(s)
        return s

    def lit(self, s: str) -> None:
        """Append running text, with the style's shorthand and misspellings."""
        self.raw(self.style.render_literal(s, self.rng))

    def ent(self, surface: str, type_: str) -> dict:
        """Append an entity and return it: {type, start, end, text}."""
        if not surface or surface != surface.strip():
            raise ValueError(f"bad entity surface {surface!r}")
        start = self._len
        written = self.raw(surface)
        ent = {"type": type_, "start": start, "end": self._len, "text": written}
        self.entities.append(ent)
        return ent

    def fill(self, template: str, slots: dict[str, Slot]) -> dict[str, dict]:
        """Append `template` filled in; return {slot name: entity} for typed slots, and
        {type: entity} for inline typed choices (`<a|b:Type>`)."""
        text = expand(template, slots)
        found: dict[str, dict] = {}
        pos = 0
        for m in _TOKEN.finditer(text):
            self.lit(text[pos:m.start()])
            pos = m.end()
            if m.group(1) is not None:
                slot = slots[m.group(1)]
                if slot.type is None:
                    self.raw(slot.surface)
                else:
                    found[m.group(1)] = self.ent(slot.surface, slot.type)
                continue
            choices, _, type_ = m.group(2).rpartition(":") if ":" in m.group(2) else (m.group(2), "", None)
            pick = self.rng.choice(choices.split("|"))
            if type_ is None:
                self.lit(pick)
            else:
                found[type_] = self.ent(self.style.surface(self.rng, pick), type_)
        self.lit(text[pos:])
        return found

    def relate(self, type_: str, head: dict, tail: dict) -> None:
        self.relations.append({"type": type_, "head": dict(head), "tail": dict(tail)})

    # -- layout ----------------------------------------------------------------------------
    def section(self, key: str | None) -> None:
        """Start a section (titled per the layout; `key` None: untitled)."""
        lay = self.style.lay
        if self._in_section:
            self.raw(lay.end)
            self.raw(lay.section_sep)
        if key is not None and lay.header is not None:
            self.raw(lay.header.format(h=self.style.header(key)))
        elif self.style.layout == "bullets":
            self.raw("- ")
        self._in_section, self._sentences = True, 0

    def sentence(self, template: str, slots: dict[str, Slot] | None = None) -> dict[str, dict]:
        """Append one sentence of the current section (opening an untitled one if needed)."""
        if not self._in_section:
            self.section(None)
        if self._sentences:
            self.raw(self.style.lay.sep)
        self._sentences += 1
        self._case = self.style.lay.case_first
        return self.fill(template, slots or {})

    def finish(self) -> str:
        """Close the last section and return the text."""
        if self._in_section:
            self.raw(self.style.lay.end)
            self._in_section = False
        return self.text


def _apply_case(s: str, rule: str) -> str:
    if rule == "upper":
        return s[0].upper() + s[1:]
    if rule == "lower" and not (len(s) > 1 and s[1].isupper()):
        return s[0].lower() + s[1:]
    return s
