"""Summarization: three source sets (radiology findings -> impression, discharge summary -> one-line
course, doctor-patient dialogue -> HPI note) and two targets (progress note -> problem list,
echocardiogram report -> impression).

Every summary is written from the facts that generated its source text, by fixed rules, so it is
correct by construction (and consistent enough to be learnable).
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import knowledge as K
from clinical_mpt.data.synth import radiology as R
from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth import vocab_clinical as C
from clinical_mpt.data.synth.compose import Doc, Slot, by_register
from clinical_mpt.data.synth.styles import Style
from clinical_mpt.data.synth.vocab import listing


def _numbered(items: list[str]) -> str:
    if len(items) == 1:
        return items[0] + "."
    return " ".join(f"{i}. {item}." for i, item in enumerate(items, start=1))


def rad_summ(rng: random.Random, style: Style) -> dict:
    """Chest radiograph or abdominal CT findings -> impression (abnormal findings, in order)."""
    region = rng.choice(("chest", "chest", "abdomen"))
    atlas = R.CHEST if region == "chest" else R.ABDOMEN
    values = R.params(rng)
    chosen = R.pick_states(rng, atlas, rng.randint(3, 5), p_abnormal=0.35)
    doc = Doc(style, rng)
    doc.section("technique")
    exam = rng.choice(("Chest radiograph, PA and lateral", "Portable chest radiograph") if region == "chest"
                      else ("CT abdomen and pelvis with contrast", "CT abdomen and pelvis without contrast"))
    doc.sentence("{E}", {"E": Slot(exam)})
    doc.section("indication")
    doc.sentence("{I}", {"I": Slot(V.term(style, rng, rng.choice(
        ("shortness of breath", "cough", "fever", "chest pain") if region == "chest" else
        ("abdominal pain", "nausea and vomiting", "fever", "back pain"))))})
    doc.section("findings")
    for _, state in chosen:
        doc.sentence("{F}", {"F": Slot(rng.choice(state.findings).format(**values))})
    impressions = [s.impression.format(**values) for _, s in chosen if s.impression]
    summary = _numbered(impressions) if impressions else R.NORMAL_IMPRESSION[region][0]
    return {"text": doc.finish(), "summary": summary}


COMPLICATIONS = (("acute kidney injury", "resolved with intravenous fluids"), ("delirium", "cleared by discharge"),
                 ("hypokalemia", "was repleted"), ("atrial fibrillation", "converted spontaneously"),
                 ("a fall", "caused no injury"), ("hyperglycemia", "improved with insulin"))
DISPOSITIONS = ("home", "home with services", "a skilled nursing facility", "acute rehabilitation")


def discharge_summ(rng: random.Random, style: Style) -> dict:
    """A short discharge summary -> one paragraph: who, admitted for what, treated how, discharged where."""
    d = rng.choice(K.DISEASES)
    p = V.patient(rng, max(18, d.ages[0]), d.ages[1] + 10)
    pmh = C.chronic_for(rng, p.sex, rng.randint(1, 2))
    comp = rng.choice(COMPLICATIONS) if rng.random() < 0.4 else None
    dispo, los = rng.choice(DISPOSITIONS), rng.randint(2, 9)
    slots = {"Subj": Slot(V.subject(style, rng, p)), "AgeSex": Slot(V.age_sex(style, rng, p)),
             "PMH": Slot(listing([V.term(style, rng, x) for x in pmh])), "Sx": Slot(listing(d.symptoms[:2])),
             "Finding": Slot(d.finding), "Dx": Slot(d.name), "Tx": Slot(d.treatment), "Dispo": Slot(dispo),
             "LOS": Slot(str(los)), "FU": Slot(rng.choice(("primary care", "cardiology", "their PCP", "clinic"))),
             "Wk": Slot(str(rng.randint(2, 4)))}
    doc = Doc(style, rng)
    doc.section("hpi")
    doc.sentence(rng.choice(by_register(style, {
        "short": ["{AgeSex} w/ {PMH} p/w {Sx}"],
        "prose": ["{Subj} is a {AgeSex} with {PMH} who presented with {Sx}",
                  "This {AgeSex} with a history of {PMH} came in with {Sx}"]})), slots)
    doc.section("course")
    doc.sentence("Workup revealed {Finding}", slots)
    doc.sentence(rng.choice(("{Subj} was diagnosed with {Dx} and treated with {Tx}", "{Dx} was treated with {Tx}")), slots)
    if comp:
        doc.sentence("The course was complicated by {C}, which {R}", {"C": Slot(comp[0]), "R": Slot(comp[1])})
    doc.section("dispo")
    doc.sentence("Discharged to {Dispo} on hospital day {LOS}. Follow up with {FU} in {Wk} weeks", slots)
    who = f"{p.age}-year-old {p.sex} with {listing(pmh)}"
    summary = f"{who} admitted with {d.name}, treated with {d.treatment}"
    summary += f"; course complicated by {comp[0]}." if comp else "."
    summary += f" Discharged to {dispo} on hospital day {los}."
    return {"text": doc.finish(), "summary": summary}


SAYS = {"cough": "I've had this cough", "chest pain": "I've been having chest pain", "headache": "I keep getting headaches",
        "abdominal pain": "My stomach has been hurting", "shortness of breath": "I get short of breath",
        "dizziness": "I've been feeling dizzy", "back pain": "My lower back hurts", "fever": "I've been running fevers",
        "diarrhea": "I've had diarrhea", "fatigue": "I've been really tired", "palpitations": "My heart keeps racing",
        "nausea and vomiting": "I've been throwing up", "dysuria": "It burns when I pee", "leg swelling": "My leg is swollen"}
ASSOCIATED = ("fever", "nausea", "chills", "chest pain", "shortness of breath", "headache", "weight loss", "rash",
              "cough", "dizziness", "vomiting", "night sweats")


def dialogue_summ(rng: random.Random, style: Style) -> dict:
    """A doctor-patient dialogue -> an HPI note in the institution's style."""
    cc = rng.choice(sorted(SAYS))
    dur = f"{rng.randint(2, 10)} {rng.choice(('days', 'weeks'))}"
    assoc = rng.sample([a for a in ASSOCIATED if a not in cc], 3)   # asked about, in this order
    n_pos = rng.randint(0, 2)
    pos, negs = assoc[:n_pos], assoc[n_pos:]
    drug = rng.choice(V.DRUGS)
    reason = rng.choice(drug.indications)
    allergy = rng.choice(("penicillin", "sulfa", "codeine", None, None))
    turns = ["Doctor: What brings you in today?", f"Patient: {SAYS[cc]} for about {dur}."]
    for a in assoc:
        answer = rng.choice(("Yes, some.", "Yes.", "A little, yes.") if a in pos else ("No.", "No, none.", "Not really, no."))
        turns += [f"Doctor: Any {a}?", f"Patient: {answer}"]
    turns += ["Doctor: Do you take any medications?", f"Patient: Just {drug.name} for my {C.bare(C.LAY.get(reason, reason))}.",
              "Doctor: Any allergies?", f"Patient: I'm allergic to {allergy}." if allergy else "Patient: None that I know of."]
    if style.register == "prose":
        summary = f"Patient reports {cc} for {dur}" + (f" with {listing(pos)}" if pos else "") + "."
        summary += f" Denies {listing(negs)}." if negs else ""
        summary += f" Takes {drug.name} for {reason}. " + (f"Allergic to {allergy}." if allergy else "No known drug allergies.")
    else:
        short_dur = dur.split()[0] + ("d" if "day" in dur else "wk")
        summary = f"c/o {V.TERM_ABBREV.get(cc, (cc,))[0]} x{short_dur}." + (f" + {', '.join(pos)}." if pos else "")
        summary += f" Denies {', '.join(negs)}." if negs else ""
        summary += f" Meds: {drug.name} ({V.TERM_ABBREV.get(reason, (reason,))[0]}). " + (f"All: {allergy}." if allergy else "NKDA.")
    return {"text": "\n".join(turns), "summary": summary}


