"""Text normalisation shared by the task types: cleaning generations, comparing mentions, SQuAD.

- `clean_generation`: what a parser looks at (first line of the generation, special tokens cut).
- `ended_line`: whether that first line is finished (the shared answer-format stop).
- `one_line`: targets are single lines (whitespace collapsed), so parsers can stop at a newline.
- `normalize_mention` / `normalize_type`: the keys NER and RE are scored on.
- `squad_normalize`: the official SQuAD v1.1 `normalize_answer`, copied faithfully.
"""

from __future__ import annotations

import re
import string
import unicodedata

# End-of-text markers some tokenizers leave in decoded text; everything after one is junk.
_STOP_MARKERS = ("<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "</s>", "<eos>")
_ASCII_PUNCT = frozenset(string.punctuation)


def clean_generation(text: str) -> str:
    """The part of a generation a parser reads: cut at an end-of-text marker, drop leading
    whitespace (the target starts with a space; some models emit a newline first), keep the first
    line only (anything after a newline is the model rambling on), strip.

    >>> clean_generation(" Drug: aspirin\\nText: more junk")
    'Drug: aspirin'
    """
    if not isinstance(text, str):
        return ""
    for marker in _STOP_MARKERS:
        cut = text.find(marker)
        if cut >= 0:
            text = text[:cut]
    return text.lstrip().split("\n", 1)[0].strip()


def ended_line(text: str) -> bool:
    """Whether a generation already holds a whole answer line: a non-empty line followed by a newline
    or an end-of-text marker (what `clean_generation` reads cannot change any more). The answer-format
    stop shared by every task type.

    >>> ended_line(" 500 mg\n"), ended_line("\n"), ended_line(" 500 mg")
    (True, False, False)
    """
    if not isinstance(text, str):
        return False
    for marker in _STOP_MARKERS:
        cut = text.find(marker)
        if cut >= 0:
            return bool(text[:cut].strip())
    body = text.lstrip()
    return "\n" in body and bool(body.split("\n", 1)[0].strip())


def one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines included) to one space and strip."""
    return " ".join(text.split())


def _is_punct(ch: str) -> bool:
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def normalize_mention(text: str) -> str:
    """Key for comparing entity / argument texts: lowercase, collapse whitespace, strip leading and
    trailing punctuation (ASCII `string.punctuation` and Unicode P* categories).

    >>> normalize_mention("  (Metformin  500 mg). ")
    'metformin 500 mg'
    """
    text = one_line(text.lower())
    start, end = 0, len(text)
    while start < end and (_is_punct(text[start]) or text[start].isspace()):
        start += 1
    while end > start and (_is_punct(text[end - 1]) or text[end - 1].isspace()):
        end -= 1
    return text[start:end]


def normalize_type(text: str) -> str:
    """Key for comparing entity / relation types: lowercase, whitespace collapsed.

    >>> normalize_type(" Adverse  Event ")
    'adverse event'
    """
    return one_line(text.lower())


def squad_normalize(s: str) -> str:
    """Official SQuAD v1.1 `normalize_answer`: lowercase, remove punctuation, remove the articles
    a/an/the, collapse whitespace (in that order)."""

    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))
