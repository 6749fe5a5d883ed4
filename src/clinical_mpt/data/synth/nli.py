"""Natural language inference: three MedNLI-style source sets (history, medications, labs) and two
targets (SciNLI-style trial abstracts, RadNLI-style chest radiograph reports).

The label is drawn first (uniformly); the hypothesis is then built by the rule for that label from
the facts that generated the premise: entailment = a paraphrase or implied fact, contradiction = a
negated or changed fact, neutral = a plausible fact about something the premise does not mention.
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import radiology as R
from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth import vocab_clinical as C
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


HISTORY = {"short": ["{AgeSex} w/ hx of {P0}[ & {P1}] p/w {CC}[. Denies {Neg}]"],
           "prose": ["{Subj} is a {AgeSex} with a history of {P0}[ and {P1}] who presents with {CC}[. {Subj} denies {Neg}]",
                     "This {AgeSex} with {P0}[ and {P1}] presented with {CC}[; {Pron} denies {Neg}]"]}


def mednli_history(rng: random.Random, style: Style) -> dict:
    """Premise: age, history, presenting complaint, a denied symptom. Hypotheses about them."""
    doc, p = Doc(style, rng), V.patient(rng, 28, 92)
    pmh = C.chronic_for(rng, p.sex, rng.randint(1, 2))
    cc, neg = rng.sample(C.SYMPTOMS, 2)
    slots = {"Subj": Slot(V.subject(style, rng, p)), "Pron": Slot(p.pronoun.lower()), "AgeSex": Slot(V.age_sex(style, rng, p)),
             "CC": Slot(V.term(style, rng, cc))}
    for i, prob in enumerate(pmh):
        slots[f"P{i}"] = Slot(V.term(style, rng, prob))
    if rng.random() < 0.6:
        slots["Neg"] = Slot(V.term(style, rng, neg))
    doc.sentence(rng.choice(by_register(style, HISTORY)), slots)
    premise = doc.finish()
    label, prob, decade = rng.choice(LABELS), rng.choice(pmh), p.age // 10 * 10
    if label == "entailment":
        options = [f"The patient has {_lay(prob)}.", f"The patient has a history of {prob}.",
                   f"The patient presents with {_lay(cc)}.", f"The patient is at least {decade} years old."]
        if prob in C.SYSTEM:
            options.append(f"The patient has a chronic {C.SYSTEM[prob]} condition.")
        if "Neg" in slots:
            options.append(f"The patient does not report {_lay(neg)}.")
    elif label == "contradiction":
        options = [f"The patient has no history of {_lay(prob)}.", f"The patient denies {_lay(cc)}.",
                   f"The patient is under {decade} years old.", "The patient has no medical history."]
        if "Neg" in slots:
            options.append(f"The patient reports {_lay(neg)}.")
    else:
        systems = {C.SYSTEM.get(x) for x in pmh}   # skip related conditions (ESRD would imply CKD)
        other = rng.choice([c for c in C.CHRONIC if c not in pmh and C.SYSTEM.get(c) not in systems
                            and (p.sex == "male" or c not in C.MALE_ONLY)])
        options = [f"The patient has a history of {_lay(other)}.", f"The patient's mother had {other}.", *UNRELATED]
    return _nli(premise, rng.choice(options), label)


def mednli_meds(rng: random.Random, style: Style) -> dict:
    """Premise: a home medication list (and maybe a new drug with its reason). Hypotheses about them."""
    doc, p = Doc(style, rng), V.patient(rng)
    drugs = rng.sample(V.DRUGS, rng.randint(2, 3))
    freqs = [rng.choice(d.freqs) for d in drugs]
    doc.section("meds")
    items = [f"{V.term(style, rng, d.name)} {V.strength(style, rng, d)} {V.freq(style, rng, f)}" for d, f in zip(drugs, freqs)]
    doc.sentence(rng.choice(by_register(style, {"short": ["{M}"], "prose": ["{Subj} takes {M} at home"]})),
                 {"M": Slot(", ".join(items)), "Subj": Slot(V.subject(style, rng, p))})
    new = rng.choice([d for d in V.DRUGS if d not in drugs])
    reason = rng.choice(new.indications)
    with_new = rng.random() < 0.5
    if with_new:
        doc.section("plan")
        doc.sentence(rng.choice(by_register(style, {"short": ["Start {N} for {R}"], "prose": ["We will start {N} for {R}"]})),
                     {"N": Slot(V.term(style, rng, new.name)), "R": Slot(V.term(style, rng, reason))})
    premise = doc.finish()
    label, i = rng.choice(LABELS), rng.randrange(len(drugs))
    drug, full_freq = drugs[i], V.FREQS[freqs[i]][0][0]
    if label == "entailment":
        options = [f"The patient takes {article(drug.cls)} {drug.cls}.", f"The patient takes {drug.name} {full_freq}.",
                   "The patient takes more than one medication."]
        if with_new:
            options.append(f"A new medication is planned for {_lay(reason)}.")
    elif label == "contradiction":
        wrong = rng.choice([f for f in V.FREQS if V.FREQS[f][0][0] != full_freq and "PRN" not in f])
        options = ["The patient takes no medications at home.", f"The patient does not take {drug.name}.",
                   f"The patient is not on any {drug.cls}.", f"The patient takes {drug.name} {V.FREQS[wrong][0][0]}."]
    else:
        options = [f"The patient's {drug.name} dose will be increased.", f"The patient has been taking {drug.name} for ten years.",
                   "The patient is adherent to all medications.", *UNRELATED[:4]]
    return _nli(premise, rng.choice(options), label)


def mednli_labs(rng: random.Random, style: Style) -> dict:
    """Premise: a few lab values, one or two abnormal. Hypotheses about one measured or unmeasured lab."""
    doc = Doc(style, rng)
    keys = rng.sample(sorted(C.LABS), rng.randint(3, 5))
    states = {}
    for k in keys:
        lab = C.LABS[k]
        abnormal = [s for s in ("low", "high") if getattr(lab, s)]
        states[k] = rng.choice(abnormal) if rng.random() < 0.5 else "normal"
    doc.section("labs")
    values = [f"{C.lab_name(style, rng, C.LABS[k])} {C.lab_value(rng, C.LABS[k], states[k])}" for k in keys]
    doc.sentence("{V}", {"V": Slot(", ".join(values))})
    premise = doc.finish()
    label, k = rng.choice(LABELS), rng.choice(keys)
    lab, state = C.LABS[k], states[k]
    if label == "neutral":
        lab = C.LABS[rng.choice([x for x in sorted(C.LABS) if x not in keys])]
        cond = (lab.low or lab.high)[0]
        return _nli(premise, rng.choice((f"The patient has {cond}.", f"The patient's {lab.name} is normal.")), label)
    if state == "normal":
        cond = rng.choice([x[0] for x in (lab.low, lab.high) if x])
        hyp = f"The patient's {lab.name} is within normal limits." if label == "entailment" else f"The patient has {cond}."
        return _nli(premise, hyp, label)
    cond = getattr(lab, state)[0]
    other = lab.high if state == "low" else lab.low
    if label == "entailment":
        hyp = rng.choice((f"The patient has {cond}.", f"The patient's {lab.name} is {'low' if state == 'low' else 'elevated'}."))
    else:
        hyp = rng.choice([f"The patient's {lab.name} is normal."] + ([f"The patient has {other[0]}."] if other else []))
    return _nli(premise, hyp, label)


# (condition, outcome, plausible interventions)
TRIALS = (
    ("heart failure", "hospitalization for heart failure", ("a nurse-led telemonitoring program", "a low-sodium diet", "the study drug")),
    ("type 2 diabetes", "hemoglobin A1c", ("a once-weekly injection", "a structured exercise program", "the study drug")),
    ("hypertension", "systolic blood pressure", ("a low-sodium diet", "home blood pressure telemonitoring", "the study drug")),
    ("COPD", "the annual exacerbation rate", ("pulmonary rehabilitation", "a triple-therapy inhaler", "the study drug")),
    ("atrial fibrillation", "the incidence of stroke", ("early rhythm control", "the study drug")),
    ("asthma", "severe exacerbations", ("a biologic injection", "a written action plan", "the study drug")),
    ("major depression", "depressive symptom scores", ("cognitive behavioral therapy", "the study drug")),
    ("chronic kidney disease", "the decline in eGFR", ("intensive blood pressure control", "the study drug")),
    ("septic shock", "28-day mortality", ("early vasopressin", "conservative fluid management", "the study drug")),
    ("knee osteoarthritis", "pain scores at 12 weeks", ("a supervised exercise program", "intra-articular injections")),
)
PLACEBO_CONTROLLED = ("the study drug", "a once-weekly injection", "a biologic injection", "a triple-therapy inhaler",
                      "early vasopressin", "intra-articular injections")
DESIGNS = ("randomized controlled trial", "double-blind randomized trial", "multicenter randomized trial",
           "pragmatic randomized trial")


def scinli(rng: random.Random, style: Style) -> dict:
    """Premise: a trial result from an abstract. Hypotheses about its design, population and effect."""
    condition, outcome, arms = rng.choice(TRIALS)
    arm = rng.choice(arms)
    control = "placebo" if arm in PLACEBO_CONTROLLED else rng.choice(("usual care", "standard therapy"))
    n, effect = rng.randrange(120, 2400, 20), rng.choice(("reduced", "null", "increased"))
    verb = {"reduced": "significantly reduced", "null": "did not significantly change",
            "increased": "significantly increased"}[effect]
    pval = f"p = {rng.uniform(0.001, 0.04):.3f}" if effect != "null" else f"p = {rng.uniform(0.2, 0.9):.2f}"
    premise = (f"In this {rng.choice(DESIGNS)} of {n} adults with {condition}, {arm} {verb} {outcome} "
               f"compared with {control} ({pval}).")
    ae = rng.random() < 0.4
    if ae:
        premise += " Rates of serious adverse events were similar between groups."
    label = rng.choice(LABELS)
    cap = arm[0].upper() + arm[1:]
    effect_true = {"reduced": f"{outcome[0].upper() + outcome[1:]} was lower with {arm} than with {control}.",
                   "null": f"There was no significant difference in {outcome} between {arm} and {control}.",
                   "increased": f"{outcome[0].upper() + outcome[1:]} was higher with {arm} than with {control}."}
    effect_false = {"reduced": f"{cap} had no effect on {outcome}.", "null": f"{cap} significantly reduced {outcome}.",
                    "increased": f"{cap} lowered {outcome}."}
    if label == "entailment":
        options = [effect_true[effect], f"The study included patients with {condition}.", f"The trial enrolled {n} participants.",
                   f"The study compared {arm} with {control}."]
        options += ["Serious adverse events did not differ between the groups."] if ae else []
    elif label == "contradiction":
        options = [effect_false[effect], f"The trial enrolled {n * rng.choice((2, 3))} participants.",
                   "The study was conducted in children.", f"The study compared {arm} with no control group."]
        options += ["Serious adverse events were more frequent with the intervention."] if ae else []
    else:
        options = ["The benefit persisted at five years of follow-up.", f"{cap} is more cost-effective than {control}.",
                   "Most participants were women.", "The trial was funded by industry.",
                   f"Adherence to {arm} was above 90 percent."]
        options += [] if ae else [f"{cap} was well tolerated."]
    return _nli(premise, rng.choice(options), label)


def radnli(rng: random.Random, style: Style) -> dict:
    """Premise: chest radiograph findings. Hypotheses from a reported structure (entailed/contradicted)
    or from a structure the report does not mention (neutral)."""
    doc, values = Doc(style, rng), R.params(rng)
    chosen = R.pick_states(rng, R.CHEST, rng.randint(2, 4), p_abnormal=0.45)
    doc.section("findings")
    for _, state in chosen:
        doc.sentence("{F}", {"F": Slot(rng.choice(state.findings).format(**values))})
    premise = doc.finish()
    label = rng.choice(LABELS)
    if label == "neutral":
        absent = [k for k in R.CHEST if k not in {key for key, _ in chosen}]
        states = R.CHEST[rng.choice(absent)]
        options = [h for s in states for h in s.entails + s.contradicts]
    else:
        _, state = rng.choice(chosen)
        options = list(state.entails if label == "entailment" else state.contradicts)
    return _nli(premise, rng.choice(options).format(**values) + ".", label)
