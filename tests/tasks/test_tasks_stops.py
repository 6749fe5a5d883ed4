"""Answer-format stops (TaskType.answer_complete) and the lenient pair parsers, on hand-written
generations of the kind a small model makes."""

from __future__ import annotations

import pytest

from clinical_mpt.tasks import TASK_TYPES, get_task_type
from clinical_mpt.tasks.pairs import split_pairs, until_repeat

NER_EX = {"id": "1", "text": "Started metoprolol 25 mg PO bid, daily; aspirin 81 mg daily."}


def ner_pairs(generated: str, ex: dict = NER_EX) -> list[tuple[str, str]]:
    """(type, mention) of the parsed entities (mentions are grounded in `ex`'s text)."""
    return [(e["type"], e["text"]) for e in get_task_type("ner").parse(generated, ex)["entities"]]


@pytest.mark.parametrize("generated,expected", [
    (" Drug: metoprolol; Strength: 25 mg", [("Drug", "metoprolol"), ("Strength", "25 mg")]),
    (" Drug: metoprolol, Strength: 25 mg", [("Drug", "metoprolol"), ("Strength", "25 mg")]),
    (" Drug: metoprolol , Strength: 25 mg, Route: PO",
     [("Drug", "metoprolol"), ("Strength", "25 mg"), ("Route", "PO")]),
    (" Drug: metoprolol; Strength: 25 mg; Drug: metoprolol; Strength: 25 mg; Drug: metop",
     [("Drug", "metoprolol"), ("Strength", "25 mg")]),
    (" Drug: aspirin; Drug: aspirin; Drug: aspirin; Drug: asp", [("Drug", "aspirin")]),
    (" Frequency: bid, daily", [("Frequency", "bid, daily")]),  # a comma inside a mention stays
    (" none", []),
    (" none; none; none", []),
    (" Drug: metoprolol\nDrug: junk", [("Drug", "metoprolol")]),
])
def test_ner_parser_accepts_near_misses(generated, expected):
    assert ner_pairs(generated) == expected


def test_re_parser_accepts_commas_and_drops_a_loop():
    re_ = get_task_type("re")
    out = re_.parse(" Strength-Drug: 25 mg -> metoprolol, Route-Drug: PO -> metoprolol; "
                    "Strength-Drug: 25 mg -> metoprolol; Route-Dr", {"id": "r"})
    assert [(r["type"], r["head"]["text"], r["tail"]["text"]) for r in out["relations"]] == [
        ("Strength-Drug", "25 mg", "metoprolol"), ("Route-Drug", "PO", "metoprolol")]


def test_split_and_repeat_helpers():
    assert split_pairs("Drug: metoprolol tartrate, 25 mg") == ["Drug: metoprolol tartrate, 25 mg"]
    assert split_pairs("A: x, B: y") == ["A: x", " B: y"]
    assert until_repeat(["a: 1", "b: 2"]) == ["a: 1", "b: 2"]
    assert until_repeat(["a: 1", "A: 1.", "c: 3"]) == ["a: 1"]


@pytest.mark.parametrize("type_,text,complete", [
    # every type: a finished non-empty line, or an end-of-text marker after an answer
    ("qa", " 25 mg\n", True), ("qa", " 25 mg", False), ("qa", "\n", False), ("qa", "\n 25 mg", False),
    ("qa", " 25 mg<|endoftext|>", True), ("summarization", " Pt admitted with CP.\nText:", True),
    ("summarization", " Pt admitted with CP.", False),
    # NER / RE: a closed pair that repeats an earlier one
    ("ner", " Drug: metoprolol; Strength: 25 mg; Drug: metoprolol;", True),
    ("ner", " Drug: metoprolol, Strength: 25 mg, Drug: metoprolol, Strength: 2", True),
    ("ner", " Drug: metoprolol; Drug: metoprolol", False),  # the second may still grow ("metoprolol xl")
    ("ner", " Drug: metoprolol; Strength: 25 mg", False),
    ("ner", " none\n", True), ("ner", " none", False),
    ("re", " Route-Drug: PO -> aspirin; Route-Drug: PO -> aspirin;", True),
    ("re", " Route-Drug: PO -> aspirin; Route-Drug: PO -> asp", False),
    # NLI: a finished first word that starts with a label stem
    ("nli", " neutral.", True), ("nli", " entailment ", True), ("nli", " contradicts the", True),
    ("nli", " neutr", False), ("nli", " neutral", False), ("nli", " The answer is", False),
    ("nli", " The answer is neutral\n", True),
    # MCQA: a lone option letter closed by a separator
    ("mcqa", " B\n", True), ("mcqa", " B.", True), ("mcqa", " (C) heparin", True), ("mcqa", " B", False),
    ("mcqa", " Bo", False), ("mcqa", " Answer", False),
])
def test_answer_complete(type_, text, complete):
    assert get_task_type(type_).answer_complete(text) is complete


@pytest.mark.parametrize("name", sorted(TASK_TYPES))
def test_a_complete_answer_parses_as_the_whole_generation(name):
    """Stopping where answer_complete first says so gives the same parse as the full generation."""
    tt = get_task_type(name)
    examples = {
        "ner": (NER_EX, " Drug: metoprolol, Strength: 25 mg; Drug: metoprolol; Strength: 25 mg; Dru"),
        "re": ({"id": "r"}, " Route-Drug: PO -> aspirin; Route-Drug: PO -> aspirin; Ro"),
        "qa": ({"id": "q"}, " 25 mg\nQuestion: what"),
        "mcqa": ({"id": "m", "options": {"A": "x", "B": "y"}}, " B. y\nA"),
        "nli": ({"id": "n"}, " contradiction. The premise"),
        "summarization": ({"id": "s"}, " Pt stable.\nText: more"),
    }
    ex, full = examples[name]
    cut = next(i for i in range(1, len(full) + 1) if tt.answer_complete(full[:i]))
    assert tt.parse(full[:cut], ex) == tt.parse(full, ex)


def test_a_comma_never_splits_a_pair_into_malformed_parts():
    """A relation argument with ', T:' inside stays whole: its parts would not all be relations."""
    re_ = get_task_type("re")
    target = " VM: dP lt0K,T: -> U1 P; BP: a -> b"
    out = re_.parse(target, {"id": "r"})
    assert [(r["type"], r["head"]["text"], r["tail"]["text"]) for r in out["relations"]] == [
        ("VM", "dP lt0K,T:", "U1 P"), ("BP", "a", "b")]
    assert ner_pairs(" Drug: metoprolol, Strength:", {"id": "n", "text": "metoprolol, Strength: unknown"}) == [
        ("Drug", "metoprolol, Strength:")]
