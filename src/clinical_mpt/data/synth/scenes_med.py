"""Medication notes (n2c2-2018 style): drug mentions with their attributes, and adverse drug events.

`med_scene` writes 1-3 drug mentions (Drug, Strength, Dosage, Form, Route, Frequency) and relates
every attribute to its drug (`Strength-Drug`, ...): running sentences ("Started metoprolol 25 mg PO
BID"), sig lines ("Take 1 tablet by mouth twice daily"), numbered or dashed medication lists, tapers,
held and stopped drugs, PRN doses with their indication, and allergy lines naming drugs. `ade_scene`
writes drugs with the problem they were given for (`Reason-Drug`) and the adverse effect they caused
(`ADE-Drug`). Which adverse effect or reason goes with which drug comes from the curated vocabulary,
so every relation is plausible. Drug names, routes, frequencies, forms and dose counts come from
`vocab_meds` (generic, brand, salt and abbreviated names; PO / po / by mouth; BID / twice daily).
"""

from __future__ import annotations

import dataclasses
import random

from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth import vocab_clinical as C
from clinical_mpt.data.synth import vocab_meds as M
from clinical_mpt.data.synth.compose import Doc, Slot, by_register, choose, suffixed
from clinical_mpt.data.synth.styles import Style

MED_ATTRS = ("Strength", "Dosage", "Form", "Route", "Frequency")

# one drug mention; slots are suffixed per mention ({Drug0}, {Strength0}, ...); {Why}: a PRN indication
MENTION = {
    "short": [
        "{Drug}[ {Strength}][ {Form}][ {Route}][ {Frequency}][ {Why}]",
        "{Drug}[ {Strength}][ {Dosage}][ {Route}][ {Frequency}][ {Why}]",
        "{Drug}[ {Strength}][ {Route}][ {Frequency}][ x{Days}]",
        "{Drug}[ {Strength}][ {Form}], {Dosage}[ {Route}][ {Frequency}]",
        "{Drug}[ ({Strength})][ {Route}][ {Frequency}]",
        "{Drug}[ {Strength}][ {Form}]: {Dosage}[ {Route}][ {Frequency}][ {Why}]",
        "{Drug}[ {Strength}][ {Frequency}][ {Route}]",
        "{Drug}[ {Strength}] - {Dosage}[ {Route}][ {Frequency}]",
    ],
    "prose": [
        "{Drug}[ {Strength}][ {Route}][ {Frequency}][ {Why}]",
        "{Drug}[ {Strength}][ {Form}][, {Dosage}][ {Frequency}]",
        "{Dosage} of {Drug}[ {Strength}][ {Route}][ {Frequency}]",
        "{Drug}[ {Strength}] {Route}[ {Frequency}][ for {Days}]",
        "{Drug}[ {Strength}][ {Frequency}][ {Route}]",
        "{Drug}[ {Strength}] {Frequency} as needed for {Why}",
    ],
    "fields": [
        "{Drug}[ | {Strength}][ | {Form}][ | {Dosage}][ | {Route}][ | {Frequency}]",
        "{Drug}[ {Strength}][ | {Route}][ | {Frequency}]",
    ],
}
# a prescription with its sig line (Dosage, Route and Frequency always given)
SIG = [
    "{Drug}[ {Strength}][ {Form}]. Sig: <Take|take|TAKE> {Dosage} {Route} {Frequency}[ {Why}]",
    "{Drug}[ {Strength}][ {Form}] - take {Dosage} {Route} {Frequency}[ {Why}]",
    "{Drug}[ {Strength}][ {Form}]: {Dosage} {Route} {Frequency}[ x{Days}]",
    "<Take|take> {Dosage} of {Drug}[ {Strength}] {Route} {Frequency}",
    "{Drug}[ {Strength}][ {Form}], sig: {Dosage} {Route} {Frequency}[ {Why}]",
    "{Drug}[ {Strength}][ {Form}] <take|use|give> {Dosage} {Route} {Frequency}[ for {Days}]",
    "{Drug}[ {Strength}] {Dosage} {Route} {Frequency}[ {Why}][ #{Qty}][, {Refills} refills]",
]

