"""Extractive question answering over short notes (emrQA / SQuAD style).

Each generator composes a note with `Doc`, marking the spans that questions may ask about as typed
entities; a question is then drawn for one of them, and the answer is that span's exact text.
Questions name things by their canonical names, while the note may use shorthand ("HTN").
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth import vocab_clinical as C
from clinical_mpt.data.synth.compose import Doc, Slot, by_register, choose
from clinical_mpt.data.synth.styles import Style


def _example(doc: Doc, rng: random.Random, questions: dict[str, list[str]]) -> dict:
    """Ask about one marked span that has questions; the answer is the span's text."""
    spans = {e["type"]: e for e in reversed(doc.entities)}   # first occurrence wins
    askable = [k for k in questions if k in spans and questions[k]]
    key = rng.choice(askable)
    return {"context": doc.text, "question": rng.choice(questions[key]), "answers": [spans[key]["text"]]}


UNITS = ("the medicine floor", "the MICU", "telemetry", "the step-down unit", "the CCU", "the surgical floor")
ADMISSION = {
    "intro": {"short": ["{AgeSex} w/ hx of {PMH} p/w {CC} x {Dur}", "{AgeSex}, PMH {PMH}, c/o {CC} for {Dur}"],
              "prose": ["{Subj} is a {AgeSex} with a history of {PMH} who presents with {CC} for {Dur}",
                        "This {AgeSex} with {PMH} came to the emergency department with {Dur} of {CC}"]},
    "admit": {"short": ["Admitted {AdmDate} to {Unit}", "adm to {Unit} on {AdmDate}"],
              "prose": ["{Subj} was admitted to {Unit} on {AdmDate}", "On {AdmDate} {Subj2} was admitted to {Unit}"]},
    "test": {"short": ["{Test} w/ {Finding}", "{Test}: {Finding}"],
             "prose": ["{Test} showed {Finding}", "{Test} was notable for {Finding}"]},
    "drug": {"short": ["started {Drug} {Strength} {Freq} for {Dx}", "{Dx}: {Drug} {Strength} {Freq}"],
             "prose": ["{Subj} was started on {Drug} {Strength} {Freq} for {Dx}", "{Dx} was treated with {Drug} {Strength} {Freq}"]},
}


def admission_qa(rng: random.Random, style: Style) -> dict:
    """A short admission note; questions on complaint, duration, date, unit, test result, drug and dose."""
    doc, p = Doc(style, rng), V.patient(rng)
    test, finding = rng.choice(C.REVEALS)
    drug = rng.choice([d for d in V.DRUGS if set(d.indications) - set(C.NOT_PROBLEMS)])
    cc, dx = rng.choice(C.SYMPTOMS), rng.choice([x for x in drug.indications if x not in C.NOT_PROBLEMS])
    slots = {"Subj": Slot(V.subject(style, rng, p)), "Subj2": Slot(p.pronoun.lower()), "AgeSex": Slot(V.age_sex(style, rng, p)),
             "PMH": Slot(V.term(style, rng, C.chronic_for(rng, p.sex, 1)[0])), "CC": Slot(V.term(style, rng, cc), "CC"),
             "Dur": Slot(V.duration(style, rng, 2, 10), "Dur"), "AdmDate": Slot(V.date(style, rng), "AdmDate"),
             "Unit": Slot(rng.choice(UNITS), "Unit"), "Test": Slot(V.term(style, rng, test)),
             "Finding": Slot(V.term(style, rng, finding), "Finding"), "Drug": Slot(V.term(style, rng, drug.name), "Drug"),
             "Strength": Slot(V.strength(style, rng, drug), "Strength"),
             "Freq": Slot(V.freq(style, rng, rng.choice(drug.freqs))), "Dx": Slot(V.term(style, rng, dx))}
    doc.section("hpi")
    for part in ("intro", "admit"):
        doc.sentence(rng.choice(by_register(style, ADMISSION[part])), slots)
    doc.section("course")
    for part in rng.sample(("test", "drug"), 2):
        doc.sentence(rng.choice(by_register(style, ADMISSION[part])), slots)
    doc.finish()
    return _example(doc, rng, {
        "CC": ["What did the patient present with?", "What was the presenting complaint?", "Why did the patient come in?"],
        "Dur": [f"How long had the patient had {cc}?", f"For how long has the {cc} been going on?"],
        "AdmDate": ["When was the patient admitted?", "What was the date of admission?"],
        "Unit": ["Where was the patient admitted?", "To which unit was the patient admitted?"],
        "Finding": [f"What did the {test} show?", f"What was found on the {test}?"],
        "Drug": [f"What medication was started for {dx}?", f"What was the patient given for {dx}?"],
        "Strength": [f"What dose of {drug.name} was started?", f"What was the dose of {drug.name}?"],
    })


