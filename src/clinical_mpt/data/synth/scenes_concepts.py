"""Problems, tests and treatments (i2b2-2010 style), and disease mentions.

`concept_scene` writes sentences, each of one relation kind, about a Treatment or Test and a
Problem; the kind of sentence decides the relation (TrAP: given for, TrIP: improves, TrWP: fails
to improve, TrCP: causes, TrNAP: withheld because of, TeRP: reveals, TeCP: done to investigate,
none: mentioned without a relation). Pairs come from curated knowledge (vocab_clinical).
`disease_scene` writes history, family history, admissions and negations naming diseases.
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth import vocab_clinical as C
from clinical_mpt.data.synth.compose import Doc, Slot, by_register, choose
from clinical_mpt.data.synth.styles import Style

# kind -> register -> templates over {Tr}/{Te} and {P}
CONCEPT_SENTENCE = {
    "TrAP": {"short": ["started {Tr} for {P}", "{Tr} for {P}", "{P}: on {Tr}", "s/p {Tr} for {P}", "{P} - cont {Tr}"],
             "prose": ["{Subj} was started on {Tr} for {P}", "{P} was treated with {Tr}",
                       "{Subj} received {Tr} for {P}", "{Tr} was given for {P}"]},
    "TrIP": {"short": ["{P} improved w/ {Tr}", "{P} resolved after {Tr}", "{P} better on {Tr}"],
             "prose": ["{P} improved with {Tr}", "{P} resolved after {Tr}", "{P} responded well to {Tr}"]},
    "TrWP": {"short": ["{P} worse despite {Tr}", "{P} not improving on {Tr}", "{P} progressing despite {Tr}"],
             "prose": ["{P} worsened despite {Tr}", "{P} progressed despite treatment with {Tr}",
                       "{P} failed to improve with {Tr}"]},
    "TrCP": {"short": ["{P} 2/2 {Tr}", "{P} after {Tr}", "{Tr} c/b {P}"],
             "prose": ["{Subj} developed {P} after {Tr}", "{P} was thought to be secondary to {Tr}",
                       "Treatment with {Tr} was complicated by {P}"]},
    "TrNAP": {"short": ["{Tr} held for {P}", "holding {Tr} given {P}", "no {Tr} d/t {P}"],
              "prose": ["{Tr} was held because of {P}", "{Tr} was not started given {P}",
                        "We are holding {Tr} in the setting of {P}"]},
    "TeRP": {"short": ["{Te} w/ {P}", "{Te}: {P}", "{Te} showed {P}", "{Te} notable for {P}"],
             "prose": ["{Te} revealed {P}", "{Te} was notable for {P}", "{P} was seen on {Te}",
                       "{Te} demonstrated {P}"]},
    "TeCP": {"short": ["{Te} to r/o {P}", "{Te} for {P}", "check {Te} given {P}"],
             "prose": ["{Te} was obtained to evaluate {P}", "{Te} was ordered given {P}",
                       "{Subj} underwent {Te} for {P}"]},
    "none_hx": {"short": ["hx of {P}", "h/o {P}", "known {P}"],
                "prose": ["{Subj} has a history of {P}", "{Subj} is known to have {P}"]},
    "none_neg": {"short": ["denies {P}", "no {P}"],
                 "prose": ["{Subj} denies {P}", "There is no evidence of {P}", "{Subj} reports no {P}"]},
    "none_Te": {"short": ["{Te} pending", "{Te} unremarkable", "f/u {Te}"],
                "prose": ["{Te} is pending", "{Te} was unremarkable", "We will follow up the {Te}"]},
    "none_Tr": {"short": ["cont {Tr}", "on {Tr}"], "prose": ["Continue {Tr}", "{Subj} remains on {Tr}"]},
}
TREATMENT_KINDS = ("TrAP", "TrIP", "TrWP", "TrCP", "TrNAP")
TEST_KINDS = ("TeRP", "TeCP")
NONE_KINDS = ("none_hx", "none_neg", "none_Te", "none_Tr")


def _pair(rng: random.Random, kind: str) -> tuple[str | None, str | None]:
    """(treatment or test, problem) for a sentence of `kind`, from curated knowledge."""
    if kind in ("TrAP", "TrIP", "TrWP"):
        if rng.random() < 0.6:
            drug = rng.choice(V.DRUGS)
            problems = [x for x in drug.indications if x not in C.NOT_PROBLEMS]
            if problems:
                return drug.name, rng.choice(problems)
        return rng.choice(C.TREATS)
    if kind == "TrCP":
        if rng.random() < 0.7:
            drug = rng.choice(V.DRUGS)
            return drug.name, rng.choice(drug.ades)
        return rng.choice(C.CAUSES)
    if kind == "TrNAP":
        return rng.choice(C.WITHHELD)
    if kind == "TeRP":
        return rng.choice(C.REVEALS)
    if kind == "TeCP":
        return rng.choice(C.INVESTIGATES)
    if kind == "none_hx":
        return None, rng.choice(C.CHRONIC)
    if kind == "none_neg":
        return None, rng.choice(C.SYMPTOMS)
    if kind == "none_Te":
        return rng.choice(C.TESTS), None
    return rng.choice([d.name for d in V.DRUGS] + list(C.ONGOING)), None


def _concept_sentence(doc: Doc, rng: random.Random, kind: str, subj: Slot, used: set[str]) -> bool:
    """Write one sentence of `kind`; False (nothing written) if its concepts were already used."""
    style = doc.style
    agent, problem = _pair(rng, kind)
    if agent in used or problem in used:
        return False
    used.update(x for x in (agent, problem) if x)
    slots = {"Subj": subj}
    agent_slot = "Te" if kind.startswith("Te") or kind == "none_Te" else "Tr"
    if agent:
        slots[agent_slot] = Slot(V.term(style, rng, agent), "Test" if agent_slot == "Te" else "Treatment")
    if problem:
        slots["P"] = Slot(V.term(style, rng, problem), "Problem")
    found = doc.sentence(choose(rng, by_register(style, CONCEPT_SENTENCE[kind]), slots), slots)
    if not kind.startswith("none"):
        doc.relate(kind, found[agent_slot], found["P"])
    return True


def concept_scene(rng: random.Random, style: Style, kinds: tuple[str, ...]) -> Doc:
    """2-4 sentences, each of a kind drawn from `kinds` (plus relation-free mentions)."""
    doc, p = Doc(style, rng), V.patient(rng)
    subj = Slot(V.subject(style, rng, p))
    doc.section(rng.choice(("hpi", "course", "assessment", None)))
    used: set[str] = set()
    want, written = rng.randint(2, 4), 0
    for _ in range(20 * want):   # a sentence whose concepts were already used is redrawn
        kind = rng.choice(kinds) if rng.random() < 0.8 else rng.choice(NONE_KINDS)
        written += _concept_sentence(doc, rng, kind, subj, used)
        if written == want:
            break
    doc.finish()
    return doc


FAMILY = ("mother", "father", "sister", "brother", "maternal grandmother", "paternal uncle")
# section -> register -> templates; {D0} in "hpi" is an acute disease, all other {Dn} chronic ones
DISEASE_SENTENCE = {
    "pmh": {"short": ["{D0}, {D1}[, {D2}]", "{D0}; {D1}[; {D2}]", "hx {D0}[, {D1}][, {D2}]"],
            "prose": ["{Subj} has a history of {D0} and {D1}", "Past history is significant for {D0}[, {D1}][ and {D2}]",
                      "{Subj} carries diagnoses of {D0}[ and {D1}]"]},
    "fhx": {"short": ["{Rel} w/ {D0}", "{Rel}: {D0}[, {D1}]", "no FHx of {D0}"],
            "prose": ["{Poss} {Rel} had {D0}", "Family history is notable for {D0} in {Poss} {Rel}",
                      "There is no family history of {D0}"]},
    "hpi": {"short": ["adm w/ {D0}", "presents w/ {D0}[ on background of {D1}]", "r/o {D0}", "no hx of {D0}",
                      "{D1}, well controlled on {Med}"],
            "prose": ["{Subj} was admitted with {D0}", "{Subj} presents with {D0}[ in the setting of {D1}]",
                      "{Subj} was evaluated for possible {D0}", "There is no history of {D0}",
                      "{Poss} {D1} is well controlled on {Med}"]},
}


def disease_scene(rng: random.Random, style: Style) -> Doc:
    """2-3 sections mentioning 2-6 diseases (asserted, negated, hypothetical or familial)."""
    doc, p = Doc(style, rng), V.patient(rng)
    chronic = C.chronic_for(rng, p.sex, 8)
    common = {"Subj": Slot(V.subject(style, rng, p)), "Poss": Slot(p.poss.lower()), "Rel": Slot(rng.choice(FAMILY))}
    for key in rng.sample(("pmh", "fhx", "hpi"), rng.randint(2, 3)):
        names = [rng.choice(C.ACUTE) if key == "hpi" else chronic.pop()] + [chronic.pop() for _ in range(2)]
        slots = dict(common)
        for i, name in enumerate(names):
            slots[f"D{i}"] = Slot(V.term(style, rng, name), "Disease")
        treating = [d.name for d in V.DRUGS if names[1] in d.indications]
        if treating:   # "{D1} is well controlled on {Med}" only with a drug that treats D1
            slots["Med"] = Slot(V.term(style, rng, rng.choice(treating)))
        doc.section(key)
        doc.sentence(choose(rng, by_register(style, DISEASE_SENTENCE[key]), slots), slots)
    doc.finish()
    return doc
