"""The medication and MedNLI-style sources are varied enough to carry over to real notes (issue 16):
many mention shapes and drug names, drugs in allergy lines are entities, negation words do not give
an NLI label away, and numeric lab hypotheses agree with the values in the premise."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from clinical_mpt.data.synth import build_suite
from clinical_mpt.data.synth.suite import SPLITS
from clinical_mpt.data.synth.vocab_clinical import LABS
from clinical_mpt.data.synth.vocab_meds import ALLERGENS, BRANDS


@pytest.fixture(scope="module")
def built():
    return build_suite(0)


def _rows(data: dict, name: str) -> list[dict]:
    return [ex for split in SPLITS for ex in data[name][split]]


def test_medication_notes_use_many_shapes_and_names(built):
    _, data = built
    rows = _rows(data, "med_ner") + _rows(data, "drug_attr_re")
    corpus = "\n".join(ex["text"] for ex in rows)
    for marker in (r"Sig: |[Tt]ake \d", r"\n1\. ", r"\n- ", r"[Tt]aper", r"\bprn\b|\bPRN\b|as needed", r"\bHeld\b|\bHold\b|D/c",
                   r"\bSL\b|sublingually", r"\bpuffs?\b", r"mg/kg", r"[Aa]llerg", r"\bgtt\b", r"\bsubcut\b|\bSQ\b"):
        assert re.search(marker, corpus), marker
    drugs = {e["text"] for ex in rows for e in ex["entities"] if e["type"] == "Drug"}
    brands = {b for names in BRANDS.values() for b in names}
    assert len(drugs) >= 150 and len(drugs & brands) >= 20, (len(drugs), len(drugs & brands))


def test_drugs_in_allergy_lines_are_drug_entities(built):
    _, data = built
    checked = 0
    for ex in _rows(data, "med_ner"):
        starts = {e["start"] for e in ex["entities"] if e["type"] == "Drug"}
        for allergen in ALLERGENS:
            for m in re.finditer(rf"(?:[Aa]llerg\w*|All:)(?: to)?:? {re.escape(allergen)}\b", ex["text"]):
                assert m.end() - len(allergen) in starts, (ex["id"], allergen)
                checked += 1
    assert checked >= 10


def test_mednli_negation_words_do_not_give_the_label_away(built):
    _, data = built
    for name in ("mednli_history", "mednli_meds", "mednli_labs"):
        negated = Counter(ex["label"] for ex in _rows(data, name)
                          if re.search(r"\b(no|not|never|denies)\b", ex["hypothesis"]))
        assert negated["entailment"] >= 3 and negated["contradiction"] >= 3, (name, negated)


def test_mednli_lab_thresholds_agree_with_the_values(built):
    _, data = built
    checked = 0
    for ex in _rows(data, "mednli_labs"):
        m = re.match(r"The patient's (.+) is (above|below) ([\d.]+)\.$", ex["hypothesis"])
        if not m or ex["label"] == "neutral":
            continue
        lab = next(x for x in LABS.values() if x.name == m.group(1))
        value = re.search(rf"\b(?:{re.escape(lab.name)}|{re.escape(lab.abbrev)}) (\d+(?:\.\d+)?)", ex["premise"], re.IGNORECASE)
        assert value, (ex["id"], lab.name)
        v, t = float(value.group(1)), float(m.group(3))
        assert ((v > t) if m.group(2) == "above" else (v < t)) == (ex["label"] == "entailment"), ex
        checked += 1
    assert checked >= 10