MED_LINE = {
    "short": ["{Drug} {Strength} {Route} {Freq}[ for {Reason}]", "{Drug} {Strength} {Freq}[ ({Reason})]",
              "{Drug} {Strength}, {Route}, {Freq}[, indication: {Reason}]"],
    "prose": ["{Drug} {Strength} {Route} {Freq}[ for {Reason}]", "{Drug} {Strength} taken {Freq}[ for {Reason}]"],
}


def med_qa(rng: random.Random, style: Style) -> dict:
    """A medication list of 3-4 drugs; questions on one drug's dose, frequency, route or reason."""
    doc = Doc(style, rng)
    drugs, reasons, n = [], [], rng.choice((3, 4))
    for drug in rng.sample(V.DRUGS, 8):   # distinct stated reasons, so "taking for X" has one answer
        reason = rng.choice(drug.indications)
        if reason not in reasons and len(drugs) < n:
            drugs.append(drug)
            reasons.append(reason)
    target = rng.randrange(len(drugs))
    doc.section("meds")
    for i, (drug, reason) in enumerate(zip(drugs, reasons)):
        tag = "" if i == target else "_other"
        slots = {"Drug": Slot(V.term(style, rng, drug.name), "Drug" + tag),
                 "Strength": Slot(V.strength(style, rng, drug), "Strength" + tag),
                 "Route": Slot(V.route(style, rng, rng.choice(drug.routes)), "Route" + tag),
                 "Freq": Slot(V.freq(style, rng, rng.choice(drug.freqs)), "Freq" + tag)}
        if rng.random() < 0.7:
            slots["Reason"] = Slot(V.term(style, rng, reason), "Reason" + tag)
        doc.sentence(choose(rng, by_register(style, MED_LINE), slots), slots)
    doc.finish()
    name, reason = drugs[target].name, reasons[target]
    return _example(doc, rng, {
        "Strength": [f"What is the dose of {name}?", f"How much {name} does the patient take?"],
        "Freq": [f"How often is {name} taken?", f"What is the frequency of {name}?"],
        "Route": [f"How is {name} administered?", f"By what route is {name} given?"],
        "Reason": [f"Why is the patient on {name}?", f"What is {name} prescribed for?"],
        "Drug": [f"Which medication is the patient taking for {reason}?"]
        if any(e["type"] == "Reason" for e in doc.entities) else [],
    })


