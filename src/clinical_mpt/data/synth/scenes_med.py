"""Medication notes (n2c2-2018 style): drug mentions with their attributes, and adverse drug events.

`med_scene` writes 1-3 drug mentions (Drug, Strength, Dosage, Form, Route, Frequency) and relates
every attribute to its drug (`Strength-Drug`, ...). `ade_scene` writes drugs with the problem they
were given for (`Reason-Drug`) and the adverse effect they caused (`ADE-Drug`). Which adverse effect
or reason goes with which drug comes from the curated vocabulary, so every relation is plausible.
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth import vocab_clinical as C
from clinical_mpt.data.synth.compose import Doc, Slot, by_register, choose, suffixed
from clinical_mpt.data.synth.styles import Style

MED_ATTRS = ("Strength", "Dosage", "Form", "Route", "Frequency")

# one drug mention; slots are suffixed per mention ({Drug0}, {Strength0}, ...)
MENTION = {
    "short": [
        "{Drug}[ {Strength}][ {Form}][ {Route}][ {Frequency}]",
        "{Drug}[ {Strength}][ {Dosage}][ {Route}][ {Frequency}]",
        "{Drug}[ {Strength}][ {Route}][ {Frequency}][ x{Days}]",
        "{Drug}[ {Strength}][ {Form}], {Dosage}[ {Route}][ {Frequency}]",
        "{Drug}[ ({Strength})][ {Route}][ {Frequency}]",
    ],
    "prose": [
        "{Drug}[ {Strength}][ {Route}][ {Frequency}]",
        "{Drug}[ {Strength}][ {Form}][, {Dosage}][ {Frequency}]",
        "{Dosage} of {Drug}[ {Strength}][ {Route}][ {Frequency}]",
        "{Drug}[ {Strength}] {Route}[ {Frequency}][ for {Days}]",
        "{Drug}[ {Strength}][ {Frequency}][ {Route}]",
    ],
    "fields": [
        "{Drug}[ | {Strength}][ | {Form}][ | {Dosage}][ | {Route}][ | {Frequency}]",
        "{Drug}[ {Strength}][ | {Route}][ | {Frequency}]",
    ],
}

# a sentence around one or more mentions ({M})
FRAME = {
    "short": ["{M}", "Started {M}", "Cont {M}", "Home: {M}", "Restarted {M}", "{M} given in ED",
              "Increase to {M}", "Discharged on {M}", "Change to {M}"],
    "prose": ["{Subj} was started on {M}", "{Subj} takes {M}", "{Subj} was continued on {M}",
              "{Subj} was discharged on {M}", "{Subj} received {M} in the emergency department",
              "Home medications include {M}", "We will continue {M}", "{Subj} reports taking {M} at home",
              "{Subj} was switched to {M}"],
    "fields": ["{M}"],
}

INTRO = {
    "short": ["{AgeSex} w/ hx of {Problem}", "{AgeSex}, PMH {Problem}", "{AgeSex} here for {Problem}"],
    "prose": ["{Subj} is a {AgeSex} with a history of {Problem}", "{Subj} is a {AgeSex} followed for {Problem}"],
    "fields": ["{AgeSex} | {Problem}"],
}
TAIL = {
    "short": ["NKDA", "Tolerating PO", "Will monitor BP and HR", "Allergies: {Allergy}", "Reviewed w/ pharmacy",
              "Pt counseled on side effects"],
    "prose": ["{Subj} has no known drug allergies", "{Subj} is tolerating a regular diet",
              "Medications were reconciled with pharmacy", "{Subj} was counseled on possible side effects",
              "{Subj} is allergic to {Allergy}"],
    "fields": ["Allergies | {Allergy}", "NKDA"],
}
ALLERGIES = ("penicillin", "sulfa drugs", "codeine", "latex", "shellfish", "iodinated contrast")


def _mention_slots(rng: random.Random, style: Style, drug: V.Drug, i: int) -> dict[str, Slot]:
    slots = {f"Drug{i}": Slot(V.term(style, rng, drug.name), "Drug")}
    wanted = {"Strength": 0.85, "Route": 0.6, "Frequency": 0.75, "Form": 0.25, "Dosage": 0.25}
    has = {a for a in MED_ATTRS if rng.random() < wanted[a]}
    if "Strength" in has:
        slots[f"Strength{i}"] = Slot(V.strength(style, rng, drug), "Strength")
    if "Route" in has:
        slots[f"Route{i}"] = Slot(V.route(style, rng, rng.choice(drug.routes)), "Route")
    if "Frequency" in has:
        slots[f"Frequency{i}"] = Slot(V.freq(style, rng, rng.choice(drug.freqs)), "Frequency")
    if "Form" in has and drug.form in V.FORMS:
        slots[f"Form{i}"] = Slot(style.pick(rng, *V.FORMS[drug.form]), "Form")
    if "Dosage" in has and drug.form in V.DOSAGES:
        slots[f"Dosage{i}"] = Slot(style.pick(rng, *V.DOSAGES[drug.form]), "Dosage")
    if rng.random() < 0.2:
        slots[f"Days{i}"] = Slot(V.duration(style, rng, 3, 14))
    return slots


def _common_slots(rng: random.Random, style: Style, p: V.Patient) -> dict[str, Slot]:
    return {"Subj": Slot(V.subject(style, rng, p)), "AgeSex": Slot(V.age_sex(style, rng, p)),
            "Problem": Slot(V.term(style, rng, C.chronic_for(rng, p.sex, 1)[0])), "Allergy": Slot(rng.choice(ALLERGIES))}


def _med_sentence(doc: Doc, rng: random.Random, drugs: list[V.Drug], common: dict[str, Slot]) -> None:
    style = doc.style
    slots = dict(common)
    fragments = []
    for i, drug in enumerate(drugs):
        s = _mention_slots(rng, style, drug, i)
        slots.update(s)
        local = {k[:-len(str(i))]: v for k, v in s.items()}
        fragments.append(suffixed(choose(rng, by_register(style, MENTION), local), i))
    joiner = " | " if style.register == "fields" else rng.choice((", ", "; ", " and "))
    frame = rng.choice(by_register(style, FRAME))
    found = doc.sentence(frame.replace("{M}", joiner.join(fragments)), slots)
    for i in range(len(drugs)):
        for attr in MED_ATTRS:
            if f"{attr}{i}" in found:
                doc.relate(f"{attr}-Drug", found[f"{attr}{i}"], found[f"Drug{i}"])


def med_scene(rng: random.Random, style: Style) -> Doc:
    """1-3 sentences naming 1-3 drugs with attributes; relations `<Attr>-Drug` (head: attribute)."""
    doc, p = Doc(style, rng), V.patient(rng)
    common = _common_slots(rng, style, p)
    drugs = rng.sample(V.DRUGS, rng.randint(1, 3))
    if rng.random() < 0.35:
        doc.section("hpi")
        doc.sentence(rng.choice(by_register(style, INTRO)), common)
    doc.section(rng.choice(("meds", "plan", "meds", None)))
    one_per_sentence = style.layout in ("bullets", "templated") or rng.random() < 0.5
    groups = [[d] for d in drugs] if one_per_sentence else [drugs]
    for group in groups:
        _med_sentence(doc, rng, group, common)
    if rng.random() < 0.3:
        doc.sentence(rng.choice(by_register(style, TAIL)), common)
    doc.finish()
    return doc


# adverse drug events: in every sentence, ADE -> Drug and Reason -> Drug (Drug2 takes no part)
ADE_SENTENCE = {
    "short": [
        "{Drug} for {Reason}, c/b {ADE}", "{ADE} 2/2 {Drug}", "{Drug} held for {ADE}",
        "{Drug} d/c'd due to {ADE}[, changed to {Drug2}]", "new {ADE} after starting {Drug}[ for {Reason}]",
        "{Drug} for {Reason}", "tolerating {Drug} w/o issues", "{ADE} likely from {Drug}, will stop",
        "c/o {ADE} since {Drug} started", "on {Drug} for {Reason}[; {Drug2} also started]",
    ],
    "prose": [
        "{Subj} developed {ADE} after starting {Drug}[ for {Reason}]",
        "{Drug} was discontinued because of {ADE}[ and {Drug2} was started instead]",
        "{ADE} was attributed to {Drug}", "{Drug} was started for {Reason} and was complicated by {ADE}",
        "{Subj} was started on {Drug} for {Reason}", "{Subj} has tolerated {Drug} without side effects",
        "{ADE} is likely secondary to {Drug}, which was held", "{Subj} reports {ADE} since starting {Drug}",
        "{Drug} was given for {Reason}", "{Drug} was held in the setting of {ADE}",
    ],
    "fields": [
        "{Drug} | {Reason} | {ADE}", "{Drug} | indication {Reason}", "{Drug} | stopped: {ADE}",
        "ADR: {ADE} ({Drug})", "{Drug} | {Reason}[ | alt {Drug2}]",
    ],
}


def _ade_sentence(doc: Doc, rng: random.Random, drug: V.Drug, common: dict[str, Slot]) -> None:
    style = doc.style
    slots = dict(common)
    slots["Drug"] = Slot(V.term(style, rng, drug.name), "Drug")
    if rng.random() < 0.75:
        slots["ADE"] = Slot(V.term(style, rng, rng.choice(drug.ades)), "ADE")
    if rng.random() < 0.7:
        slots["Reason"] = Slot(V.term(style, rng, rng.choice(drug.indications)), "Reason")
    if rng.random() < 0.5:
        others = [d for d in V.DRUGS if d.name != drug.name and set(d.indications) & set(drug.indications)]
        other = rng.choice(others or [d for d in V.DRUGS if d.name != drug.name])
        slots["Drug2"] = Slot(V.term(style, rng, other.name), "Drug")
    found = doc.sentence(choose(rng, by_register(style, ADE_SENTENCE), slots), slots)
    for arg in ("ADE", "Reason"):
        if arg in found:
            doc.relate(f"{arg}-Drug", found[arg], found["Drug"])


def ade_scene(rng: random.Random, style: Style) -> Doc:
    """1-3 sentences about drugs, their reasons and adverse effects; relations `ADE-Drug`, `Reason-Drug`."""
    doc, p = Doc(style, rng), V.patient(rng)
    common = _common_slots(rng, style, p)
    doc.section(rng.choice(("hpi", "course", "assessment", "meds", None)))
    for drug in rng.sample(V.DRUGS, rng.randint(1, 3)):
        _ade_sentence(doc, rng, drug, common)
    doc.finish()
    return doc
