"""Simulated institutions: how each one writes its notes.

A `Style` decides, while a text is being composed, (a) which sentence templates to use
(`register`: "short" telegraphic phrases, "prose" full sentences, "fields" key/value rows),
(b) how sentences and sections are laid out (`layout`, see LAYOUTS), (c) how often shorthand is
used (`abbrev_rate`: "patient" -> "pt", "twice daily" -> "BID", "hypertension" -> "HTN") and
(d) how often words are misspelled (`misspell_rate`). Every choice is drawn from the caller's
`random.Random`, so a style never breaks determinism, and every transformation happens before a
piece of text is appended, so entity offsets stay correct by construction.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """How sentences and sections are joined. `header` formats a section title ({h}); None: no titles."""
    header: str | None
    sep: str            # between two sentences of one section
    section_sep: str    # between two sections
    end: str            # after the last sentence of a section
    case_first: str     # first letter of a sentence: "upper", "lower" or "keep"
    header_form: str    # which title to show: "short" (HPI), "full" (History of present illness), "upper"


LAYOUTS = {
    "terse": Layout("{h}: ", ". ", "\n", ".", "keep", "short"),
    "narrative": Layout(None, ". ", " ", ".", "upper", "full"),
    "soap": Layout("{h}: ", ". ", "\n", ".", "upper", "short"),
    "bullets": Layout("{h}:\n- ", "\n- ", "\n", "", "keep", "full"),
    "dictated": Layout("{h}: ", ", ", " ", ".", "lower", "upper"),
    "templated": Layout("[{h}] ", " | ", "\n", "", "keep", "upper_short"),
    "exam": Layout(None, ". ", " ", ".", "upper", "full"),
}

# section key -> (short title, full title)
HEADERS = {
    "hpi": ("HPI", "History of present illness"),
    "pmh": ("PMH", "Past medical history"),
    "fhx": ("FHx", "Family history"),
    "social": ("SH", "Social history"),
    "meds": ("Meds", "Medications"),
    "allergies": ("All", "Allergies"),
    "labs": ("Labs", "Laboratory data"),
    "vitals": ("VS", "Vital signs"),
    "exam": ("PE", "Physical exam"),
    "course": ("Hosp course", "Hospital course"),
    "dispo": ("Dispo", "Disposition"),
    "subjective": ("S", "Subjective"),
    "objective": ("O", "Objective"),
    "assessment": ("A/P", "Assessment and plan"),
    "plan": ("Plan", "Plan"),
    "technique": ("EXAM", "Examination"),
    "indication": ("INDICATION", "Indication"),
    "findings": ("FINDINGS", "Findings"),
    "impression": ("IMPRESSION", "Impression"),
    "opioids": ("Opioid Rx", "Opioid prescriptions"),
    "echo": ("Echo", "Echocardiogram"),
}

# phrases that an abbreviating writer shortens in running text (not inside entities)
LITERAL_ABBREV = {
    "patient": ("pt",), "patients": ("pts",), "history of": ("hx of", "h/o"), "history": ("hx",),
    "complains of": ("c/o",), "complaining of": ("c/o",), "status post": ("s/p",), "with": ("w/",),
    "without": ("w/o",), "year-old": ("yo", "y/o"), "year old": ("yo", "y/o"), "years": ("yrs", "y"),
    "secondary to": ("2/2",), "discontinued": ("d/c'd", "dc'd"), "follow up": ("f/u",),
    "follow-up": ("f/u",), "emergency department": ("ED",), "treatment": ("tx",), "diagnosis": ("dx",),
    "symptoms": ("sx",), "negative": ("neg",), "positive": ("pos", "+"), "normal": ("nl",),
    "within normal limits": ("WNL",), "increased": ("incr",), "decreased": ("decr",),
    "continue": ("cont",), "because of": ("b/c",), "hospital": ("hosp",), "weeks": ("wks",),
    "months": ("mos",), "days": ("d",), "male": ("M",), "female": ("F",), "and": ("&",),
    "rule out": ("r/o",), "evaluate": ("eval",), "evaluation": ("eval",),
    "no evidence of": ("no e/o",), "morning": ("AM",), "approximately": ("~", "approx"),
}

# words a hurried writer misspells; other long words get two adjacent letters swapped
MISSPELLINGS = {
    "patient": "pateint", "received": "recieved", "history": "histroy", "medication": "medicaiton",
    "medications": "medicatoins", "abdominal": "abdomnial", "pressure": "presure", "breath": "breathe",
    "admitted": "admited", "discharged": "dischraged", "reports": "reprots", "improved": "imporved",
    "tolerating": "tolerting", "currently": "currenlty", "previously": "previosly", "significant": "signficant",
    "consistent": "consistant", "occasionally": "occassionally", "separate": "seperate", "weakness": "weaknes",
}


@dataclass(frozen=True)
class Style:
    """One simulated institution's documentation habits."""
    name: str
    description: str
    register: str        # "short" | "prose" | "fields": which sentence templates a generator uses
    layout: str          # key of LAYOUTS
    abbrev_rate: float   # chance of shorthand for each abbreviable phrase or term
    misspell_rate: float  # chance of a misspelling for each eligible word of running text
    unit_words: bool = False  # dictation spells units out ("10 milligrams")

    @property
    def lay(self) -> Layout:
        return LAYOUTS[self.layout]

    def pick(self, rng: random.Random, full: tuple[str, ...], short: tuple[str, ...] = ()) -> str:
        """One surface form: a shorthand one with probability `abbrev_rate` (if any), else a full one."""
        if short and rng.random() < self.abbrev_rate:
            return rng.choice(short)
        return rng.choice(full)

    def amount(self, rng: random.Random, value: str, unit: str) -> str:
        """A quantity with its unit: '25 mg', '25mg' (shorthand writers), '25 milligrams' (dictation)."""
        if not unit:
            return value
        if self.unit_words:
            return f"{value} {UNIT_WORDS.get(unit, unit)}"
        if unit.isalpha() and unit.islower() and rng.random() < self.abbrev_rate / 2:
            return f"{value}{unit}"
        return f"{value} {unit}"

    def header(self, key: str) -> str:
        short, full = HEADERS.get(key, (key, key))
        form = self.lay.header_form
        if form == "short":
            return short
        if form == "upper":
            return full.upper()
        if form == "upper_short":
            return short.upper()
        return full

    def render_literal(self, text: str, rng: random.Random) -> str:
        """Apply shorthand and misspellings to running text (never to entity surfaces)."""
        if self.abbrev_rate > 0:
            text = _ABBREV_RE.sub(lambda m: _abbreviate(m, rng, self.abbrev_rate), text)
        if self.misspell_rate > 0:
            text = _WORD_RE.sub(lambda m: misspell(m.group(0), rng, self.misspell_rate), text)
        return text

    def surface(self, rng: random.Random, text: str) -> str:
        """An entity surface as written: occasionally misspelled (at half the running-text rate)."""
        if self.misspell_rate <= 0:
            return text
        return _WORD_RE.sub(lambda m: misspell(m.group(0), rng, self.misspell_rate / 2), text)