def lab_qa(rng: random.Random, style: Style) -> dict:
    """A lab panel plus a trended analyte; questions on one value, or the trend's first/last value."""
    doc, p = Doc(style, rng), V.patient(rng)
    labs = rng.sample(sorted(C.LABS), 6)
    panel, trend = [C.LABS[k] for k in labs[:rng.randint(3, 5)]], C.LABS[labs[-1]]
    asked = rng.choice(panel)
    doc.section("hpi")
    doc.sentence(rng.choice(by_register(style, {"short": ["{AgeSex} w/ {P}"], "prose": ["{Subj} is a {AgeSex} with {P}"]})),
                 {"AgeSex": Slot(V.age_sex(style, rng, p)), "Subj": Slot(V.subject(style, rng, p)),
                  "P": Slot(V.term(style, rng, C.chronic_for(rng, p.sex, 1)[0]))})
    doc.section("labs")
    parts, slots = [], {}
    for i, lab in enumerate(panel):
        state = rng.choice(["normal", "normal"] + ["low"] * bool(lab.low) + ["high"] * bool(lab.high))
        slots[f"N{i}"] = Slot(C.lab_name(style, rng, lab))
        slots[f"V{i}"] = Slot(C.lab_value(rng, lab, state), "Value" if lab is asked else "Other")
        parts.append(f"{{N{i}}} {{V{i}}}" + (f" {lab.unit}" if lab.unit and style.register == "prose" else ""))
    doc.sentence(", ".join(parts), slots)
    falls = trend.low is not None and (trend.high is None or trend.key in ("hemoglobin", "platelets", "sodium"))
    first, last = C.lab_value(rng, trend, "normal"), C.lab_value(rng, trend, "low" if falls else "high")
    tslots = {"N": Slot(C.lab_name(style, rng, trend)), "A": Slot(first, "Admit"), "B": Slot(last, "Now")}
    doc.sentence(rng.choice(by_register(style, {
        "short": ["{N} {A} on adm -> {B} today", "{N} {A} -> {B}", "{N} trending {A} to {B}"],
        "prose": ["{N} was {A} on admission and is {B} today", "{N} fell from {A} to {B}" if falls else
                  "{N} rose from {A} to {B}"]})), tslots)
    doc.finish()
    return _example(doc, rng, {
        "Value": [f"What was the {asked.name}?", f"What was the patient's {asked.name} level?",
                  f"What value was reported for {asked.name}?"],
        "Admit": [f"What was the {trend.name} on admission?", f"What was the first {trend.name} value?"],
        "Now": [f"What is the most recent {trend.name}?", f"What was the latest {trend.name} value?"],
    })


LOBES = ("right upper lobe", "right middle lobe", "right lower lobe", "left upper lobe", "left lower lobe", "lingula")


def _nodule_followup(mm: int) -> str:
    """Simplified Fleischner-style follow-up for a solid nodule in a low-risk patient."""
    if mm < 6:
        return "no routine follow-up"
    return "CT chest in 6-12 months" if mm <= 8 else "CT chest in 3 months or PET/CT"


def rad_qa(rng: random.Random, style: Style) -> dict:
    """A chest CT report with a nodule and maybe an effusion; questions on size, location, effusion, follow-up."""
    doc = Doc(style, rng)
    mm = rng.randint(3, 14)
    slots = {"Size": Slot(f"{mm} mm", "Size"), "Loc": Slot(V.term(style, rng, rng.choice(LOBES)), "Loc"),
             "Sev": Slot(rng.choice(("small", "moderate", "large", "trace")), "Sev"),
             "Side": Slot(rng.choice(("right", "left", "bilateral")), "Side"), "Rec": Slot(_nodule_followup(mm), "Rec")}
    doc.section("findings")
    findings = [rng.choice(["There is a {Size} <solid|noncalcified> nodule in the {Loc}",
                            "A {Size} nodule is seen in the {Loc}", "{Loc} nodule measuring {Size}"])]
    if rng.random() < 0.6:
        findings.append(rng.choice(["There is a {Sev} {Side} pleural effusion", "{Sev} {Side} pleural effusion"]))
    findings += rng.sample(["No pneumothorax", "Heart size is normal", "No mediastinal lymphadenopathy",
                            "No focal consolidation", "Mild emphysematous changes"], rng.randint(1, 3))
    rng.shuffle(findings)
    for f in findings:
        doc.sentence(f, slots)
    doc.section("impression")
    doc.sentence("<Pulmonary|Solitary pulmonary> nodule as above. Recommend {Rec}", slots)
    doc.finish()
    return _example(doc, rng, {
        "Size": ["What is the size of the nodule?", "How large is the pulmonary nodule?"],
        "Loc": ["Where is the nodule located?", "In which lobe is the nodule?"],
        "Sev": ["How large is the pleural effusion?", "What is the size of the effusion?"],
        "Side": ["On which side is the pleural effusion?"],
        "Rec": ["What follow-up is recommended?", "What does the radiologist recommend?"],
    })
