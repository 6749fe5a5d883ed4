"""Curated vocabularies: real drug names with their doses, routes, frequencies, indications and
adverse effects; shorthand for clinical terms; patient demographics.

Everything here is a plain constant (tuples, not sets, so iteration order is fixed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from clinical_mpt.data.synth.styles import Style


@dataclass(frozen=True)
class Drug:
    name: str
    cls: str                                   # pharmacologic class
    strengths: tuple[tuple[str, str], ...]     # (value, unit)
    form: str                                  # tablet, capsule, injection, ...
    routes: tuple[str, ...]                    # keys of ROUTES
    freqs: tuple[str, ...]                     # keys of FREQS
    indications: tuple[str, ...]               # problems it is given for
    ades: tuple[str, ...]                      # adverse effects it is known to cause


def _d(name, cls, strengths, form, routes, freqs, indications, ades) -> Drug:
    *values, unit = strengths.split()
    return Drug(name, cls, tuple((v, unit) for v in values), form, tuple(routes.split()),
                tuple(freqs.split(",")), tuple(indications.split(",")), tuple(ades.split(",")))


DRUGS = (
    _d("metoprolol", "beta blocker", "25 50 100 mg", "tablet", "PO", "BID,daily",
       "hypertension,atrial fibrillation,coronary artery disease", "bradycardia,hypotension,fatigue"),
    _d("lisinopril", "ACE inhibitor", "5 10 20 40 mg", "tablet", "PO", "daily",
       "hypertension,heart failure", "cough,angioedema,hyperkalemia"),
    _d("amlodipine", "calcium channel blocker", "5 10 mg", "tablet", "PO", "daily",
       "hypertension", "lower extremity edema,dizziness"),
    _d("atorvastatin", "statin", "20 40 80 mg", "tablet", "PO", "qHS,daily",
       "hyperlipidemia,coronary artery disease", "myalgias,elevated liver enzymes"),
    _d("metformin", "biguanide", "500 850 1000 mg", "tablet", "PO", "BID,daily",
       "type 2 diabetes", "diarrhea,lactic acidosis,nausea"),
    _d("insulin glargine", "long-acting insulin", "10 18 24 30 units", "injection", "SC", "qHS,daily",
       "type 2 diabetes", "hypoglycemia"),
    _d("furosemide", "loop diuretic", "20 40 80 mg", "tablet", "PO IV", "daily,BID",
       "heart failure,edema", "hypokalemia,acute kidney injury,hypotension"),
    _d("warfarin", "vitamin K antagonist", "2.5 5 7.5 mg", "tablet", "PO", "daily",
       "atrial fibrillation,deep vein thrombosis", "bleeding,supratherapeutic INR"),
    _d("apixaban", "factor Xa inhibitor", "2.5 5 mg", "tablet", "PO", "BID",
       "atrial fibrillation,pulmonary embolism", "bleeding"),
    _d("heparin", "anticoagulant", "5000 7500 units", "injection", "SC", "q8h,q12h",
       "DVT prophylaxis", "thrombocytopenia,bleeding"),
    _d("enoxaparin", "low molecular weight heparin", "40 60 80 mg", "injection", "SC", "daily,q12h",
       "DVT prophylaxis,deep vein thrombosis", "bleeding,thrombocytopenia"),
    _d("aspirin", "antiplatelet", "81 325 mg", "tablet", "PO", "daily",
       "coronary artery disease,stroke prevention", "GI bleed"),
    _d("clopidogrel", "P2Y12 inhibitor", "75 mg", "tablet", "PO", "daily",
       "coronary artery disease", "bleeding"),
    _d("vancomycin", "glycopeptide antibiotic", "1 1.25 1.5 g", "injection", "IV", "q12h,q8h",
       "MRSA bacteremia,cellulitis", "acute kidney injury,rash"),
    _d("ceftriaxone", "cephalosporin", "1 2 g", "injection", "IV", "daily",
       "pneumonia,urinary tract infection", "rash,diarrhea"),
    _d("piperacillin-tazobactam", "penicillin", "3.375 4.5 g", "injection", "IV", "q6h,q8h",
       "pneumonia,intra-abdominal infection", "diarrhea,rash"),
    _d("azithromycin", "macrolide", "250 500 mg", "tablet", "PO IV", "daily",
       "pneumonia,bronchitis", "QT prolongation,diarrhea"),
    _d("ciprofloxacin", "fluoroquinolone", "250 500 mg", "tablet", "PO", "BID",
       "urinary tract infection", "tendinitis,QT prolongation"),
    _d("trimethoprim-sulfamethoxazole", "sulfonamide antibiotic", "800/160 mg", "tablet", "PO", "BID",
       "urinary tract infection,cellulitis", "hyperkalemia,rash"),
    _d("prednisone", "corticosteroid", "10 20 40 60 mg", "tablet", "PO", "daily",
       "COPD exacerbation,asthma exacerbation,gout flare", "hyperglycemia,insomnia"),
    _d("albuterol", "short-acting beta agonist", "2.5 mg", "nebulizer solution", "INH", "q4h PRN,q6h PRN",
       "asthma,COPD", "tachycardia,tremor"),
    _d("pantoprazole", "proton pump inhibitor", "20 40 mg", "tablet", "PO IV", "daily,BID",
       "GERD,GI bleed", "diarrhea,hypomagnesemia"),
    _d("ondansetron", "antiemetic", "4 8 mg", "tablet", "PO IV", "q8h PRN",
       "nausea", "QT prolongation,constipation"),
    _d("acetaminophen", "analgesic", "500 650 1000 mg", "tablet", "PO", "q6h PRN",
       "pain,fever", "elevated liver enzymes"),
    _d("ibuprofen", "NSAID", "400 600 800 mg", "tablet", "PO", "TID PRN,q8h PRN",
       "pain,osteoarthritis", "GI bleed,acute kidney injury"),
    _d("oxycodone", "opioid", "5 10 mg", "tablet", "PO", "q4h PRN,q6h PRN",
       "pain", "constipation,sedation"),
    _d("morphine", "opioid", "2 4 mg", "injection", "IV", "q4h PRN",
       "pain", "respiratory depression,sedation"),
    _d("gabapentin", "anticonvulsant", "100 300 600 mg", "capsule", "PO", "TID,qHS",
       "neuropathic pain", "somnolence,dizziness"),
    _d("sertraline", "SSRI", "25 50 100 mg", "tablet", "PO", "daily",
       "depression,anxiety", "nausea,insomnia"),
    _d("levothyroxine", "thyroid hormone", "50 75 100 mcg", "tablet", "PO", "daily",
       "hypothyroidism", "palpitations"),
    _d("allopurinol", "xanthine oxidase inhibitor", "100 300 mg", "tablet", "PO", "daily",
       "gout", "rash"),
    _d("lorazepam", "benzodiazepine", "0.5 1 2 mg", "tablet", "PO IV", "q6h PRN,qHS PRN",
       "anxiety,alcohol withdrawal", "sedation,confusion"),
    _d("haloperidol", "antipsychotic", "1 2 5 mg", "injection", "IV IM", "q6h PRN",
       "delirium,agitation", "QT prolongation,extrapyramidal symptoms"),
    _d("hydrochlorothiazide", "thiazide diuretic", "12.5 25 mg", "tablet", "PO", "daily",
       "hypertension", "hyponatremia,hypokalemia"),
    _d("spironolactone", "aldosterone antagonist", "25 50 mg", "tablet", "PO", "daily",
       "heart failure,ascites", "hyperkalemia,gynecomastia"),
    _d("potassium chloride", "electrolyte replacement", "20 40 mEq", "tablet", "PO IV", "daily,BID",
       "hypokalemia", "nausea"),
    _d("amiodarone", "antiarrhythmic", "200 400 mg", "tablet", "PO", "daily",
       "atrial fibrillation", "hypothyroidism,QT prolongation"),
    _d("digoxin", "cardiac glycoside", "0.125 0.25 mg", "tablet", "PO", "daily",
       "atrial fibrillation,heart failure", "nausea,bradycardia"),
    _d("tamsulosin", "alpha blocker", "0.4 mg", "capsule", "PO", "qHS",
       "benign prostatic hyperplasia", "dizziness,hypotension"),
    _d("senna", "stimulant laxative", "8.6 17.2 mg", "tablet", "PO", "qHS,BID PRN",
       "constipation", "abdominal cramping"),
)
DRUG_BY_NAME = {d.name: d for d in DRUGS}

# route key -> (full forms, shorthand forms)
ROUTES = {
    "PO": (("by mouth", "orally"), ("PO", "po", "p.o.")),
    "IV": (("intravenously", "IV"), ("IV", "IVPB")),
    "SC": (("subcutaneously",), ("SC", "subq", "SQ")),
    "IM": (("intramuscularly",), ("IM",)),
    "INH": (("inhaled", "via nebulizer"), ("neb", "INH")),
}

# frequency key -> (full forms, shorthand forms)
FREQS = {
    "daily": (("once daily", "daily", "every day"), ("qd", "daily", "QD")),
    "BID": (("twice daily", "twice a day"), ("BID", "bid", "b.i.d.")),
    "TID": (("three times daily", "three times a day"), ("TID", "tid")),
    "q4h": (("every 4 hours",), ("q4h", "Q4H")),
    "q6h": (("every 6 hours",), ("q6h", "Q6H")),
    "q8h": (("every 8 hours",), ("q8h", "Q8H")),
    "q12h": (("every 12 hours",), ("q12h", "Q12H")),
    "qHS": (("at bedtime", "nightly"), ("qHS", "qhs", "QHS")),
    "q4h PRN": (("every 4 hours as needed",), ("q4h PRN", "q4h prn")),
    "q6h PRN": (("every 6 hours as needed",), ("q6h PRN", "q6h prn", "Q6H PRN")),
    "q8h PRN": (("every 8 hours as needed",), ("q8h PRN", "q8h prn")),
    "TID PRN": (("three times daily as needed",), ("TID PRN", "tid prn")),
    "BID PRN": (("twice daily as needed",), ("BID PRN",)),
    "qHS PRN": (("at bedtime as needed",), ("qHS PRN", "qhs prn")),
}

# form -> (full forms, shorthand forms)
FORMS = {
    "tablet": (("tablet", "tablets"), ("tab", "tabs")),
    "capsule": (("capsule", "capsules"), ("cap", "caps")),
    "injection": (("injection", "solution for injection"), ("inj",)),
    "nebulizer solution": (("nebulizer solution", "solution for nebulization"), ("neb soln", "nebs")),
}

# dosage (amount taken per administration) by form: (full forms, shorthand forms)
DOSAGES = {
    "tablet": (("one tablet", "two tablets", "1 tablet", "2 tablets", "half a tablet"), ("1 tab", "2 tabs", "1/2 tab")),
    "capsule": (("one capsule", "two capsules", "1 capsule"), ("1 cap", "2 caps")),
    "injection": (("one injection", "1 syringe"), ("1 syringe",)),
    "nebulizer solution": (("one vial", "1 nebule"), ("1 neb", "1 vial")),
}

# clinical term -> shorthand forms (terms not listed have none)
TERM_ABBREV = {
    "hypertension": ("HTN",), "type 2 diabetes": ("DM2", "T2DM", "NIDDM"), "coronary artery disease": ("CAD",),
    "heart failure": ("CHF", "HF"), "atrial fibrillation": ("afib", "AF", "a-fib"),
    "chronic obstructive pulmonary disease": ("COPD",), "COPD exacerbation": ("AECOPD", "COPD exac"),
    "asthma exacerbation": ("asthma exac",), "chronic kidney disease": ("CKD",), "pneumonia": ("PNA",),
    "urinary tract infection": ("UTI",), "acute kidney injury": ("AKI",), "deep vein thrombosis": ("DVT",),
    "pulmonary embolism": ("PE",), "GI bleed": ("GIB", "GI bleeding"), "hyperlipidemia": ("HLD",),
    "gastroesophageal reflux disease": ("GERD",), "obstructive sleep apnea": ("OSA",),
    "end-stage renal disease": ("ESRD",), "benign prostatic hyperplasia": ("BPH",),
    "shortness of breath": ("SOB",), "chest pain": ("CP",), "altered mental status": ("AMS",),
    "dyspnea on exertion": ("DOE",), "nausea and vomiting": ("N/V",), "lower extremity edema": ("LE edema", "LEE"),
    "hyperkalemia": ("hyperK",), "hypokalemia": ("hypoK",), "hyponatremia": ("hypoNa",),
    "hypotension": ("hypoTN",), "bradycardia": ("brady",), "elevated liver enzymes": ("elevated LFTs", "transaminitis"),
    "myalgias": ("myalgia",), "QT prolongation": ("QTc prolongation", "prolonged QTc"),
    "cerebrovascular accident": ("CVA",), "myocardial infarction": ("MI",), "DVT prophylaxis": ("DVT ppx",),
    "diabetic ketoacidosis": ("DKA",), "respiratory failure": ("resp failure",),
    "chest x-ray": ("CXR",), "electrocardiogram": ("EKG", "ECG"), "echocardiogram": ("TTE", "echo"),
    "urinalysis": ("UA",), "complete blood count": ("CBC",), "basic metabolic panel": ("BMP",),
    "CT scan of the head": ("CT head", "NCHCT"), "lower extremity doppler ultrasound": ("LE dopplers", "LENIs"),
    "CT angiogram of the chest": ("CTA chest", "CTPA"), "hemoglobin A1c": ("HbA1c", "A1c"),
    "liver function tests": ("LFTs",), "magnetic resonance imaging of the brain": ("MRI brain",),
    "percutaneous coronary intervention": ("PCI",), "coronary artery bypass grafting": ("CABG",),
    "packed red blood cells": ("PRBCs", "pRBC"), "intravenous fluids": ("IVF", "IV fluids"),
    "physical therapy": ("PT",), "continuous positive airway pressure": ("CPAP",),
    "metoprolol": ("Lopressor",), "acetaminophen": ("APAP", "Tylenol"), "aspirin": ("ASA",),
    "hydrochlorothiazide": ("HCTZ",), "potassium chloride": ("KCl",), "trimethoprim-sulfamethoxazole": ("TMP-SMX", "Bactrim"),
    "piperacillin-tazobactam": ("pip-tazo", "Zosyn"), "vancomycin": ("vanc", "vanco"), "insulin glargine": ("Lantus",),
    "apixaban": ("Eliquis",), "ondansetron": ("Zofran",), "pantoprazole": ("Protonix",), "furosemide": ("Lasix",),
    "lorazepam": ("Ativan",), "enoxaparin": ("Lovenox",), "clopidogrel": ("Plavix",),
    "oxycodone": ("Roxicodone", "oxy"), "hydrocodone-acetaminophen": ("Norco", "Vicodin"),
    "hydromorphone": ("Dilaudid",), "buprenorphine-naloxone": ("Suboxone",), "morphine ER": ("MS Contin",),
    "fentanyl patch": ("Duragesic",), "methadone": ("methadone",),
}


def term(style: Style, rng: random.Random, name: str) -> str:
    """How `name` is written by this style: shorthand (TERM_ABBREV) or in full, maybe misspelled."""
    return style.surface(rng, style.pick(rng, (name,), TERM_ABBREV.get(name, ())))


def route(style: Style, rng: random.Random, key: str) -> str:
    return style.pick(rng, *ROUTES[key])


def freq(style: Style, rng: random.Random, key: str) -> str:
    return style.pick(rng, *FREQS[key])


def strength(style: Style, rng: random.Random, drug: Drug) -> str:
    value, unit = rng.choice(drug.strengths)
    return style.amount(rng, value, unit)


def article(word: str) -> str:
    """'a' or 'an' before `word` (by sound: 'an 8-year-old', 'an NSAID', 'a statin')."""
    if word[0].isdigit():
        return "an" if word.startswith(("8", "11-", "11 ", "18-", "18 ")) else "a"
    if len(word) > 1 and word[:2].isupper():
        return "an" if word[0] in "AEFHILMNORSX" else "a"
    return "an" if word[0].lower() in "aeiou" else "a"


def listing(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# -- patients ---------------------------------------------------------------------------------
SEXES = (("male", "M", "He", "his"), ("female", "F", "She", "her"))
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


@dataclass(frozen=True)
class Patient:
    age: int
    sex: str       # "male" | "female"
    short: str     # "M" | "F"
    pronoun: str   # "He" | "She"
    poss: str      # "his" | "her"


def patient(rng: random.Random, lo: int = 24, hi: int = 92) -> Patient:
    return Patient(rng.randint(lo, hi), *rng.choice(SEXES))


def age_sex(style: Style, rng: random.Random, p: Patient) -> str:
    """'67yo M', '67-year-old man', '67 y/o female' as the style writes it."""
    if rng.random() < style.abbrev_rate:
        return rng.choice((f"{p.age}yo {p.short}", f"{p.age} y/o {p.short}", f"{p.age}{p.short}"))
    noun = rng.choice((p.sex, "man" if p.sex == "male" else "woman"))
    return rng.choice((f"{p.age}-year-old {noun}", f"{p.age} year old {noun}"))


def date(style: Style, rng: random.Random) -> str:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    if rng.random() < style.abbrev_rate or style.register == "fields":
        return rng.choice((f"{month}/{day}", f"{month:02d}/{day:02d}/20{rng.randint(15, 24)}"))
    return f"{MONTHS[month - 1]} {day}"


def duration(style: Style, rng: random.Random, lo: int = 2, hi: int = 14, unit: str = "days") -> str:
    n = rng.randint(lo, hi)
    if rng.random() < style.abbrev_rate:
        return f"{n}{unit[0]}" if rng.random() < 0.5 else f"{n} {unit[:-1] if n == 1 else unit}"
    return f"{n} {unit[:-1] if n == 1 else unit}"


def subject(style: Style, rng: random.Random, p: Patient) -> str:
    """How a sentence refers to the patient."""
    return style.pick(rng, ("The patient", p.pronoun, "Patient"), ("Pt", "pt"))