UNIT_WORDS = {"mg": "milligrams", "mcg": "micrograms", "g": "grams", "mL": "milliliters",
              "mEq": "milliequivalents", "units": "units", "mg/kg": "milligrams per kilogram"}

_ABBREV_KEYS = sorted(LITERAL_ABBREV, key=len, reverse=True)
_ABBREV_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _ABBREV_KEYS) + r")\b", re.IGNORECASE)
_WORD_RE = re.compile(r"[A-Za-z]{6,}")


def _abbreviate(m: re.Match, rng: random.Random, rate: float) -> str:
    word = m.group(0)
    if rng.random() >= rate:
        return word
    short = rng.choice(LITERAL_ABBREV[word.lower()])
    if word[0].isupper() and short[0].islower():
        short = short[0].upper() + short[1:]
    return short


def misspell(word: str, rng: random.Random, rate: float) -> str:
    """With probability `rate`, a plausible misspelling of `word` (curated, else two letters swapped)."""
    if rng.random() >= rate:
        return word
    lower = word.lower()
    if lower in MISSPELLINGS:
        wrong = MISSPELLINGS[lower]
        return wrong[0].upper() + wrong[1:] if word[0].isupper() else wrong
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


STYLES = {s.name: s for s in (
    Style("inst_a_terse", "abbreviation-heavy, telegraphic notes (pt, hx, c/o, BID, PRN)",
          register="short", layout="terse", abbrev_rate=0.75, misspell_rate=0.03),
    Style("inst_b_narrative", "narrative prose in full sentences, few abbreviations",
          register="prose", layout="narrative", abbrev_rate=0.15, misspell_rate=0.01),
    Style("inst_c_soap", "section-headed notes (S/O/A/P, FINDINGS/IMPRESSION), moderate shorthand",
          register="prose", layout="soap", abbrev_rate=0.45, misspell_rate=0.02),
    Style("inst_d_bulleted", "bulleted lists under full section titles",
          register="short", layout="bullets", abbrev_rate=0.5, misspell_rate=0.02),
    Style("inst_e_dictated", "transcribed dictation: run-on lower-case clauses, upper-case titles, units spelled out",
          register="prose", layout="dictated", abbrev_rate=0.0, misspell_rate=0.04, unit_words=True),
    Style("inst_f_templated", "EHR flowsheet template: bracketed titles and pipe-separated fields",
          register="fields", layout="templated", abbrev_rate=0.85, misspell_rate=0.0),
    Style("exam_board", "board-exam question writing: full sentences, no shorthand",
          register="prose", layout="exam", abbrev_rate=0.0, misspell_rate=0.0),
    Style("lit_abstract", "research-abstract prose: trial designs, effect sizes and p values",
          register="prose", layout="exam", abbrev_rate=0.0, misspell_rate=0.0),
)}


def get_style(name: str) -> Style:
    return STYLES[name]