# a sentence around one or more mentions ({M})
FRAME = {
    "short": ["{M}", "Started {M}", "Cont {M}", "Home: {M}", "Restarted {M}", "{M} given in ED",
              "Increase to {M}", "Discharged on {M}", "Change to {M}", "Start {M}", "Continue {M}",
              "Decrease to {M}", "Resume home {M}", "New: {M}", "{M} - no change", "{M}, cont at d/c",
              "Pt on {M}", "Rec {M}", "Switched to {M}", "Hold {M}", "Held {M}",
              "D/c {M}", "Stopped {M}", "{M} (held)", "Outpt med: {M}", "Will start {M}", "Gave {M}"],
    "prose": ["{Subj} was started on {M}", "{Subj} takes {M}", "{Subj} was continued on {M}",
              "{Subj} was discharged on {M}", "{Subj} received {M} in the emergency department",
              "Home medications include {M}", "We will continue {M}", "{Subj} reports taking {M} at home",
              "{Subj} was switched to {M}", "{Subj} was instructed to take {M}", "Please take {M}",
              "{Subj} should stop taking {M}", "{M} was held on admission", "{M} was discontinued",
              "{M} was restarted at discharge", "{Subj} was given {M} with good effect",
              "We increased the dose to {M}", "{Subj} has been taking {M} for years",
              "{Subj} was given a dose of {M}", "{Subj} ran out of {M} last week", "Resume {M}"],
    "fields": ["{M}"],
}
# the heading of a medication list
LIST_HEAD = ("Discharge medications:", "Home meds:", "Medications on discharge:", "DISCHARGE MEDS:", "Meds:",
             "Current outpatient medications:", "Medications on admission:", "Home medications:", "Rx:",
             "New medications:", "Current meds:", "MEDICATIONS:")
LIST_ITEM = ("\n{n}. ", "\n{n}) ", "\n- ", "\n* ", "\n", " ")
# a taper or titration of one drug: several strengths and frequencies of the same drug
TAPER = {
    "short": ["{Drug} taper: {S0} {F0} x {D0}, then {S1} {F1} x {D1}, then {S2}[ {F2}] x {D2}, then stop",
              "{Drug} {S0}[ {R}] {F0} x {D0} then {S1} {F1} x {D1} then off",
              "Taper {Drug}: {S0} x {D0} -> {S1} x {D1} -> {S2} x {D2}",
              "Titrate {Drug}: {S2} {F0} x {D0}, then {S1} {F1}"],
    "prose": ["{Drug} will be tapered: {S0} {F0} for {D0}, then {S1} {F1} for {D1}, then {S2}[ {F2}] for {D2}, then stop",
              "{Subj} was discharged on a {Drug} taper starting at {S0} {F0} and decreasing to {S1} after {D0}",
              "We will decrease {Drug} from {S0} to {S1}[ {R}] {F1}"],
}
# a PRN indication after a PRN frequency
PRN_WHY = ("for {}", "{}", "for {}")

INTRO = {
    "short": ["{AgeSex} w/ hx of {Problem}", "{AgeSex}, PMH {Problem}", "{AgeSex} here for {Problem}",
              "{AgeSex} admitted w/ {Problem}", "{AgeSex} with {Problem}, seen for med rec"],
    "prose": ["{Subj} is a {AgeSex} with a history of {Problem}", "{Subj} is a {AgeSex} followed for {Problem}",
              "{Subj} is a {AgeSex} admitted with {Problem}"],
    "fields": ["{AgeSex} | {Problem}"],
}
TAIL = {
    "short": ["NKDA", "Tolerating PO", "Will monitor BP and HR", "Allergies: {Allergy}[ ({Reaction})]",
              "Reviewed w/ pharmacy", "Pt counseled on side effects", "All: {Allergy}[ - {Reaction}]",
              "Allergic to {Allergy}[ ({Reaction})]", "No known drug allergies", "Med rec done"],
    "prose": ["{Subj} has no known drug allergies", "{Subj} is tolerating a regular diet",
              "Medications were reconciled with pharmacy", "{Subj} was counseled on possible side effects",
              "{Subj} is allergic to {Allergy}[, which caused {Reaction}]", "{Subj} reports an allergy to {Allergy}"],
    "fields": ["Allergies | {Allergy}", "NKDA"],
}


TAPER_DRUGS = ("prednisone", "gabapentin", "sertraline", "quetiapine", "carvedilol", "metoprolol", "levetiracetam",
               "escitalopram", "trazodone", "furosemide")


