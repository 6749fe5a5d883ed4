"""Exam knowledge for the multiple-choice tasks: disease presentations with their best test and
first-line treatment, and short facts (antidotes, vitamin deficiencies, organisms, reference ranges).

Textbook-level and deliberately simplified: it makes the synthetic questions answerable and their
distractors plausible; it is not clinical guidance.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Disease:
    name: str
    system: str
    ages: tuple[int, int]
    symptoms: tuple[str, ...]
    signs: tuple[str, ...]
    finding: str           # a characteristic test result
    best_test: str         # the most appropriate diagnostic test
    treatment: str         # first-line treatment
    risk: str              # a risk factor or history clue
    vitals: str = "normal" # "febrile", "tachycardic", "hypotensive", "hypertensive" or "normal"


def _s(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(";"))


DISEASES = (
    Disease("community-acquired pneumonia", "pulmonary", (25, 85), _s("productive cough; fever; pleuritic chest pain"),
            _s("crackles over the right lower lung field; egophony"), "a right lower lobe consolidation on chest radiograph",
            "chest radiograph", "oral azithromycin", "a recent upper respiratory infection", "febrile"),
    Disease("pulmonary embolism", "pulmonary", (25, 75), _s("sudden-onset dyspnea; pleuritic chest pain"),
            _s("tachycardia; a swollen left calf"), "an elevated D-dimer", "CT pulmonary angiography",
            "anticoagulation with heparin", "a recent transatlantic flight", "tachycardic"),
    Disease("ST-elevation myocardial infarction", "cardiovascular", (45, 85),
            _s("crushing substernal chest pressure radiating to the left arm; diaphoresis"),
            _s("an S4 gallop; cool extremities"), "ST elevations in leads II, III and aVF",
            "12-lead electrocardiogram", "emergent percutaneous coronary intervention", "a 40 pack-year smoking history"),
    Disease("acute decompensated heart failure", "cardiovascular", (55, 90), _s("worsening dyspnea on exertion; orthopnea"),
            _s("jugular venous distension; bibasilar crackles; pitting leg edema"), "an elevated BNP",
            "transthoracic echocardiogram", "intravenous furosemide", "a prior myocardial infarction", "hypertensive"),
    Disease("atrial fibrillation with rapid ventricular response", "cardiovascular", (55, 90), _s("palpitations; lightheadedness"),
            _s("an irregularly irregular pulse"), "absent P waves on electrocardiogram", "12-lead electrocardiogram",
            "rate control with metoprolol", "long-standing hypertension", "tachycardic"),
    Disease("diabetic ketoacidosis", "endocrine", (14, 35), _s("polyuria; polydipsia; abdominal pain; vomiting"),
            _s("deep rapid breathing; dry mucous membranes"), "a glucose of 540 mg/dL with an anion gap of 24",
            "serum beta-hydroxybutyrate", "intravenous insulin and fluids", "type 1 diabetes with missed insulin doses",
            "tachycardic"),
    Disease("acute appendicitis", "gastrointestinal", (12, 35), _s("periumbilical pain that migrated to the right lower quadrant; anorexia"),
            _s("tenderness at McBurney point; rebound tenderness"), "a leukocytosis of 15,000/uL",
            "CT of the abdomen and pelvis", "laparoscopic appendectomy", "no prior abdominal surgery", "febrile"),
    Disease("acute cholecystitis", "gastrointestinal", (35, 70), _s("right upper quadrant pain after fatty meals; nausea"),
            _s("inspiratory arrest on right upper quadrant palpation"), "gallbladder wall thickening",
            "right upper quadrant ultrasound", "cholecystectomy", "obesity", "febrile"),
    Disease("acute pancreatitis", "gastrointestinal", (30, 65), _s("severe epigastric pain radiating to the back; vomiting"),
            _s("epigastric tenderness; decreased bowel sounds"), "a lipase three times the upper limit of normal",
            "serum lipase", "aggressive intravenous fluids", "heavy alcohol use"),
    Disease("acute pyelonephritis", "renal", (18, 45), _s("flank pain; fever; dysuria"), _s("costovertebral angle tenderness"),
            "positive nitrites and leukocyte esterase on urinalysis", "urine culture", "ceftriaxone",
            "recurrent urinary tract infections", "febrile"),
    Disease("primary hypothyroidism", "endocrine", (30, 70), _s("fatigue; weight gain; cold intolerance; constipation"),
            _s("dry skin; delayed relaxation of the ankle reflexes"), "an elevated TSH", "serum TSH",
            "levothyroxine", "a family history of autoimmune disease"),
    Disease("Graves disease", "endocrine", (20, 45), _s("weight loss; heat intolerance; palpitations"),
            _s("exophthalmos; a diffusely enlarged thyroid; fine tremor"), "a suppressed TSH with elevated free T4",
            "TSH receptor antibodies", "methimazole", "a recent postpartum period", "tachycardic"),
    Disease("acute asthma exacerbation", "pulmonary", (8, 35), _s("wheezing; chest tightness; shortness of breath"),
            _s("diffuse expiratory wheezes; use of accessory muscles"), "a reduced peak expiratory flow",
            "peak expiratory flow measurement", "inhaled albuterol", "seasonal allergies"),
    Disease("COPD exacerbation", "pulmonary", (55, 85), _s("increased sputum production; worsening dyspnea"),
            _s("a barrel chest; prolonged expiration"), "hyperinflated lungs on chest radiograph",
            "spirometry", "nebulized bronchodilators and oral prednisone", "a 50 pack-year smoking history"),
    Disease("acute ischemic stroke", "neurologic", (55, 90), _s("sudden right-sided weakness; difficulty speaking"),
            _s("right facial droop; expressive aphasia"), "no hemorrhage on imaging", "non-contrast CT of the head",
            "intravenous alteplase", "atrial fibrillation not on anticoagulation", "hypertensive"),
    Disease("bacterial meningitis", "neurologic", (18, 40), _s("fever; severe headache; neck stiffness"),
            _s("nuchal rigidity; photophobia"), "cerebrospinal fluid with neutrophils and low glucose", "lumbar puncture",
            "ceftriaxone and vancomycin", "living in a college dormitory", "febrile"),
    Disease("deep vein thrombosis", "hematologic", (30, 80), _s("unilateral leg swelling; calf pain"),
            _s("a warm, tender left calf"), "a non-compressible popliteal vein", "compression ultrasonography",
            "apixaban", "recent hip surgery"),
    Disease("acute gout flare", "rheumatologic", (40, 75), _s("sudden severe pain in the big toe overnight"),
            _s("a red, hot, swollen first metatarsophalangeal joint"), "negatively birefringent needle-shaped crystals",
            "joint aspiration", "indomethacin", "recent thiazide diuretic use"),
    Disease("iron deficiency anemia", "hematologic", (20, 50), _s("fatigue; craving ice"), _s("conjunctival pallor; spoon-shaped nails"),
            "a microcytic anemia with low ferritin", "serum ferritin", "oral ferrous sulfate", "heavy menstrual periods"),
    Disease("nephrolithiasis", "renal", (25, 60), _s("colicky flank pain radiating to the groin"), _s("no peritoneal signs"),
            "microscopic hematuria", "non-contrast CT of the abdomen and pelvis", "tamsulosin and analgesia",
            "low fluid intake"),
    Disease("migraine without aura", "neurologic", (18, 45), _s("unilateral throbbing headache; nausea; sensitivity to light"),
            _s("a normal neurologic exam"), "no abnormality on neurologic examination", "clinical diagnosis without imaging",
            "sumatriptan", "similar episodes around menses"),
    Disease("nonpurulent cellulitis", "infectious", (25, 80), _s("a spreading painful red area on the leg"),
            _s("warm, tender, poorly demarcated erythema"), "no fluctuance on ultrasound", "clinical examination",
            "oral cephalexin", "a recent insect bite", "febrile"),
    Disease("peptic ulcer disease", "gastrointestinal", (35, 70), _s("burning epigastric pain that improves with meals"),
            _s("mild epigastric tenderness"), "a positive urea breath test", "upper endoscopy",
            "a proton pump inhibitor with clarithromycin and amoxicillin", "chronic NSAID use"),
    Disease("diabetes mellitus type 2", "endocrine", (40, 75), _s("polyuria; blurred vision"), _s("acanthosis nigricans"),
            "a hemoglobin A1c of 8.1%", "hemoglobin A1c", "metformin", "obesity"),
)
DISEASE_BY_NAME = {d.name: d for d in DISEASES}

# poison/drug -> antidote
ANTIDOTES = (
    ("acetaminophen", "N-acetylcysteine"), ("opioid", "naloxone"), ("benzodiazepine", "flumazenil"),
    ("warfarin", "vitamin K"), ("heparin", "protamine sulfate"), ("digoxin", "digoxin immune Fab"),
    ("methanol", "fomepizole"), ("organophosphate", "atropine"), ("iron", "deferoxamine"),
    ("cyanide", "hydroxocobalamin"), ("beta blocker", "glucagon"), ("tricyclic antidepressant", "sodium bicarbonate"),
)

# deficiency disease -> vitamin
VITAMINS = (
    ("scurvy", "vitamin C"), ("beriberi", "thiamine (vitamin B1)"), ("pellagra", "niacin (vitamin B3)"),
    ("rickets", "vitamin D"), ("night blindness", "vitamin A"), ("pernicious anemia", "vitamin B12"),
    ("neural tube defects", "folic acid"), ("hemorrhagic disease of the newborn", "vitamin K"),
)

# condition -> most frequent causative organism
ORGANISMS = (
    ("community-acquired pneumonia", "Streptococcus pneumoniae"), ("uncomplicated cystitis", "Escherichia coli"),
    ("Lyme disease", "Borrelia burgdorferi"), ("syphilis", "Treponema pallidum"),
    ("peptic ulcer disease", "Helicobacter pylori"), ("pseudomembranous colitis", "Clostridioides difficile"),
    ("infectious mononucleosis", "Epstein-Barr virus"), ("bronchiolitis in infants", "respiratory syncytial virus"),
    ("purulent skin abscess", "Staphylococcus aureus"), ("pulmonary tuberculosis", "Mycobacterium tuberculosis"),
)

# analyte -> (normal range, wrong ranges)
RANGES = (
    ("serum sodium", "135-145 mEq/L", ("120-130 mEq/L", "145-155 mEq/L", "125-135 mEq/L", "150-160 mEq/L")),
    ("serum potassium", "3.5-5.0 mEq/L", ("2.5-3.5 mEq/L", "5.0-6.5 mEq/L", "4.5-6.0 mEq/L", "1.5-2.5 mEq/L")),
    ("fasting plasma glucose", "70-99 mg/dL", ("40-60 mg/dL", "126-160 mg/dL", "100-125 mg/dL", "160-200 mg/dL")),
    ("arterial blood pH", "7.35-7.45", ("7.15-7.25", "7.45-7.55", "7.25-7.35", "6.95-7.05")),
    ("total serum calcium", "8.5-10.5 mg/dL", ("6.0-7.5 mg/dL", "11.0-12.5 mg/dL", "10.5-12.0 mg/dL", "4.5-6.0 mg/dL")),
    ("adult resting heart rate", "60-100 beats per minute", ("30-50 beats per minute", "100-140 beats per minute",
                                                             "40-60 beats per minute", "120-160 beats per minute")),
    ("adult respiratory rate", "12-20 breaths per minute", ("4-8 breaths per minute", "24-32 breaths per minute",
                                                            "20-28 breaths per minute", "30-40 breaths per minute")),
    ("platelet count", "150,000-450,000/uL", ("50,000-100,000/uL", "500,000-900,000/uL", "10,000-50,000/uL",
                                              "100,000-150,000/uL")),
)

# groups of terms close enough that one must not be a distractor for another
# (aspirin causes bleeding too, gabapentin also treats pain, furosemide also lowers blood pressure)
RELATED = (
    ("bleeding", "GI bleed", "supratherapeutic INR"),
    ("sedation", "somnolence", "respiratory depression", "confusion"),
    ("hypotension", "dizziness", "bradycardia", "fatigue"),
    ("diarrhea", "nausea", "abdominal cramping", "constipation"),
    ("QT prolongation", "palpitations", "tachycardia"),
    ("pain", "neuropathic pain", "osteoarthritis", "fever"),
    ("hypertension", "heart failure", "edema", "ascites", "coronary artery disease", "atrial fibrillation",
     "hyperlipidemia", "stroke prevention"),
    ("DVT prophylaxis", "deep vein thrombosis", "pulmonary embolism", "atrial fibrillation"),
    ("asthma", "COPD", "asthma exacerbation", "COPD exacerbation", "bronchitis"),
    ("pneumonia", "urinary tract infection", "cellulitis", "MRSA bacteremia", "intra-abdominal infection", "bronchitis"),
    ("anxiety", "depression", "alcohol withdrawal", "delirium", "agitation"),
    ("GERD", "GI bleed"),
)


def related(*terms: str) -> set[str]:
    """The terms themselves plus every term that shares a RELATED group with one of them."""
    out = set(terms)
    for group in RELATED:
        if out & set(group):
            out |= set(group)
    return out
