"""`Label: text` pair lists (NER, RE answers): lenient splitting and the repeated-pair stop.

A small model writes the pairs a target joins with "; " in near-miss forms; `split_pairs` accepts
    "Drug: metoprolol; Strength: 25 mg"     (the target format)
    "Drug: metoprolol, Strength: 25 mg"     (a comma before the next `Label:`)
and `until_repeat` drops a looping tail ("Drug: a; Drug: a; Drug: a; Dr"): everything from the first
pair that repeats an earlier one, including the cut-off last piece.

A comma splits a ';'-piece only where another `Label:` follows it (a letter, then letters, digits,
spaces, '_', '-' or '/' up to 40 characters, then ':') AND every part is a well-formed pair for the
task type (`well_formed`); otherwise the piece stays whole, so "Drug: metoprolol tartrate, 25 mg"
is one pair and a relation's argument keeps its commas.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from clinical_mpt.tasks.normalize import clean_generation, ended_line, normalize_mention

_COMMA = re.compile(r",(?=\s*[A-Za-z][\w /-]{0,40}:)")


def _any(piece: str) -> bool:
    return True


def split_pairs(line: str, well_formed: Callable[[str], bool] = _any) -> list[str]:
    """The pieces of an answer line: split at ';', and at a ',' that starts another `Label:` pair
    where all the parts are `well_formed`.

    >>> split_pairs("Drug: metoprolol, Strength: 25 mg; Route: po")
    ['Drug: metoprolol', ' Strength: 25 mg', ' Route: po']
    """
    pieces = []
    for piece in line.split(";"):
        parts = _COMMA.split(piece)
        pieces += parts if len(parts) > 1 and all(well_formed(p) for p in parts) else [piece]
    return pieces


def until_repeat(pieces: list[str]) -> list[str]:
    """The pieces before the first one that repeats an earlier piece (compared normalised): what
    follows a repetition is the model looping, and its last piece is usually cut off.

    >>> until_repeat(["Drug: a", " Drug: b", " drug: a.", " Drug: b", " Dr"])
    ['Drug: a', ' Drug: b']
    """
    seen: set[str] = set()
    for i, piece in enumerate(pieces):
        key = normalize_mention(piece)
        if key and key in seen:
            return pieces[:i]
        seen.add(key)
    return pieces


def answer_pieces(generated: str, well_formed: Callable[[str], bool] = _any) -> list[str]:
    """What the NER and RE parsers read: the first line's pieces, cut at the first repetition."""
    return until_repeat(split_pairs(clean_generation(generated), well_formed))


def pairs_complete(text: str, well_formed: Callable[[str], bool] = _any) -> bool:
    """Whether a partial NER/RE generation is a finished answer: its line has ended (`ended_line`), or a
    pair already closed by a separator repeats an earlier one (the model has started looping).

    >>> pairs_complete(" Drug: a; Strength: 5 mg; Drug: a;"), pairs_complete(" Drug: a; Drug: ab")
    (True, False)
    """
    if ended_line(text):
        return True
    closed = split_pairs(clean_generation(text), well_formed)[:-1]  # the last piece may still be growing
    return len(until_repeat(closed)) < len(closed)