def writer(rng: random.Random, style: Style) -> Style:
    """The institution's style with this note's writer's own shorthand habit (real notes mix
    'by mouth' and 'PO' within one hospital): the abbreviation rate moves by up to -0.35 / +0.2."""
    rate = min(0.95, max(0.0, style.abbrev_rate + rng.uniform(-0.35, 0.2)))
    return dataclasses.replace(style, abbrev_rate=round(rate, 3))


def _why(rng: random.Random, style: Style, drug: V.Drug) -> str:
    return rng.choice(PRN_WHY).format(V.term(style, rng, rng.choice(drug.indications)))


def _mention_slots(rng: random.Random, style: Style, drug: V.Drug, i: int, sig: bool = False) -> dict[str, Slot]:
    """The slots of one mention; `sig`: a prescription line, which always has Dosage, Route and Frequency."""
    slots = {f"Drug{i}": Slot(M.drug_name(style, rng, drug), "Drug")}
    wanted = {"Strength": 0.85, "Route": 0.65, "Frequency": 0.75, "Form": 0.4, "Dosage": 0.3}
    if sig:
        wanted.update(Route=1.0, Frequency=1.0, Dosage=1.0, Strength=0.7, Form=0.5)
    has = {a for a in MED_ATTRS if rng.random() < wanted[a]}
    freq_key = rng.choice(drug.freqs)
    if "Strength" in has:
        slots[f"Strength{i}"] = Slot(M.strength(style, rng, drug), "Strength")
    if "Route" in has:
        slots[f"Route{i}"] = Slot(M.route(style, rng, rng.choice(drug.routes)), "Route")
    if "Frequency" in has:
        slots[f"Frequency{i}"] = Slot(M.freq(style, rng, freq_key), "Frequency")
        if M.is_prn(freq_key) and rng.random() < 0.6:
            slots[f"Why{i}"] = Slot(_why(rng, style, drug))
    if "Form" in has and drug.form in M.FORMS:
        slots[f"Form{i}"] = Slot(style.pick(rng, *M.FORMS[drug.form]), "Form")
    if "Dosage" in has and drug.form in M.DOSAGES:
        slots[f"Dosage{i}"] = Slot(style.pick(rng, *M.DOSAGES[drug.form]), "Dosage")
    if rng.random() < 0.2:
        slots[f"Days{i}"] = Slot(V.duration(style, rng, 3, 14))
    if sig and rng.random() < 0.3:
        slots[f"Qty{i}"] = Slot(str(rng.choice((14, 30, 60, 90, 20, 28))))
        slots[f"Refills{i}"] = Slot(str(rng.randint(0, 5)))
    return slots


def _common_slots(rng: random.Random, style: Style, p: V.Patient) -> dict[str, Slot]:
    drug_allergy = rng.random() < 0.75
    allergen = rng.choice(M.ALLERGENS if drug_allergy else M.NON_DRUG_ALLERGENS)
    slots = {"Subj": Slot(V.subject(style, rng, p)), "AgeSex": Slot(V.age_sex(style, rng, p)),
             "Problem": Slot(V.term(style, rng, C.chronic_for(rng, p.sex, 1)[0])),
             "Allergy": Slot(allergen, "Drug" if drug_allergy else None)}
    if rng.random() < 0.6:
        slots["Reaction"] = Slot(rng.choice(M.REACTIONS))
    return slots


def _relate_mentions(doc: Doc, found: dict[str, dict], n: int) -> None:
    for i in range(n):
        for attr in MED_ATTRS:
            if f"{attr}{i}" in found:
                doc.relate(f"{attr}-Drug", found[f"{attr}{i}"], found[f"Drug{i}"])


def _fragment(rng: random.Random, style: Style, drug: V.Drug, i: int, sig: bool) -> tuple[str, dict[str, Slot]]:
    """One mention's template (slots suffixed with i) and its slots (a sig line only for a drug
    whose form has dose counts: no '1 tab' of an insulin pen or a drip)."""
    sig = sig and drug.form in M.DOSAGES
    s = _mention_slots(rng, style, drug, i, sig)
    local = {k[:-len(str(i))]: v for k, v in s.items()}
    templates = SIG if sig else by_register(style, MENTION)
    return suffixed(choose(rng, templates, local), i), s


