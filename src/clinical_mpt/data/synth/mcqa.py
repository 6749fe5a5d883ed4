"""Multiple-choice questions: three source sets (pharmacology, diagnosis, lab interpretation) and
two target sets (Medbullets-style management vignettes, HeadQA-style short exam questions).

The answer is the generator's ground truth; distractors are drawn from the same category (other
drug classes, other diseases of the same organ system, other abnormalities) and are checked not
to be correct too. Option order is shuffled, so the answer key is uniform.
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import knowledge as K
from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth import vocab_clinical as C
from clinical_mpt.data.synth.styles import Style
from clinical_mpt.data.synth.vocab import article, listing


def _mcqa(rng: random.Random, question: str, correct: str, pool: list[str], keys: str) -> dict:
    """Options = correct + (len(keys) - 1) distinct distractors from `pool`, shuffled."""
    distractors = rng.sample(sorted(set(pool) - {correct}), len(keys) - 1)
    texts = [correct] + distractors
    rng.shuffle(texts)
    options = dict(zip(keys, texts))
    return {"question": question, "options": options, "answer": keys[texts.index(correct)]}


def _who(rng: random.Random, lo: int, hi: int) -> str:
    p = V.patient(rng, lo, hi)
    noun = ("boy" if p.sex == "male" else "girl") if p.age < 16 else ("man" if p.sex == "male" else "woman")
    age = f"{p.age}-year-old"
    return f"{article(age).capitalize()} {age} {noun}"


def pharm_mcqa(rng: random.Random, style: Style) -> dict:
    """Drug class, adverse effect, indication, or the culprit drug of an adverse effect (4 options)."""
    drug = rng.choice(V.DRUGS)
    kind = rng.choice(("class", "ade", "indication", "culprit"))
    if kind == "class":
        q = rng.choice((f"{drug.name.capitalize()} belongs to which drug class?",
                        f"Which class of medication is {drug.name}?", f"{drug.name.capitalize()} is best classified as a:"))
        return _mcqa(rng, q, drug.cls, [d.cls for d in V.DRUGS], "ABCD")
    if kind == "ade":
        q = rng.choice((f"Which adverse effect is most associated with {drug.name}?",
                        f"A patient starting {drug.name} should be counseled about which of the following adverse effects?"))
        close = K.related(*drug.ades)
        pool = [a for d in V.DRUGS for a in d.ades if a not in close]
        return _mcqa(rng, q, rng.choice(drug.ades), pool, "ABCD")
    if kind == "indication":
        reason = rng.choice(drug.indications)
        q = rng.choice((f"Which of the following medications is indicated for {reason}?",
                        f"Which drug is used for {reason}?"))
        close = K.related(reason)
        return _mcqa(rng, q, drug.name, [d.name for d in V.DRUGS if not close & set(d.indications)], "ABCD")
    ade = rng.choice(drug.ades)
    close = K.related(ade)
    innocent = sorted(d.name for d in V.DRUGS if not close & set(d.ades))
    others = rng.sample(innocent, 3)
    listed = others[:2] + [drug.name]
    rng.shuffle(listed)
    q = (f"{_who(rng, 40, 85)} taking {listed[0]}, {listed[1]} and {listed[2]} develops {ade}. "
         "Which medication is the most likely cause?")
    return _mcqa(rng, q, drug.name, others, "ABCD")


def _vitals(rng: random.Random, d: K.Disease) -> str:
    t = f"{rng.uniform(38.4, 39.8):.1f}" if d.vitals == "febrile" else f"{rng.uniform(36.6, 37.4):.1f}"
    hr = rng.randint(112, 148) if d.vitals == "tachycardic" else rng.randint(64, 96)
    sbp = rng.randint(165, 196) if d.vitals == "hypertensive" else rng.randint(108, 138)
    return (f"Temperature is {t}\u00b0C, pulse is {hr}/min, blood pressure is {sbp}/{rng.randint(62, 94)} mm Hg, "
            f"and respirations are {rng.randint(14, 24)}/min")


def _vignette(rng: random.Random, d: K.Disease, finding: bool, long: bool) -> str:
    symptoms = rng.sample(d.symptoms, min(len(d.symptoms), rng.randint(1, 3)))
    parts = [f"{_who(rng, *d.ages)} presents with {listing(symptoms)}"]
    if long:
        parts.append(f"{rng.choice(('History is notable for', 'Past history includes', 'The history is significant for'))} {d.risk}")
        parts.append(_vitals(rng, d))
    parts.append(f"Examination shows {listing(rng.sample(d.signs, min(len(d.signs), 2)))}")
    if finding:
        parts.append(f"Workup reveals {d.finding}")
    return ". ".join(parts) + "."


def _plausible(rng: random.Random, d: K.Disease, attr: str, n: int) -> list[str]:
    """n distractors for `d`'s `attr`: up to n - 1 from diseases of the same organ system, the rest
    from any other disease; never equal to the correct value."""
    mine = getattr(d, attr)
    same = sorted({getattr(o, attr) for o in K.DISEASES if o.system == d.system} - {mine})
    picked = rng.sample(same, min(len(same), n - 1))
    rest = sorted({getattr(o, attr) for o in K.DISEASES} - set(picked) - {mine})
    return picked + rng.sample(rest, n - len(picked))


def dx_mcqa(rng: random.Random, style: Style) -> dict:
    """A short vignette; which diagnosis is most likely (4 options)."""
    d = rng.choice(K.DISEASES)
    q = _vignette(rng, d, finding=rng.random() < 0.7, long=False) + " " + rng.choice(
        ("Which of the following is the most likely diagnosis?", "What is the most likely diagnosis?"))
    return _mcqa(rng, q, d.name, _plausible(rng, d, "name", 3), "ABCD")


def lab_mcqa(rng: random.Random, style: Style) -> dict:
    """A lab panel with exactly one abnormal value; which abnormality is present (5 options)."""
    keys = rng.sample(sorted(C.LABS), rng.randint(4, 6))
    abnormal = C.LABS[keys[0]]
    direction = rng.choice([x for x in ("low", "high") if getattr(abnormal, x)])
    condition = getattr(abnormal, direction)[0]
    values = []
    for k in keys:
        lab = C.LABS[k]
        state = direction if lab is abnormal else "normal"
        values.append(f"{lab.name} {C.lab_value(rng, lab, state)}{' ' + lab.unit if lab.unit else ''}")
    rng.shuffle(values)
    pool = [x[0] for lab in C.LABS.values() for x in (lab.low, lab.high) if x]
    q = (f"{_who(rng, 25, 85)} with {rng.choice([c for c in C.CHRONIC if c not in C.MALE_ONLY])} has routine laboratory studies: {'; '.join(values)}. "
         + rng.choice(("Which of the following abnormalities is present?",
                       "These results are most consistent with which of the following?")))
    return _mcqa(rng, q, condition, pool, "ABCDE")


def medbullets_mcqa(rng: random.Random, style: Style) -> dict:
    """A longer vignette; the most appropriate treatment or diagnostic test (5 options)."""
    d = rng.choice(K.DISEASES)
    if rng.random() < 0.6:
        stem = _vignette(rng, d, finding=True, long=True)
        q = stem + " " + rng.choice(("Which of the following is the most appropriate treatment?",
                                     "What is the best initial management?"))
        return _mcqa(rng, q, d.treatment, _plausible(rng, d, "treatment", 4), "ABCDE")
    stem = _vignette(rng, d, finding=False, long=True)
    q = stem + " " + rng.choice(("Which of the following is the best next step to confirm the diagnosis?",
                                 "Which test is most appropriate to establish the diagnosis?"))
    return _mcqa(rng, q, d.best_test, _plausible(rng, d, "best_test", 4), "ABCDE")


def headqa_mcqa(rng: random.Random, style: Style) -> dict:
    """A one-line exam question (4 options): antidotes, vitamins, organisms, reference ranges, drug
    classes, first-line treatments and diagnostic tests of choice."""
    kind = rng.choice(("antidote", "vitamin", "organism", "range", "member", "first_line", "test"))
    if kind == "antidote":
        poison, antidote = rng.choice(K.ANTIDOTES)
        q = rng.choice((f"The antidote for {poison} poisoning is:", f"Which agent reverses {poison} toxicity?",
                        f"In {article(poison)} {poison} overdose, the specific antidote is:"))
        return _mcqa(rng, q, antidote, [a for _, a in K.ANTIDOTES], "ABCD")
    if kind == "vitamin":
        disease, vitamin = rng.choice(K.VITAMINS)
        q = rng.choice((f"{disease[0].upper() + disease[1:]} is caused by a deficiency of:",
                        f"Which deficiency is responsible for {disease}?", f"The deficiency that causes {disease} is:"))
        return _mcqa(rng, q, vitamin, [v for _, v in K.VITAMINS], "ABCD")
    if kind == "organism":
        condition, organism = rng.choice(K.ORGANISMS)
        q = rng.choice((f"The most frequent causative agent of {condition} is:",
                        f"Which organism most commonly causes {condition}?", f"{condition[0].upper() + condition[1:]} is most often caused by:"))
        return _mcqa(rng, q, organism, [o for _, o in K.ORGANISMS], "ABCD")
    if kind == "range":
        analyte, normal, wrong = rng.choice(K.RANGES)
        q = rng.choice((f"The normal range of {analyte} in adults is:", f"Which is the reference interval for {analyte}?"))
        return _mcqa(rng, q, normal, list(wrong), "ABCD")
    if kind in ("first_line", "test"):
        d = rng.choice(K.DISEASES)
        if kind == "first_line":
            q = rng.choice((f"The first-line treatment of {d.name} is:", f"Which is the initial treatment of choice for {d.name}?"))
            return _mcqa(rng, q, d.treatment, _plausible(rng, d, "treatment", 3), "ABCD")
        q = rng.choice((f"The diagnostic test of choice for {d.name} is:", f"Which test best establishes {d.name}?"))
        return _mcqa(rng, q, d.best_test, _plausible(rng, d, "best_test", 3), "ABCD")
    classes = sorted({d.cls for d in V.DRUGS})
    cls = rng.choice(classes)
    member = rng.choice([d.name for d in V.DRUGS if d.cls == cls])
    q = rng.choice((f"Which of the following drugs is {article(cls)} {cls}?",
                    f"Indicate which drug belongs to the {cls} class:", f"Among the following, {article(cls)} {cls} is:"))
    return _mcqa(rng, q, member, [d.name for d in V.DRUGS if d.cls != cls], "ABCD")