HOSPITAL_PROBLEMS = (("acute kidney injury", "Cr {a} from {b} on admission, continue IV fluids"),
                     ("hypokalemia", "K {k}, repleting"), ("delirium", "reorient, avoid sedatives"),
                     ("anemia", "Hgb stable, no signs of bleeding"), ("hyperglycemia", "on sliding scale insulin"))
RULED_OUT = (("acute coronary syndrome", "troponins negative x2"), ("pulmonary embolism", "CTA negative"),
             ("urinary tract infection", "UA bland"))


def progress_summ(rng: random.Random, style: Style) -> dict:
    """A SOAP progress note -> its active problem list (ruled-out problems excluded), in A/P order."""
    d, p = rng.choice(K.DISEASES), V.patient(rng)
    chronic = rng.choice([c for c in C.chronic_for(rng, p.sex, 6) if any(c in x.indications for x in V.DRUGS)]
                         or ["hypertension"])
    home = rng.choice([x for x in V.DRUGS if chronic in x.indications])
    hosp, plan = rng.choice(HOSPITAL_PROBLEMS)
    plan = plan.format(a=f"{rng.uniform(1.4, 2.0):.1f}", b=f"{rng.uniform(2.2, 3.4):.1f}", k=f"{rng.uniform(2.8, 3.3):.1f}")
    ruled = rng.choice(RULED_OUT) if rng.random() < 0.4 else None
    doc = Doc(style, rng)
    doc.section("subjective")
    doc.sentence(rng.choice(("{S} feels better today", "{S} reports improvement in {Sx}", "{S} still endorses {Sx}",
                             "No acute events overnight")), {"S": Slot(V.subject(style, rng, p)), "Sx": Slot(d.symptoms[-1])})
    doc.section("objective")
    doc.sentence("T {T} HR {HR} BP {BP} SpO2 {O2}%", {"T": Slot(f"{rng.uniform(36.5, 38.2):.1f}"),
                 "HR": Slot(str(rng.randint(68, 108))), "BP": Slot(f"{rng.randint(104, 152)}/{rng.randint(58, 92)}"),
                 "O2": Slot(str(rng.randint(91, 99)))})
    doc.section("assessment")
    doc.sentence("{AgeSex} admitted with {Dx}", {"AgeSex": Slot(V.age_sex(style, rng, p)), "Dx": Slot(d.name)})
    items = [("#" + d.name, f"on {d.treatment}"), ("#" + V.term(style, rng, hosp), plan),
             ("#" + V.term(style, rng, chronic), f"stable, cont home {V.term(style, rng, home.name)}")]
    if ruled:
        items.insert(rng.randint(1, 3), (f"#r/o {V.term(style, rng, ruled[0])}", f"ruled out, {ruled[1]}"))
    for head, text in items:
        doc.sentence("{H}: {P}", {"H": Slot(head), "P": Slot(text)})
    return {"text": doc.finish(), "summary": "; ".join((d.name, hosp, chronic))}