def _med_sentence(doc: Doc, rng: random.Random, drugs: list[V.Drug], common: dict[str, Slot]) -> None:
    style = doc.style
    slots = dict(common)
    fragments = []
    sig = len(drugs) == 1 and rng.random() < 0.25
    for i, drug in enumerate(drugs):
        fragment, s = _fragment(rng, style, drug, i, sig)
        slots.update(s)
        fragments.append(fragment)
    joiner = " | " if style.register == "fields" else rng.choice((", ", "; ", " and ", " + ", ", "))
    frame = "{M}" if sig and rng.random() < 0.6 else rng.choice(by_register(style, FRAME))
    found = doc.sentence(frame.replace("{M}", joiner.join(fragments)), slots)
    _relate_mentions(doc, found, len(drugs))


def _med_list(doc: Doc, rng: random.Random, drugs: list[V.Drug]) -> None:
    """A headed list, one drug per item: '\\n1. ', '\\n- ', ... (not laid out by the style)."""
    style = doc.style
    doc.raw(rng.choice(LIST_HEAD))
    item, sig = rng.choice(LIST_ITEM), rng.random() < 0.3
    for n, drug in enumerate(drugs, start=1):
        doc.raw(item.format(n=n))
        fragment, slots = _fragment(rng, style, drug, 0, sig)
        _relate_mentions(doc, doc.fill(fragment, slots), 1)
        if item == " " and n < len(drugs):
            doc.raw(";")


def _taper_sentence(doc: Doc, rng: random.Random, common: dict[str, Slot]) -> None:
    """One drug at three decreasing strengths (a taper; read backwards, a titration)."""
    style = doc.style
    name = rng.choice(TAPER_DRUGS)
    drug = next(d for d in M.MED_DRUGS if d.name == name)
    unit = drug.strengths[0][1]
    values = sorted({v for v, u in drug.strengths if u == unit}, key=float, reverse=True)
    while len(values) < 3:
        values.append(f"{float(values[-1]) / 2:g}")
    slots = dict(common, Drug=Slot(M.drug_name(style, rng, drug), "Drug"))
    for k, value in enumerate(values[:3]):
        slots[f"S{k}"] = Slot(style.amount(rng, value, unit), "Strength")
        slots[f"F{k}"] = Slot(M.freq(style, rng, rng.choice(drug.freqs)), "Frequency")
        slots[f"D{k}"] = Slot(V.duration(style, rng, 2, 7))
    if rng.random() < 0.4:
        slots["R"] = Slot(M.route(style, rng, drug.routes[0]), "Route")
    found = doc.sentence(rng.choice(by_register(style, TAPER)), slots)
    for name, ent in found.items():
        if name != "Drug":
            doc.relate(f"{ent['type']}-Drug", ent, found["Drug"])


def med_scene(rng: random.Random, style: Style) -> Doc:
    """1-3 sentences, a list or a taper naming 1-3 drugs with attributes; relations `<Attr>-Drug`
    (head: attribute)."""
    doc, p = Doc(writer(rng, style), rng), V.patient(rng)
    common = _common_slots(rng, doc.style, p)
    drugs = rng.sample(M.MED_DRUGS, rng.randint(1, 3))
    shape = rng.random()
    if shape < 0.2:
        _med_list(doc, rng, drugs)
        if rng.random() < 0.3:
            doc.raw("\n")
            doc.sentence(rng.choice(by_register(doc.style, TAIL)), common)
        doc.finish()
        return doc
    if rng.random() < 0.3:
        doc.section("hpi")
        doc.sentence(rng.choice(by_register(doc.style, INTRO)), common)
    doc.section(rng.choice(("meds", "plan", "meds", None)))
    if shape < 0.3:
        _taper_sentence(doc, rng, common)
        drugs = drugs[:1]
    one_per_sentence = doc.style.layout in ("bullets", "templated") or rng.random() < 0.5
    groups = [[d] for d in drugs] if one_per_sentence else [drugs]
    for group in groups:
        _med_sentence(doc, rng, group, common)
    if rng.random() < 0.3:
        doc.sentence(rng.choice(by_register(doc.style, TAIL)), common)
    doc.finish()
    return doc


