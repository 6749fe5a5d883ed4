"""MedNLI-style source sets: inference over a history and presentation, a medication note, and labs.

The label is drawn first (uniformly); the hypothesis is then built by that label's rule from the
facts that generated the premise. Each label has many hypothesis patterns, so that no surface cue
gives the label away:
- entailment: a paraphrase (lay words, a brand's generic name, "BID" -> "twice a day"), a class
  ("takes a beta blocker", "a chronic pulmonary condition"), a numeric consequence ("older than 60",
  "potassium above 4.9"), a negation that the premise states ("does not report fever"), a temporal
  consequence ("began before admission", "no longer takes").
- contradiction: a negated or changed fact, without "not" as often as with it ("younger than",
  "reports", "still takes", "below 3.6", "a woman" for a man).
- neutral: a plausible fact the premise does not settle, often about the very thing it mentions
  ("the hypertension is poorly controlled", "misses doses of metoprolol"), so word overlap does not
  mean entailment.
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth import vocab_clinical as C
from clinical_mpt.data.synth import vocab_meds as M
from clinical_mpt.data.synth.compose import Doc, Slot, by_register
from clinical_mpt.data.synth.styles import Style
from clinical_mpt.data.synth.vocab import article

LABELS = ("entailment", "neutral", "contradiction")
UNRELATED = ("The patient lives alone.", "The patient is allergic to penicillin.", "The patient is a current smoker.",
             "The patient will be discharged tomorrow.", "The patient works as a teacher.",
             "The patient has a family history of colon cancer.", "The patient was recently traveling abroad.")


def _nli(premise: str, hypothesis: str, label: str) -> dict:
    return {"premise": premise, "hypothesis": hypothesis, "label": label}


def _lay(problem: str) -> str:
    return C.LAY.get(problem, problem)


# ---- history and presentation ----------------------------------------------------------------------
HISTORY = {
    "short": ["{AgeSex} w/ hx of {P0}[ & {P1}] p/w {CC}[ x {Dur}][. Denies {Neg}]",
              "{AgeSex}, PMH {P0}[, {P1}], presenting w/ {CC}[ x {Dur}][; denies {Neg}]",
              "CC: {CC}[ x {Dur}]. {AgeSex} w/ {P0}[ and {P1}][. ROS neg for {Neg}]",
              "{AgeSex} h/o {P0}[, {P1}] admitted for {CC}[ that began {Dur} ago][. No {Neg}]"],
    "prose": [("{Subj} is a {AgeSex} with a history of {P0}[ and {P1}] who presents with {CC}[ of {Dur} duration]"
               "[. {Subj} denies {Neg}]"),
              "This {AgeSex} with {P0}[ and {P1}] presented with {CC}[ for the past {Dur}][; {Pron} denies {Neg}]",
              ("{Subj} is a {AgeSex} with known {P0}[ and {P1}] admitted for {CC}[, which started {Dur} ago]"
               "[. {Subj} reports no {Neg}]"),
              ("{AgeSex} with a past medical history significant for {P0}[ and {P1}], now presenting with {CC}"
               "[ of {Dur}][. Review of systems is negative for {Neg}]")],
}


def _history_hypotheses(label: str, rng: random.Random, p: V.Patient, pmh: list[str], cc: str,
                        neg: str | None, days: int | None) -> list[str]:
    prob, decade = rng.choice(pmh), p.age // 10 * 10
    man = p.sex == "male"
    if label == "entailment":
        options = [f"The patient has {_lay(prob)}.", f"The patient has a history of {prob}.",
                   f"The patient presents with {_lay(cc)}.", f"The patient is at least {decade} years old.",
                   f"The patient is older than {p.age - rng.randint(1, 9)}.", f"The patient is {'male' if man else 'female'}.",
                   f"The patient is a {'man' if man else 'woman'}.", f"The patient is not younger than {decade}.",
                   f"The patient is not a {'woman' if man else 'man'}."]
        options += [f"The patient has a chronic {C.SYSTEM[prob]} condition."] if prob in C.SYSTEM else []
        options += ["The patient is over 65."] if p.age > 65 else []
        options += [f"The patient does not report {_lay(neg)}.", f"The patient has no {C.bare(_lay(neg))}."] if neg else []
        options += ["The symptoms began before the patient came to the hospital.",
                    "The symptoms have lasted less than a month."] if days else []
        return options
    if label == "contradiction":
        options = [f"The patient has no history of {_lay(prob)}.", f"The patient denies {_lay(cc)}.",
                   f"The patient is under {decade} years old.", "The patient has no medical history.",
                   f"The patient is younger than {p.age - rng.randint(1, 9)}.", f"The patient is a {'woman' if man else 'man'}.",
                   f"The patient has never been diagnosed with {prob}.", "The patient is a teenager.",
                   "The patient is healthy with no chronic conditions."]
        options += [f"The patient reports {_lay(neg)}.", f"The patient complains of {neg}."] if neg else []
        options += ["The symptoms started after admission.", "The patient has had these symptoms for years."] if days else []
        return options
    systems = {C.SYSTEM.get(x) for x in pmh}   # skip related conditions (ESRD would imply CKD)
    other = rng.choice([c for c in C.CHRONIC if c not in pmh and C.SYSTEM.get(c) not in systems
                        and (man or c not in C.MALE_ONLY)])
    return [f"The patient has a history of {_lay(other)}.", f"The patient's mother had {other}.", *UNRELATED,
            f"The patient's {prob} is poorly controlled.", f"The patient was hospitalized for {prob} last year.",
            f"The patient takes medication for {_lay(prob)}.", f"The patient's {C.bare(_lay(cc))} is worse at night.",
            f"The patient has been admitted before with {_lay(cc)}.", f"The patient's {prob} was diagnosed in childhood.",
            "The patient does not drink alcohol.", "The patient has no children.", f"The patient's {prob} is not treated."]


def mednli_history(rng: random.Random, style: Style) -> dict:
    """Premise: age, history, presenting complaint (maybe its duration), a denied symptom."""
    doc, p = Doc(style, rng), V.patient(rng, 28, 92)
    pmh = C.chronic_for(rng, p.sex, rng.randint(1, 2))
    cc, neg = rng.sample(C.SYMPTOMS, 2)
    slots = {"Subj": Slot(V.subject(style, rng, p)), "Pron": Slot(p.pronoun.lower()), "AgeSex": Slot(V.age_sex(style, rng, p)),
             "CC": Slot(V.term(style, rng, cc))}
    for i, prob in enumerate(pmh):
        slots[f"P{i}"] = Slot(V.term(style, rng, prob))
    has_neg, days = rng.random() < 0.6, None
    if has_neg:
        slots["Neg"] = Slot(V.term(style, rng, neg))
    if rng.random() < 0.4:
        days = rng.randint(1, 20)
        slots["Dur"] = Slot(V.duration(style, rng, days, days) if days < 14 else f"{days // 7} weeks")
    doc.sentence(rng.choice(by_register(style, HISTORY)), slots)
    premise = doc.finish()
    label = rng.choice(LABELS)
    options = _history_hypotheses(label, rng, p, pmh, cc, neg if has_neg else None, days)
    return _nli(premise, rng.choice(options), label)


# ---- medication notes --------------------------------------------------------------------------------
HOME_DRUGS = tuple({d.name: d for d in reversed(M.MED_DRUGS) if d.form not in ("injection", "drip")}.values())
TIMES_A_DAY = {"daily": "once", "qAM": "once", "qPM": "once", "qHS": "once", "BID": "two times", "TID": "three times",
               "QID": "four times"}
# frequencies that mean the same number of doses a day (a "wrong" frequency comes from another family)
FAMILY = {"daily": 1, "qAM": 1, "qPM": 1, "qHS": 1, "q24h": 1, "BID": 2, "q12h": 2, "TID": 3, "q8h": 3, "TID AC": 3,
          "QID": 4, "q6h": 4, "q4h": 6, "QOD": 0, "q48h": 0}
WRONG_FREQS = ("daily", "BID", "TID", "QID", "QOD")
MEDS = {"short": ["{M}", "Home meds: {M}", "Meds: {M}", "Current meds: {M}", "Outpt meds: {M}"],
        "prose": ["{Subj} takes {M} at home", "Home medications include {M}", "{Subj} is maintained on {M}"]}
HELD = {"short": ["{H} held 2/2 {A}", "D/c'd {H} for {A}", "Stopped {H} due to {A}"],
        "prose": ["{H} was discontinued because of {A}", "{H} was stopped after {Pron} developed {A}"]}
PLAN = {"short": ["Start {N} for {R}", "Will start {N} for {R}"], "prose": ["We will start {N} for {R}"]}
ALLERGY = {"short": ["Allergies: {X} ({Y})", "All: {X} - {Y}", "NKDA"],
           "prose": ["{Subj} is allergic to {X} ({Y})", "{Subj} has no known drug allergies"]}


def _med_item(style: Style, rng: random.Random, drug: V.Drug, key: str) -> tuple[str, tuple[str, str]]:
    """'Lasix 40 mg PO daily' and the (value, unit) of its strength."""
    value, unit = rng.choice(drug.strengths)
    amount = f"{value}%" if unit == "%" else style.amount(rng, value, unit)
    route = f" {M.route(style, rng, drug.routes[0])}" if rng.random() < 0.4 else ""
    return f"{M.drug_name(style, rng, drug)} {amount}{route} {M.freq(style, rng, key)}", (value, unit)


def _meds_hypotheses(label: str, rng: random.Random, drugs: list[V.Drug], keys: list[str], doses: list[tuple[str, str]],
                     held: tuple[V.Drug, str] | None, new: tuple[V.Drug, str] | None, allergy: str | None) -> list[str]:
    i = rng.randrange(len(drugs))
    drug, key, (value, unit) = drugs[i], keys[i], doses[i]
    full = M.FREQS[key][0][0]
    other_values = [v for v, u in drug.strengths if u == unit and v != value]
    if label == "entailment":
        options = [f"The patient takes {article(drug.cls)} {drug.cls}.", f"The patient takes {drug.name} {full}.",
                   f"The patient is on {drug.name}."]
        options += ["The patient takes more than one medication."] if len(drugs) > 1 else []
        options += [f"The patient takes {drug.name} {TIMES_A_DAY[key]} a day."] if key in TIMES_A_DAY else []
        options += [f"The patient takes {drug.name} only when needed."] if M.is_prn(key) else []
        options += [f"A new medication is planned for {_lay(new[1])}."] if new else []
        options += [f"The patient is no longer taking {held[0].name}.", f"{held[0].name.capitalize()} was stopped because of a side effect.",
                    f"{held[0].name.capitalize()} is not being continued."] if held else []
        options += [f"The patient is allergic to {allergy}.", "The patient is allergic to a medication."] if allergy else []
        return options
    if label == "contradiction":
        wrong = rng.choice([f for f in WRONG_FREQS if FAMILY[f] != FAMILY.get(key) and M.FREQS[f][0][0] != full])
        options = ["The patient takes no medications at home.", f"The patient does not take {drug.name}.",
                   f"The patient is not on any {drug.cls}.", f"The patient takes {drug.name} {M.FREQS[wrong][0][0]}.",
                   f"The patient stopped taking {drug.name}.", f"{drug.name.capitalize()} was discontinued.",
                   f"The patient's only medication is {rng.choice([d.name for d in HOME_DRUGS if d not in drugs])}."]
        options += [f"The patient takes {other_values[0]} {unit} of {drug.name}."] if other_values and unit != "%" else []
        options += [f"The patient continues to take {held[0].name}.", f"The patient tolerated {held[0].name} without problems."] if held else []
        options += ["The patient has no known drug allergies."] if allergy else []
        return options
    options = [f"The patient's {drug.name} dose will be increased.", f"The patient has been taking {drug.name} for ten years.",
               "The patient is adherent to all medications.", *UNRELATED[:4], f"The patient misses doses of {drug.name}.",
               f"{drug.name.capitalize()} was prescribed by a cardiologist.", f"The patient had side effects from {drug.name}."]
    options += ["The patient does not use a pill organizer.", f"The patient never misses a dose of {drug.name}."]
    options += [f"The patient takes {drug.name} with food."] if key not in ("TID AC", "AC HS") else []
    options += [f"{held[0].name.capitalize()} will be restarted after discharge."] if held else []
    return options


def mednli_meds(rng: random.Random, style: Style) -> dict:
    """Premise: a home medication list, maybe a stopped drug with its reason, a new drug with its
    indication and an allergy line. Hypotheses about them."""
    doc, p = Doc(style, rng), V.patient(rng)
    drugs = rng.sample(HOME_DRUGS, rng.randint(2, 3))
    keys = [rng.choice(d.freqs) for d in drugs]
    pairs = [_med_item(style, rng, d, k) for d, k in zip(drugs, keys)]
    common = {"Subj": Slot(V.subject(style, rng, p)), "Pron": Slot(p.pronoun.lower())}
    template = rng.choice(by_register(style, MEDS))
    doc.section("meds" if template.startswith("{") else None)   # no "Meds: Home meds: ..."
    doc.sentence(template,
                 dict(common, M=Slot(rng.choice((", ", "; ", ", ")).join(text for text, _ in pairs))))
    others = [d for d in HOME_DRUGS if d.name not in {x.name for x in drugs}]
    held = new = allergy = None
    if rng.random() < 0.3:
        h = rng.choice(others)
        held = (h, rng.choice(h.ades))
        doc.sentence(rng.choice(by_register(style, HELD)),
                     dict(common, H=Slot(M.drug_name(style, rng, h)), A=Slot(V.term(style, rng, held[1]))))
    if rng.random() < 0.4:
        n = rng.choice([d for d in others if held is None or d.name != held[0].name])
        new = (n, rng.choice(n.indications))
        doc.section("plan")
        doc.sentence(rng.choice(by_register(style, PLAN)),
                     dict(common, N=Slot(M.drug_name(style, rng, n)), R=Slot(V.term(style, rng, new[1]))))
    nkda = False
    if rng.random() < 0.3:
        template = rng.choice(by_register(style, ALLERGY))
        doc.section(None if ":" in template else "allergies")   # no "All: Allergies: ..."
        allergen = rng.choice(("penicillin", "sulfa drugs", "codeine", "aspirin", "morphine", "amoxicillin"))
        nkda = "{X}" not in template
        allergy = None if nkda else allergen
        doc.sentence(template, dict(common, X=Slot(allergen), Y=Slot(rng.choice(M.REACTIONS))))
    premise = doc.finish()
    label = rng.choice(LABELS)
    options = _meds_hypotheses(label, rng, drugs, keys, [dose for _, dose in pairs], held, new, allergy)
    if nkda and label == "contradiction":
        options.append("The patient is allergic to penicillin.")
    if nkda and label == "entailment":
        options.append("The patient has no known drug allergies.")
    return _nli(premise, rng.choice(options), label)


# ---- labs -------------------------------------------------------------------------------------------
LAB_LAY = {"hyponatremia": "a low sodium level", "hypernatremia": "a high sodium level", "hypokalemia": "low potassium",
           "hyperkalemia": "high potassium", "hypoglycemia": "low blood sugar", "hyperglycemia": "high blood sugar",
           "anemia": "a low blood count", "leukocytosis": "a high white blood cell count",
           "leukopenia": "a low white blood cell count", "thrombocytopenia": "low platelets",
           "thrombocytosis": "high platelets", "hypocalcemia": "low calcium", "hypercalcemia": "high calcium",
           "hypomagnesemia": "low magnesium", "elevated creatinine": "impaired kidney function",
           "elevated troponin": "evidence of heart muscle injury", "elevated INR": "a prolonged clotting time"}
LABS_LINE = {"short": ["{V}", "Labs: {V}", "BMP: {V}", "Admission labs: {V}", "Labs notable for {V}"],
             "prose": ["{V}", "Labs were notable for {V}", "Admission labs showed {V}", "Laboratory data: {V}"]}


def _fmt(x: float) -> str:
    return f"{x:g}"


def _lab_line(style: Style, rng: random.Random, lab: C.Lab, state: str) -> tuple[str, float]:
    """'K 6.1', 'potassium 6.1 mEq/L', 'K 6.1 (H)' and the value."""
    value = C.lab_value(rng, lab, state)
    text = f"{C.lab_name(style, rng, lab)} {value}"
    if lab.unit and rng.random() < 0.3:
        text += f" {lab.unit}"
    if state != "normal" and rng.random() < 0.25:
        text += " (L)" if state == "low" else " (H)"
    return text, float(value)


def _lab_hypotheses(label: str, rng: random.Random, lab: C.Lab, state: str) -> list[str]:
    """Entailed or contradicted statements about a measured lab in `state`."""
    name = lab.name
    lo_t, hi_t = _fmt(lab.normal[0]), _fmt(lab.normal[1])
    if state == "normal":
        conds = [x[0] for x in (lab.low, lab.high) if x]
        if label == "entailment":
            options = [f"The patient's {name} is within normal limits.", f"The patient's {name} is normal."]
            options += [f"The patient's {name} is below {_fmt(lab.high[1])}."] if lab.high else []
            options += [f"The patient does not have {conds[0]}."]
            return options
        options = [f"The patient has {c}." for c in conds] + [f"The patient has {LAB_LAY[c]}." for c in conds if c in LAB_LAY]
        options += [f"The patient's {name} is above {_fmt(lab.high[1])}."] if lab.high else []
        options += [f"The patient's {name} is abnormal."]
        return options
    cond = getattr(lab, state)[0]
    other = lab.high if state == "low" else lab.low
    above = state == "high"
    if label == "entailment":
        options = [f"The patient has {cond}.", f"The patient's {name} is {'elevated' if above else 'low'}.",
                   f"The patient's {name} is {'above' if above else 'below'} {hi_t if above else lo_t}.",
                   f"The patient's {name} is abnormal."]
        options += [f"The patient has {LAB_LAY[cond]}."] if cond in LAB_LAY else []
        return options
    options = [f"The patient's {name} is normal.", f"The patient's {name} is {'below' if above else 'above'} {hi_t if above else lo_t}.",
               f"The patient's {name} is within normal limits.", f"The patient does not have {cond}."]
    options += [f"The patient has {other[0]}."] if other else []
    return options


def mednli_labs(rng: random.Random, style: Style) -> dict:
    """Premise: a few lab values, one or two abnormal. Hypotheses about one measured or unmeasured lab."""
    doc = Doc(style, rng)
    keys = rng.sample(sorted(C.LABS), rng.randint(3, 5))
    states = {}
    for k in keys:
        lab = C.LABS[k]
        abnormal = [s for s in ("low", "high") if getattr(lab, s)]
        states[k] = rng.choice(abnormal) if rng.random() < 0.5 else "normal"
    template = rng.choice(by_register(style, LABS_LINE))
    doc.section("labs" if template == "{V}" else None)   # no "Labs: Labs: ..."
    values = [_lab_line(style, rng, C.LABS[k], states[k])[0] for k in keys]
    doc.sentence(template, {"V": Slot(", ".join(values))})
    premise = doc.finish()
    label, k = rng.choice(LABELS), rng.choice(keys)
    lab, state = C.LABS[k], states[k]
    if label == "neutral":
        unmeasured = C.LABS[rng.choice([x for x in sorted(C.LABS) if x not in keys])]
        cond = (unmeasured.low or unmeasured.high)[0]
        options = [f"The patient has {cond}.", f"The patient's {unmeasured.name} is normal.",
                   f"The patient's {lab.name} was {'normal' if state != 'normal' else 'abnormal'} last month.",
                   f"The patient's {lab.name} will be rechecked tomorrow.",
                   f"The patient's {unmeasured.name} is above {_fmt(unmeasured.normal[1])}."]
        if state != "normal":
            options.append(f"The patient's {getattr(lab, state)[0]} is caused by a medication.")
        return _nli(premise, rng.choice(options), label)
    return _nli(premise, rng.choice(_lab_hypotheses(label, rng, lab, state)), label)
