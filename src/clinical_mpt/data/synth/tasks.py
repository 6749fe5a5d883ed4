"""The table of the 31 synthetic tasks: 21 source tasks and 10 held-out target tasks.

Mirrors the reference study's design: sources cover all five task types; targets are different
tasks of the same types (SDOH and opioid NER/RE, Medbullets/HeadQA-style MCQA, SciNLI/RadNLI-style
NLI, problem-list and echo summarization), some written in institution styles no source uses.
Each spec names its generator: `make(rng, style) -> example body` (no id/type/task yet).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from clinical_mpt.data.synth import mcqa, nli, note_nli, qa, summarization
from clinical_mpt.data.synth.compose import Doc
from clinical_mpt.data.synth.scenes_concepts import TEST_KINDS, TREATMENT_KINDS, concept_scene, disease_scene
from clinical_mpt.data.synth.scenes_med import ade_scene, med_scene
from clinical_mpt.data.synth.scenes_social import opioid_scene, sdoh_scene
from clinical_mpt.data.synth.styles import Style

DEFAULT_SIZES = {"train": 160, "dev": 32, "test": 48}
# Targets are what the study measures: >= 100 test examples each, so that paired bootstrap intervals
# can separate methods (suite version 2; version 1 had 48).
TARGET_SIZES = {"train": 160, "dev": 48, "test": 128}


def ner_from(scene: Callable[[random.Random, Style], Doc], labels: tuple[str, ...],
             rng: random.Random, style: Style) -> dict:
    """NER example from a scene: its text and the entities whose type is one of `labels`."""
    doc = scene(rng, style)
    return {"text": doc.text, "entities": [e for e in doc.entities if e["type"] in labels]}


def re_from(scene: Callable[[random.Random, Style], Doc], rng: random.Random, style: Style) -> dict:
    """RE example from a scene: its text, relations and all entities (relation arguments included)."""
    doc = scene(rng, style)
    return {"text": doc.text, "relations": doc.relations, "entities": doc.entities}


@dataclass(frozen=True)
class TaskSpec:
    name: str
    type: str
    role: str          # "source" | "target"
    style: str         # key of styles.STYLES
    description: str
    instruction: str
    labels: tuple[str, ...]
    make: Callable[[random.Random, Style], dict]
    sizes: dict = field(default_factory=lambda: dict(DEFAULT_SIZES))


MED = ("Drug", "Strength", "Dosage", "Form", "Route", "Frequency")
CONCEPT = ("Problem", "Test", "Treatment")
ADE = ("Drug", "ADE", "Reason")
SDOH = ("Tobacco", "Alcohol", "Drug", "Employment", "LivingStatus", "StatusTime", "StatusEmploy", "TypeLiving",
        "Amount", "Frequency", "Duration", "Type")
OPIOID = ("Opioid", "Dose", "Route", "Frequency", "Indication", "Misuse")
NLI = ("entailment", "neutral", "contradiction")

_concepts = partial(concept_scene, kinds=TREATMENT_KINDS + TEST_KINDS)
_treatments = partial(concept_scene, kinds=TREATMENT_KINDS)
_tests = partial(concept_scene, kinds=TEST_KINDS)

TASKS = (
    # ---- source tasks (21) ----
    TaskSpec("med_ner", "ner", "source", "inst_a_terse", "medication NER: Drug, Strength, Dosage, Form, Route, Frequency",
             "Extract the medication entities (Drug, Strength, Dosage, Form, Route, Frequency).", MED,
             partial(ner_from, med_scene, MED)),
    TaskSpec("concept_ner", "ner", "source", "inst_b_narrative", "clinical concept NER (i2b2-2010 style): Problem, Test, Treatment",
             "Extract the medical problems, tests and treatments.", CONCEPT, partial(ner_from, _concepts, CONCEPT)),
    TaskSpec("disease_ner", "ner", "source", "inst_c_soap", "disease mention NER, asserted, negated or familial",
             "Extract every disease mentioned, including negated and family-history mentions.", ("Disease",),
             partial(ner_from, disease_scene, ("Disease",))),
    TaskSpec("ade_ner", "ner", "source", "inst_d_bulleted", "adverse drug event NER: Drug, ADE, Reason",
             "Extract the drugs, their adverse drug events (ADE) and the reasons they were given.", ADE,
             partial(ner_from, ade_scene, ADE)),
    TaskSpec("drug_attr_re", "re", "source", "inst_d_bulleted", "drug-attribute relations (n2c2-2018 style)",
             "Link each medication attribute (strength, dosage, form, route, frequency) to its drug.",
             tuple(f"{a}-Drug" for a in ("Strength", "Dosage", "Form", "Route", "Frequency")), partial(re_from, med_scene)),
    TaskSpec("treatment_problem_re", "re", "source", "inst_b_narrative", "treatment-problem relations (i2b2-2010 TrAP/TrIP/TrWP/TrCP/TrNAP)",
             "Classify each treatment-problem relation: administered for (TrAP), improves (TrIP), worsens (TrWP), "
             "causes (TrCP) or withheld because of (TrNAP).", TREATMENT_KINDS, partial(re_from, _treatments)),
    TaskSpec("test_problem_re", "re", "source", "inst_a_terse", "test-problem relations (i2b2-2010 TeRP/TeCP)",
             "Link each test to the problem it revealed (TeRP) or was ordered to investigate (TeCP).", TEST_KINDS,
             partial(re_from, _tests)),
    TaskSpec("drug_ade_re", "re", "source", "inst_c_soap", "drug-ADE and drug-reason relations",
             "Link each adverse drug event (ADE-Drug) and each reason (Reason-Drug) to its drug.",
             ("ADE-Drug", "Reason-Drug"), partial(re_from, ade_scene)),
    TaskSpec("admission_qa", "qa", "source", "inst_b_narrative", "extractive QA over admission notes",
             "Answer the question with a span copied from the note.", (), qa.admission_qa),
    TaskSpec("med_qa", "qa", "source", "inst_d_bulleted", "extractive QA over medication lists (dose, frequency, route, reason)",
             "Answer the medication question with a span copied from the list.", (), qa.med_qa),
    TaskSpec("lab_qa", "qa", "source", "inst_a_terse", "extractive QA over laboratory values and trends",
             "Answer with the lab value copied from the note.", (), qa.lab_qa),
    TaskSpec("rad_qa", "qa", "source", "inst_c_soap", "extractive QA over chest CT reports (nodules, effusions, follow-up)",
             "Answer the question with a span copied from the radiology report.", (), qa.rad_qa),
    TaskSpec("pharm_mcqa", "mcqa", "source", "exam_board", "pharmacology multiple choice: class, adverse effect, indication, culprit",
             "Choose the correct option (A-D).", ("A", "B", "C", "D"), mcqa.pharm_mcqa),
    TaskSpec("dx_mcqa", "mcqa", "source", "exam_board", "diagnosis multiple choice from short vignettes",
             "Choose the most likely diagnosis (A-D).", ("A", "B", "C", "D"), mcqa.dx_mcqa),
    TaskSpec("lab_mcqa", "mcqa", "source", "exam_board", "lab interpretation multiple choice (one abnormality per panel)",
             "Choose the abnormality shown by the labs (A-E).", ("A", "B", "C", "D", "E"), mcqa.lab_mcqa),
    TaskSpec("mednli_history", "nli", "source", "inst_b_narrative", "MedNLI-style inference over history and presentation",
             "Does the note entail, contradict, or say nothing about the statement?", NLI, nli.mednli_history),
    TaskSpec("mednli_meds", "nli", "source", "inst_a_terse", "MedNLI-style inference over medication lists",
             "Does the medication note entail, contradict, or say nothing about the statement?", NLI, nli.mednli_meds),
    TaskSpec("mednli_labs", "nli", "source", "inst_c_soap", "MedNLI-style inference over lab values",
             "Do the lab results entail, contradict, or say nothing about the statement?", NLI, nli.mednli_labs),
    TaskSpec("rad_summ", "summarization", "source", "inst_c_soap", "radiology findings to impression (chest radiograph, abdominal CT)",
             "Write the impression for these radiology findings.", (), summarization.rad_summ),
    TaskSpec("discharge_summ", "summarization", "source", "inst_b_narrative", "discharge summary to a one-paragraph hospital course",
             "Summarize the hospitalization in two sentences.", (), summarization.discharge_summ),
    TaskSpec("dialogue_summ", "summarization", "source", "inst_a_terse", "doctor-patient dialogue to an HPI note",
             "Write the history of present illness from this conversation.", (), summarization.dialogue_summ),
    # ---- target tasks (10) ----
)
_TARGETS = (
    TaskSpec("sdoh_ner", "ner", "target", "inst_e_dictated", "social determinants of health NER (n2c2-2022 style)",
             "Extract the social determinants of health: substance use, employment and living situation, with their "
             "status, amount, frequency, duration and type.", SDOH, partial(ner_from, sdoh_scene, SDOH)),
    TaskSpec("sdoh_re", "re", "target", "inst_b_narrative", "SDOH trigger-argument relations (n2c2-2022 style)",
             "Link each social-history argument to its trigger; the relation is the argument type.",
             ("StatusTime", "StatusEmploy", "TypeLiving", "Amount", "Frequency", "Duration", "Type"), partial(re_from, sdoh_scene)),
    TaskSpec("opioid_ner", "ner", "target", "inst_f_templated", "opioid use NER: Opioid, Dose, Route, Frequency, Indication, Misuse",
             "Extract the opioid entities (Opioid, Dose, Route, Frequency, Indication, Misuse).", OPIOID,
             partial(ner_from, opioid_scene, OPIOID)),
    TaskSpec("opioid_re", "re", "target", "inst_a_terse", "opioid attribute relations",
             "Link each opioid attribute (dose, route, frequency, indication, misuse) to its opioid.",
             tuple(f"{a}-Opioid" for a in ("Dose", "Route", "Frequency", "Indication", "Misuse")), partial(re_from, opioid_scene)),
    TaskSpec("medbullets_mcqa", "mcqa", "target", "exam_board", "Medbullets-style management vignettes, 5 options",
             "Choose the best answer (A-E).", ("A", "B", "C", "D", "E"), mcqa.medbullets_mcqa),
    TaskSpec("headqa_mcqa", "mcqa", "target", "exam_board", "HeadQA-style short exam questions, 4 options",
             "Choose the correct answer (A-D).", ("A", "B", "C", "D"), mcqa.headqa_mcqa),
    TaskSpec("scinli", "nli", "target", "lit_abstract", "SciNLI-style inference over trial abstracts",
             "Does the abstract entail, contradict, or say nothing about the statement?", NLI, nli.scinli),
    TaskSpec("radnli", "nli", "target", "inst_a_terse", "RadNLI-style inference over chest radiograph findings",
             "Do the radiology findings entail, contradict, or say nothing about the statement?", NLI, nli.radnli),
    TaskSpec("problem_list_summ", "summarization", "target", "inst_c_soap", "progress note to active problem list",
             "List the patient's active problems, separated by semicolons.", (), summarization.progress_summ),
    TaskSpec("echo_summ", "summarization", "target", "inst_f_templated", "echocardiogram report to impression",
             "Write the impression for this echocardiogram.", (), summarization.echo_summ),
)
TASKS = TASKS + tuple(dataclasses.replace(t, sizes=dict(TARGET_SIZES)) for t in _TARGETS)

# ---- extra tasks: not part of the study's suite; written only when asked (`clinical-mpt data synth
# --extra NAME`), so the 31 tasks above and their files do not move. note_nli trains the library's
# general NLI prompt (docs/results/README.md, "The real-text check").
EXTRA_TASKS = (
    TaskSpec("note_nli", "nli", "source", "inst_b_narrative",
             "NLI over snippets of whole notes: vitals, labs, imaging, course, social history, allergies, medications",
             "Does the note entail, contradict, or say nothing about the statement?", NLI, note_nli.note_nli,
             sizes={"train": 2400, "dev": 100, "test": 200}),
)
TASK_BY_NAME = {t.name: t for t in TASKS + EXTRA_TASKS}