VALVES = (("MV", "mitral", "MR"), ("AV", "aortic", "AR"), ("TV", "tricuspid", "TR"))


def echo_summ(rng: random.Random, style: Style) -> dict:
    """Echocardiogram measurements -> impression by fixed rules (EF class, chambers, valves, effusion)."""
    ef = rng.choice((rng.randint(55, 68), rng.randint(45, 54), rng.randint(30, 44), rng.randint(15, 29)))
    grade = ("Normal" if ef >= 55 else "Mildly reduced" if ef >= 45 else "Moderately reduced" if ef >= 30
             else "Severely reduced")
    fields = [("LVEF", f"{ef}%")]
    impression = [f"{grade} left ventricular systolic function (EF {ef}%)"]
    lv = rng.choice(("normal size", "normal size", "mildly dilated", "moderately dilated"))
    fields.append(("LV", lv))
    if lv != "normal size":
        impression.append(f"{lv.split()[0].capitalize()} dilated left ventricle")
    rv = rng.choice(("normal size and function", "normal size and function", "reduced function"))
    fields.append(("RV", rv))
    if rv == "reduced function":
        impression.append("Reduced right ventricular systolic function")
    for key, name, short in VALVES:
        sev = rng.choice(("none", "trace", "mild", "moderate", "severe", "none"))
        fields.append((key, "no regurgitation" if sev == "none" else f"{sev} {style.pick(rng, (name + ' regurgitation',), (short,))}"))
        if sev in ("mild", "moderate", "severe"):
            impression.append(f"{sev.capitalize()} {name} regurgitation")
    eff = rng.choice(("none", "none", "small", "moderate"))
    fields.append(("Pericardium", "no effusion" if eff == "none" else f"{eff} effusion"))
    if eff != "none":
        impression.append(f"{eff.capitalize()} pericardial effusion without tamponade physiology")
    rvsp = rng.randint(22, 60)
    fields.append(("RVSP", f"{rvsp} mmHg"))
    if rvsp > 35:
        impression.append(f"Elevated RVSP ({rvsp} mmHg), consistent with pulmonary hypertension")
    doc = Doc(style, rng)
    doc.section("echo")
    for name, value in fields:
        doc.sentence("{N}: {V}", {"N": Slot(name), "V": Slot(value)})
    if len(impression) == 1 and ef >= 55:
        impression = ["Normal biventricular size and systolic function", "No significant valvular disease"]
    return {"text": doc.finish(), "summary": _numbered(impression)}