# adverse drug events: in every sentence, ADE -> Drug and Reason -> Drug (Drug2 takes no part)
ADE_SENTENCE = {
    "short": [
        "{Drug} for {Reason}, c/b {ADE}", "{ADE} 2/2 {Drug}", "{Drug} held for {ADE}",
        "{Drug} d/c'd due to {ADE}[, changed to {Drug2}]", "new {ADE} after starting {Drug}[ for {Reason}]",
        "{Drug} for {Reason}", "tolerating {Drug} w/o issues", "{ADE} likely from {Drug}, will stop",
        "c/o {ADE} since {Drug} started", "on {Drug} for {Reason}[; {Drug2} also started]",
        "{Drug} stopped 2/2 {ADE}", "hx of {ADE} on {Drug}", "{ADE} on {Drug}[, switched to {Drug2}]",
        "intolerant of {Drug} ({ADE})", "{Drug} ({ADE})", "{Drug} for {Reason} -> {ADE}",
        "{Drug} dose reduced for {ADE}", "started {Drug} for {Reason}", "{Drug} caused {ADE}[, now on {Drug2}]",
        "{ADE} resolved after {Drug} held", "? {ADE} from {Drug}", "{Drug} (for {Reason}) held - {ADE}",
        "ADR: {Drug} -> {ADE}", "{Reason} on {Drug}[ + {Drug2}]",
    ],
    "prose": [
        "{Subj} developed {ADE} after starting {Drug}[ for {Reason}]",
        "{Drug} was discontinued because of {ADE}[ and {Drug2} was started instead]",
        "{ADE} was attributed to {Drug}", "{Drug} was started for {Reason} and was complicated by {ADE}",
        "{Subj} was started on {Drug} for {Reason}", "{Subj} has tolerated {Drug} without side effects",
        "{ADE} is likely secondary to {Drug}, which was held", "{Subj} reports {ADE} since starting {Drug}",
        "{Drug} was given for {Reason}", "{Drug} was held in the setting of {ADE}",
        "{Subj} could not tolerate {Drug} because of {ADE}", "{Drug} was changed to {Drug2} after {Subj} developed {ADE}",
        "{Subj} is intolerant of {Drug}, which caused {ADE}", "The dose of {Drug} was reduced because of {ADE}",
        "{Subj} takes {Drug} for {Reason}", "{Drug} for {Reason} was continued despite mild {ADE}",
        "{ADE} improved after {Drug} was stopped", "{Subj} reports a history of {ADE} with {Drug}",
    ],
    "fields": [
        "{Drug} | {Reason} | {ADE}", "{Drug} | indication {Reason}", "{Drug} | stopped: {ADE}",
        "ADR: {ADE} ({Drug})", "{Drug} | {Reason}[ | alt {Drug2}]",
    ],
}


def _ade_sentence(doc: Doc, rng: random.Random, drug: V.Drug, common: dict[str, Slot]) -> None:
    style = doc.style
    slots = dict(common)
    slots["Drug"] = Slot(M.drug_name(style, rng, drug), "Drug")
    if rng.random() < 0.75:
        slots["ADE"] = Slot(V.term(style, rng, rng.choice(drug.ades)), "ADE")
    if rng.random() < 0.7:
        slots["Reason"] = Slot(V.term(style, rng, rng.choice(drug.indications)), "Reason")
    if rng.random() < 0.5:
        others = [d for d in M.MED_DRUGS if d.name != drug.name and set(d.indications) & set(drug.indications)]
        other = rng.choice(others or [d for d in M.MED_DRUGS if d.name != drug.name])
        slots["Drug2"] = Slot(M.drug_name(style, rng, other), "Drug")
    found = doc.sentence(choose(rng, by_register(style, ADE_SENTENCE), slots), slots)
    for arg in ("ADE", "Reason"):
        if arg in found:
            doc.relate(f"{arg}-Drug", found[arg], found["Drug"])


def ade_scene(rng: random.Random, style: Style) -> Doc:
    """1-3 sentences about drugs, their reasons and adverse effects; relations `ADE-Drug`, `Reason-Drug`."""
    doc, p = Doc(writer(rng, style), rng), V.patient(rng)
    common = _common_slots(rng, doc.style, p)
    doc.section(rng.choice(("hpi", "course", "assessment", "meds", None)))
    for drug in rng.sample(M.MED_DRUGS, rng.randint(1, 3)):
        _ade_sentence(doc, rng, drug, common)
    doc.finish()
    return doc
