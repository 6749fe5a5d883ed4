"""Curated clinical knowledge: diseases, symptoms, tests, procedures, the relations between them
(i2b2-2010 style), laboratory analytes with reference ranges, and plain-language paraphrases.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from clinical_mpt.data.synth.styles import Style

# chronic conditions (past medical history) and acute diseases (reasons for admission)
CHRONIC = (
    "hypertension", "type 2 diabetes", "coronary artery disease", "heart failure", "atrial fibrillation",
    "chronic obstructive pulmonary disease", "chronic kidney disease", "hyperlipidemia", "hypothyroidism",
    "gastroesophageal reflux disease", "obstructive sleep apnea", "asthma", "gout", "osteoarthritis",
    "depression", "benign prostatic hyperplasia", "cirrhosis", "end-stage renal disease", "anemia",
    "rheumatoid arthritis", "migraine", "epilepsy", "Parkinson disease", "dementia",
)
ACUTE = (
    "pneumonia", "urinary tract infection", "acute kidney injury", "deep vein thrombosis",
    "pulmonary embolism", "GI bleed", "cellulitis", "sepsis", "pancreatitis", "cholecystitis",
    "appendicitis", "diabetic ketoacidosis", "myocardial infarction", "cerebrovascular accident",
    "COPD exacerbation", "pyelonephritis", "diverticulitis", "small bowel obstruction",
)
DISEASES = CHRONIC + ACUTE
MALE_ONLY = ("benign prostatic hyperplasia",)
NOT_PROBLEMS = ("DVT prophylaxis", "stroke prevention")   # drug indications that are not medical problems
ONGOING = ("hemodialysis", "physical therapy", "continuous positive airway pressure", "intravenous fluids",
           "insulin drip")                                 # procedures one can "continue"


def chronic_for(rng: random.Random, sex: str, k: int) -> list[str]:
    """k distinct chronic conditions plausible for a patient of `sex`."""
    pool = [c for c in CHRONIC if sex == "male" or c not in MALE_ONLY]
    return rng.sample(pool, k)


def bare(phrase: str) -> str:
    """A paraphrase without its leading article ('a weak heart' -> 'weak heart')."""
    for art in ("a ", "an "):
        if phrase.startswith(art):
            return phrase[len(art):]
    return phrase

# presenting symptoms (i2b2 "problems" that are not diseases)
SYMPTOMS = (
    "chest pain", "shortness of breath", "abdominal pain", "nausea and vomiting", "fever", "cough",
    "headache", "dizziness", "syncope", "lower extremity edema", "altered mental status", "dysuria",
    "hematuria", "back pain", "fatigue", "palpitations", "dyspnea on exertion", "diarrhea", "melena",
    "weakness", "leg swelling",
)

TESTS = (
    "chest x-ray", "electrocardiogram", "echocardiogram", "urinalysis", "complete blood count",
    "basic metabolic panel", "CT scan of the head", "lower extremity doppler ultrasound",
    "CT angiogram of the chest", "hemoglobin A1c", "troponin", "blood cultures", "lipase",
    "liver function tests", "magnetic resonance imaging of the brain", "CT of the abdomen and pelvis",
    "right upper quadrant ultrasound", "BNP", "TSH", "lactate", "urine culture", "colonoscopy",
)

PROCEDURES = (
    "percutaneous coronary intervention", "coronary artery bypass grafting", "hemodialysis",
    "intravenous fluids", "packed red blood cells", "paracentesis", "thoracentesis", "intubation",
    "appendectomy", "cholecystectomy", "physical therapy", "continuous positive airway pressure",
    "insulin drip", "cardiac catheterization", "incision and drainage",
)

# (treatment, problem): the treatment is given for the problem (TrAP; TrIP/TrWP when it improves/worsens)
TREATS = (
    ("percutaneous coronary intervention", "myocardial infarction"), ("hemodialysis", "end-stage renal disease"),
    ("intravenous fluids", "acute kidney injury"), ("packed red blood cells", "anemia"),
    ("paracentesis", "ascites"), ("thoracentesis", "pleural effusion"), ("intubation", "respiratory failure"),
    ("appendectomy", "appendicitis"), ("cholecystectomy", "cholecystitis"), ("physical therapy", "deconditioning"),
    ("continuous positive airway pressure", "obstructive sleep apnea"), ("insulin drip", "diabetic ketoacidosis"),
    ("incision and drainage", "abscess"), ("coronary artery bypass grafting", "coronary artery disease"),
    ("intravenous fluids", "sepsis"), ("intravenous fluids", "pancreatitis"),
)

# (treatment, problem): the treatment caused the problem (TrCP), beyond drug adverse effects
CAUSES = (
    ("cardiac catheterization", "groin hematoma"), ("intubation", "vocal cord injury"),
    ("cholecystectomy", "bile leak"), ("packed red blood cells", "transfusion reaction"),
    ("hemodialysis", "hypotension"), ("paracentesis", "hypotension"), ("thoracentesis", "pneumothorax"),
)

# (treatment, problem): the treatment is withheld because of the problem (TrNAP)
WITHHELD = (
    ("heparin", "GI bleed"), ("warfarin", "supratherapeutic INR"), ("metformin", "acute kidney injury"),
    ("lisinopril", "hyperkalemia"), ("metoprolol", "bradycardia"), ("furosemide", "hypotension"),
    ("ibuprofen", "acute kidney injury"), ("enoxaparin", "thrombocytopenia"), ("apixaban", "GI bleed"),
    ("lisinopril", "acute kidney injury"), ("amlodipine", "hypotension"), ("aspirin", "GI bleed"),
)

# (test, problem): the test revealed the problem (TeRP)
REVEALS = (
    ("chest x-ray", "right lower lobe infiltrate"), ("chest x-ray", "pleural effusion"),
    ("CT scan of the head", "subdural hematoma"), ("electrocardiogram", "ST elevations"),
    ("electrocardiogram", "atrial fibrillation"), ("urinalysis", "pyuria"), ("blood cultures", "MRSA bacteremia"),
    ("echocardiogram", "reduced ejection fraction"), ("lower extremity doppler ultrasound", "deep vein thrombosis"),
    ("CT angiogram of the chest", "pulmonary embolism"), ("hemoglobin A1c", "poorly controlled diabetes"),
    ("CT of the abdomen and pelvis", "appendicitis"), ("right upper quadrant ultrasound", "cholelithiasis"),
    ("magnetic resonance imaging of the brain", "acute ischemic stroke"), ("complete blood count", "leukocytosis"),
    ("basic metabolic panel", "hyponatremia"), ("lipase", "pancreatitis"), ("troponin", "NSTEMI"),
    ("colonoscopy", "colon polyp"), ("urine culture", "E. coli bacteriuria"), ("TSH", "hypothyroidism"),
)

# (test, problem): the test was done to investigate the problem (TeCP)
INVESTIGATES = (
    ("CT scan of the head", "altered mental status"), ("CT angiogram of the chest", "shortness of breath"),
    ("electrocardiogram", "chest pain"), ("troponin", "chest pain"), ("blood cultures", "fever"),
    ("urinalysis", "dysuria"), ("lower extremity doppler ultrasound", "leg swelling"),
    ("lipase", "abdominal pain"), ("CT of the abdomen and pelvis", "abdominal pain"),
    ("magnetic resonance imaging of the brain", "headache"), ("TSH", "fatigue"), ("echocardiogram", "syncope"),
    ("chest x-ray", "cough"), ("complete blood count", "melena"), ("BNP", "dyspnea on exertion"),
    ("colonoscopy", "melena"), ("electrocardiogram", "palpitations"), ("lactate", "sepsis"),
)

# plain-language paraphrases (for entailed hypotheses)
LAY = {
    "hypertension": "high blood pressure", "type 2 diabetes": "diabetes", "coronary artery disease": "heart disease",
    "heart failure": "a weak heart", "atrial fibrillation": "an irregular heart rhythm",
    "chronic obstructive pulmonary disease": "chronic lung disease", "chronic kidney disease": "kidney disease",
    "hyperlipidemia": "high cholesterol", "hypothyroidism": "an underactive thyroid",
    "gastroesophageal reflux disease": "acid reflux", "obstructive sleep apnea": "sleep apnea",
    "asthma": "a reactive airway disease", "gout": "a crystal arthropathy", "osteoarthritis": "degenerative joint disease",
    "depression": "a mood disorder", "benign prostatic hyperplasia": "an enlarged prostate", "cirrhosis": "liver disease",
    "end-stage renal disease": "kidney failure", "anemia": "a low blood count", "rheumatoid arthritis": "an autoimmune arthritis",
    "migraine": "a headache disorder", "epilepsy": "a seizure disorder", "Parkinson disease": "a movement disorder",
    "dementia": "cognitive impairment", "pneumonia": "a lung infection", "urinary tract infection": "a bladder infection",
    "acute kidney injury": "worsening kidney function", "deep vein thrombosis": "a blood clot in the leg",
    "pulmonary embolism": "a blood clot in the lungs", "GI bleed": "bleeding from the gut", "cellulitis": "a skin infection",
    "sepsis": "a serious infection", "pancreatitis": "inflammation of the pancreas",
    "cholecystitis": "an inflamed gallbladder", "appendicitis": "an inflamed appendix",
    "diabetic ketoacidosis": "a diabetic emergency", "myocardial infarction": "a heart attack",
    "cerebrovascular accident": "a stroke", "COPD exacerbation": "a flare of chronic lung disease",
    "pyelonephritis": "a kidney infection", "diverticulitis": "an inflamed colon", "small bowel obstruction": "a blocked bowel",
    "chest pain": "pain in the chest", "shortness of breath": "difficulty breathing", "abdominal pain": "belly pain",
    "nausea and vomiting": "vomiting", "fever": "an elevated temperature", "cough": "a cough", "headache": "head pain",
    "dizziness": "lightheadedness", "syncope": "a loss of consciousness", "lower extremity edema": "swollen legs",
    "altered mental status": "confusion", "dysuria": "painful urination", "hematuria": "blood in the urine",
    "back pain": "pain in the back", "fatigue": "tiredness", "palpitations": "a racing heart",
    "dyspnea on exertion": "breathlessness with activity", "diarrhea": "loose stools", "melena": "black stools",
    "weakness": "weakness", "leg swelling": "a swollen leg",
}

# organ-system category of a condition (entailed by it: "has a cardiac condition")
SYSTEM = {
    "hypertension": "cardiovascular", "coronary artery disease": "cardiovascular", "heart failure": "cardiovascular",
    "atrial fibrillation": "cardiovascular", "hyperlipidemia": "metabolic", "type 2 diabetes": "metabolic",
    "hypothyroidism": "endocrine", "chronic obstructive pulmonary disease": "pulmonary", "asthma": "pulmonary",
    "obstructive sleep apnea": "pulmonary", "chronic kidney disease": "renal", "end-stage renal disease": "renal",
    "gastroesophageal reflux disease": "gastrointestinal", "cirrhosis": "liver", "gout": "rheumatologic",
    "osteoarthritis": "musculoskeletal", "rheumatoid arthritis": "rheumatologic", "depression": "psychiatric",
    "dementia": "neurologic", "epilepsy": "neurologic", "Parkinson disease": "neurologic", "migraine": "neurologic",
    "benign prostatic hyperplasia": "urologic", "anemia": "hematologic",
}


@dataclass(frozen=True)
class Lab:
    key: str
    name: str          # full name, e.g. "potassium"
    abbrev: str        # e.g. "K"
    unit: str
    normal: tuple[float, float]
    low: tuple[str, float, float] | None    # (condition, lo, hi) of an abnormally low value
    high: tuple[str, float, float] | None   # (condition, lo, hi) of an abnormally high value
    decimals: int


LABS = {lab.key: lab for lab in (
    Lab("sodium", "sodium", "Na", "mEq/L", (136, 144), ("hyponatremia", 118, 131), ("hypernatremia", 149, 162), 0),
    Lab("potassium", "potassium", "K", "mEq/L", (3.6, 4.9), ("hypokalemia", 2.5, 3.2), ("hyperkalemia", 5.6, 7.0), 1),
    Lab("chloride", "chloride", "Cl", "mEq/L", (99, 106), ("hypochloremia", 84, 95), ("hyperchloremia", 110, 120), 0),
    Lab("bicarbonate", "bicarbonate", "HCO3", "mEq/L", (23, 28), ("low bicarbonate", 10, 19), None, 0),
    Lab("bun", "blood urea nitrogen", "BUN", "mg/dL", (8, 19), None, ("elevated BUN", 32, 90), 0),
    Lab("creatinine", "creatinine", "Cr", "mg/dL", (0.6, 1.1), None, ("elevated creatinine", 1.8, 5.2), 1),
    Lab("glucose", "glucose", "Glu", "mg/dL", (75, 115), ("hypoglycemia", 38, 62), ("hyperglycemia", 240, 520), 0),
    Lab("calcium", "calcium", "Ca", "mg/dL", (8.7, 10.1), ("hypocalcemia", 6.5, 7.9), ("hypercalcemia", 11.0, 14.2), 1),
    Lab("magnesium", "magnesium", "Mg", "mg/dL", (1.8, 2.3), ("hypomagnesemia", 0.9, 1.4), ("hypermagnesemia", 3.0, 4.5), 1),
    Lab("wbc", "white blood cell count", "WBC", "K/uL", (4.6, 10.5), ("leukopenia", 1.2, 3.2), ("leukocytosis", 14.0, 28.0), 1),
    Lab("hemoglobin", "hemoglobin", "Hgb", "g/dL", (12.5, 15.8), ("anemia", 5.9, 9.8), ("polycythemia", 18.2, 21.0), 1),
    Lab("platelets", "platelet count", "Plt", "K/uL", (160, 390), ("thrombocytopenia", 18, 95), ("thrombocytosis", 520, 880), 0),
    Lab("inr", "INR", "INR", "", (0.9, 1.1), None, ("elevated INR", 2.2, 6.5), 1),
    Lab("lactate", "lactate", "lactate", "mmol/L", (0.6, 1.8), None, ("elevated lactate", 2.6, 8.0), 1),
    Lab("troponin", "troponin", "trop", "ng/mL", (0.0, 0.02), None, ("elevated troponin", 0.09, 4.5), 2),
    Lab("tsh", "TSH", "TSH", "mIU/L", (0.6, 3.8), ("suppressed TSH", 0.01, 0.2), ("elevated TSH", 7.0, 28.0), 2),
)}


def lab_value(rng: random.Random, lab: Lab, state: str) -> str:
    """A value string for `state` in {"normal", "low", "high"} (the state's range must exist)."""
    lo, hi = lab.normal if state == "normal" else (lab.low if state == "low" else lab.high)[1:]
    value = rng.uniform(lo, hi)
    return f"{value:.{lab.decimals}f}"


def lab_name(style: Style, rng: random.Random, lab: Lab) -> str:
    return style.pick(rng, (lab.name,), (lab.abbrev,))
