"""Natural language inference: two targets (SciNLI-style trial abstracts, RadNLI-style chest radiograph
reports); the three MedNLI-style source sets (history, medications, labs) live in `mednli`.

The label is drawn first (uniformly); the hypothesis is then built by the rule for that label from
the facts that generated the premise: entailment = a paraphrase or implied fact, contradiction = a
negated or changed fact, neutral = a plausible fact about something the premise does not mention.
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import radiology as R
from clinical_mpt.data.synth.compose import Doc, Slot
from clinical_mpt.data.synth.mednli import (  # noqa: F401 (named by the task table)
    LABELS,
    _nli,
    mednli_history,
    mednli_labs,
    mednli_meds,
)
from clinical_mpt.data.synth.styles import Style

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
