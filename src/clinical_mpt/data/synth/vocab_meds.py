"""The medication vocabulary of the medication scenes (med_ner, drug_attr_re, ade_ner, drug_ade_re,
mednli_meds): more drugs than `vocab.DRUGS`, brand and salt names, and the many ways real notes write
a route, a frequency, a form and a dose count (PO / po / by mouth / oral; BID / bid / twice daily /
2 times a day; tab / tablet / ER tab; 1 tab / 2 puffs / 1 gtt).

Other generators keep using `vocab.DRUGS` and its tables, so their examples do not move when this
vocabulary grows. Everything is a plain constant (tuples and dicts in a fixed order).
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth.styles import Style


def _d(name, cls, strengths, form, routes, freqs, indications, ades) -> V.Drug:
    """Like vocab._d, but strengths may mix units: "25 50 mg|15 mg/kg"."""
    pairs = []
    for group in strengths.split("|"):
        *values, unit = group.split()
        pairs += [(v, unit) for v in values]
    return V.Drug(name, cls, tuple(pairs), form, tuple(routes.split()), tuple(freqs.split(",")),
                  tuple(indications.split(",")), tuple(ades.split(",")))


MORE_DRUGS = (
    _d("losartan", "angiotensin receptor blocker", "25 50 100 mg", "tablet", "PO", "daily",
       "hypertension,diabetic nephropathy", "hyperkalemia,dizziness"),
    _d("carvedilol", "beta blocker", "3.125 6.25 12.5 25 mg", "tablet", "PO", "BID",
       "heart failure,hypertension", "bradycardia,hypotension,fatigue"),
    _d("metoprolol succinate", "beta blocker", "25 50 100 200 mg", "ER tablet", "PO", "daily,qAM",
       "hypertension,heart failure,atrial fibrillation", "bradycardia,fatigue"),
    _d("diltiazem", "calcium channel blocker", "120 180 240 mg|30 60 mg", "capsule", "PO", "daily,QID",
       "atrial fibrillation,hypertension", "bradycardia,lower extremity edema"),
    _d("hydralazine", "vasodilator", "10 25 50 mg", "tablet", "PO IV", "TID,q6h PRN",
       "hypertension,heart failure", "tachycardia,headache"),
    _d("clonidine", "alpha-2 agonist", "0.1 0.2 mg", "tablet", "PO", "BID,TID",
       "hypertension", "drowsiness,rebound hypertension"),
    _d("isosorbide mononitrate", "nitrate", "30 60 mg", "ER tablet", "PO", "daily,qAM",
       "angina", "headache,hypotension"),
    _d("nitroglycerin", "nitrate", "0.4 mg", "sublingual tablet", "SL", "q5min PRN",
       "chest pain,angina", "headache,hypotension"),
    _d("rosuvastatin", "statin", "5 10 20 40 mg", "tablet", "PO", "daily,qHS",
       "hyperlipidemia", "myalgias"),
    _d("simvastatin", "statin", "10 20 40 mg", "tablet", "PO", "qHS,qPM",
       "hyperlipidemia", "myalgias,elevated liver enzymes"),
    _d("rivaroxaban", "factor Xa inhibitor", "10 15 20 mg", "tablet", "PO", "daily,qPM",
       "atrial fibrillation,deep vein thrombosis", "bleeding"),
    _d("glipizide", "sulfonylurea", "2.5 5 10 mg", "tablet", "PO", "daily,BID,qAM",
       "type 2 diabetes", "hypoglycemia"),
    _d("insulin lispro", "rapid-acting insulin", "4 6 8 10 units", "pen", "SC", "TID AC,AC HS",
       "type 2 diabetes,hyperglycemia", "hypoglycemia"),
    _d("insulin detemir", "long-acting insulin", "10 15 20 units", "pen", "SC", "qHS,BID",
       "type 2 diabetes", "hypoglycemia"),
    _d("albuterol", "short-acting beta agonist", "90 mcg", "inhaler", "INH", "q4h PRN,q4-6h PRN,q6h PRN",
       "asthma,COPD,wheezing", "tachycardia,tremor"),
    _d("ipratropium-albuterol", "bronchodilator combination", "0.5-2.5 mg", "nebulizer solution", "INH",
       "q6h,q4h PRN,QID", "COPD exacerbation,wheezing", "tachycardia,dry mouth"),
    _d("fluticasone-salmeterol", "inhaled corticosteroid and long-acting beta agonist", "100/50 250/50 500/50 mcg",
       "inhaler", "INH", "BID", "asthma,COPD", "oral thrush,hoarseness"),
    _d("tiotropium", "long-acting anticholinergic", "18 mcg", "inhalation capsule", "INH", "daily",
       "COPD", "dry mouth,urinary retention"),
    _d("fluticasone", "nasal corticosteroid", "50 mcg", "nasal spray", "NAS", "daily,BID",
       "allergic rhinitis", "nosebleeds"),
    _d("methylprednisolone", "corticosteroid", "40 60 125 mg", "injection", "IV", "q6h,q8h,daily",
       "COPD exacerbation,asthma exacerbation", "hyperglycemia,insomnia"),
    _d("amoxicillin", "penicillin", "500 875 mg", "capsule", "PO", "TID,BID",
       "pneumonia,otitis media,strep pharyngitis", "rash,diarrhea"),
    _d("cephalexin", "cephalosporin", "250 500 mg", "capsule", "PO", "QID,q6h,TID",
       "cellulitis,urinary tract infection", "diarrhea,rash"),
    _d("cefazolin", "cephalosporin", "1 2 g", "injection", "IV", "q8h",
       "cellulitis,surgical prophylaxis", "rash"),
    _d("doxycycline", "tetracycline", "100 mg", "capsule", "PO", "BID",
       "cellulitis,pneumonia", "photosensitivity,nausea"),
    _d("metronidazole", "nitroimidazole", "500 mg", "tablet", "PO IV", "TID,q8h",
       "C. difficile colitis,intra-abdominal infection", "metallic taste,nausea"),
    _d("levofloxacin", "fluoroquinolone", "500 750 mg", "tablet", "PO IV", "daily,q48h",
       "pneumonia,urinary tract infection", "tendinitis,QT prolongation"),
    _d("nitrofurantoin", "urinary antibiotic", "100 mg", "capsule", "PO", "BID",
       "urinary tract infection", "nausea,pulmonary toxicity"),
    _d("gentamicin", "aminoglycoside", "5 7 mg/kg", "injection", "IV", "daily,q24h",
       "pyelonephritis,sepsis", "acute kidney injury,ototoxicity"),
    _d("omeprazole", "proton pump inhibitor", "20 40 mg", "DR capsule", "PO", "daily,BID",
       "GERD,peptic ulcer disease", "diarrhea,hypomagnesemia"),
    _d("famotidine", "H2 blocker", "20 40 mg", "tablet", "PO IV", "daily,BID,qHS",
       "GERD,stress ulcer prophylaxis", "headache,confusion"),
    _d("docusate", "stool softener", "100 mg", "capsule", "PO", "BID,daily",
       "constipation", "diarrhea,abdominal cramping"),
    _d("polyethylene glycol", "osmotic laxative", "17 g", "powder", "PO", "daily,daily PRN",
       "constipation", "bloating,diarrhea"),
    _d("lactulose", "osmotic laxative", "10 20 g", "oral solution", "PO", "BID,TID",
       "hepatic encephalopathy,constipation", "diarrhea,bloating"),
    _d("bisacodyl", "stimulant laxative", "10 mg", "suppository", "PR", "daily PRN,daily",
       "constipation", "abdominal cramping"),
    _d("hydrocodone-acetaminophen", "opioid combination", "5-325 10-325 mg", "tablet", "PO", "q4h PRN,q6h PRN",
       "pain,postoperative pain", "constipation,sedation"),
    _d("tramadol", "opioid", "50 mg", "tablet", "PO", "q6h PRN,q8h PRN",
       "pain", "nausea,dizziness,seizures"),
    _d("hydromorphone", "opioid", "0.5 1 2 mg", "injection", "IV", "q3h PRN,q4h PRN",
       "pain", "respiratory depression,sedation"),
    _d("ketorolac", "NSAID", "15 30 mg", "injection", "IV IM", "q6h PRN,once",
       "pain,renal colic", "acute kidney injury,GI bleed"),
    _d("naproxen", "NSAID", "250 500 mg", "tablet", "PO", "BID,BID PRN",
       "pain,gout flare", "GI bleed,acute kidney injury"),
    _d("cyclobenzaprine", "muscle relaxant", "5 10 mg", "tablet", "PO", "TID PRN,qHS PRN",
       "muscle spasm,back pain", "sedation,dry mouth"),
    _d("lidocaine", "topical anesthetic", "4 5 %", "patch", "TD", "daily",
       "back pain,postherpetic neuralgia", "skin irritation"),
    _d("nicotine", "nicotine replacement", "7 14 21 mg/24hr", "patch", "TD", "daily",
       "tobacco use", "skin irritation,insomnia"),
    _d("escitalopram", "SSRI", "5 10 20 mg", "tablet", "PO", "daily",
       "depression,anxiety", "nausea,insomnia"),
    _d("duloxetine", "SNRI", "30 60 mg", "DR capsule", "PO", "daily",
       "depression,neuropathic pain", "nausea,dizziness"),
    _d("trazodone", "antidepressant", "25 50 100 mg", "tablet", "PO", "qHS,qHS PRN",
       "insomnia", "sedation,orthostatic hypotension"),
    _d("quetiapine", "atypical antipsychotic", "25 50 100 mg", "tablet", "PO", "qHS,BID",
       "delirium,bipolar disorder", "sedation,QT prolongation"),
    _d("levetiracetam", "anticonvulsant", "250 500 750 1000 mg", "tablet", "PO IV", "BID",
       "seizures,epilepsy", "somnolence,irritability"),
    _d("diphenhydramine", "antihistamine", "25 50 mg", "capsule", "PO IV", "q6h PRN,qHS PRN",
       "pruritus,insomnia", "sedation,urinary retention"),
    _d("prochlorperazine", "antiemetic", "5 10 mg", "tablet", "PO IV", "q6h PRN,q8h PRN",
       "nausea", "extrapyramidal symptoms,sedation"),
    _d("benzonatate", "antitussive", "100 200 mg", "capsule", "PO", "TID PRN,TID",
       "cough", "drowsiness"),
    _d("guaifenesin", "expectorant", "600 mg|100 mg/5mL", "tablet", "PO", "BID,q4h PRN",
       "cough", "nausea"),
    _d("ferrous sulfate", "iron supplement", "325 mg", "tablet", "PO", "daily,TID,QOD",
       "iron deficiency anemia", "constipation,dark stools"),
    _d("magnesium oxide", "electrolyte replacement", "400 mg", "tablet", "PO", "daily,BID",
       "hypomagnesemia", "diarrhea"),
    _d("magnesium sulfate", "electrolyte replacement", "1 2 g", "injection", "IV", "once",
       "hypomagnesemia", "flushing"),
    _d("thiamine", "vitamin", "100 mg", "tablet", "PO IV IM", "daily",
       "alcohol use disorder", "injection site pain"),
    _d("folic acid", "vitamin", "1 mg", "tablet", "PO", "daily",
       "alcohol use disorder,anemia", "nausea"),
    _d("triamcinolone", "topical corticosteroid", "0.025 0.1 %", "cream", "TOP", "BID,TID",
       "eczema,contact dermatitis", "skin atrophy"),
    _d("mupirocin", "topical antibiotic", "2 %", "ointment", "TOP", "TID,BID",
       "impetigo,wound infection", "local irritation"),
    _d("latanoprost", "prostaglandin analog", "0.005 %", "eye drops", "OPH", "qHS",
       "glaucoma", "eye irritation"),
    _d("heparin", "anticoagulant", "18 units/kg/hr|1000 units/hr", "drip", "IV", "continuous",
       "pulmonary embolism,acute coronary syndrome", "bleeding,thrombocytopenia"),
    _d("enoxaparin", "low molecular weight heparin", "1 mg/kg", "injection", "SC", "q12h",
       "deep vein thrombosis,pulmonary embolism", "bleeding"),
    _d("vancomycin", "glycopeptide antibiotic", "15 20 mg/kg|125 mg", "injection", "IV", "q12h,q8h",
       "MRSA bacteremia,cellulitis", "acute kidney injury,rash"),
    _d("acetaminophen", "analgesic", "325 500 650 mg|15 mg/kg", "tablet", "PO PR", "q6h PRN,q4h PRN,q6h",
       "pain,fever", "elevated liver enzymes"),
    _d("ondansetron", "antiemetic", "4 8 mg", "ODT", "PO", "q8h PRN,q6h PRN",
       "nausea", "QT prolongation,constipation"),
    _d("lorazepam", "benzodiazepine", "0.5 1 mg", "injection", "IV", "q4h PRN,q6h PRN,once",
       "agitation,alcohol withdrawal,seizures", "sedation,respiratory depression"),
)
# every drug of the medication scenes (the shared vocabulary first, so its names stay the common case)
MED_DRUGS = V.DRUGS + MORE_DRUGS

# generic -> brand names (a brand is a Drug mention like the generic)
BRANDS = {
    "metoprolol": ("Lopressor",), "metoprolol succinate": ("Toprol XL", "Toprol-XL"), "lisinopril": ("Zestril", "Prinivil"),
    "amlodipine": ("Norvasc",), "atorvastatin": ("Lipitor",), "rosuvastatin": ("Crestor",), "simvastatin": ("Zocor",),
    "metformin": ("Glucophage",), "insulin glargine": ("Lantus", "Basaglar"), "insulin lispro": ("Humalog",),
    "insulin detemir": ("Levemir",), "furosemide": ("Lasix",), "warfarin": ("Coumadin", "Jantoven"),
    "apixaban": ("Eliquis",), "rivaroxaban": ("Xarelto",), "enoxaparin": ("Lovenox",), "clopidogrel": ("Plavix",),
    "aspirin": ("ASA", "Ecotrin"), "vancomycin": ("Vancocin",), "ceftriaxone": ("Rocephin",),
    "piperacillin-tazobactam": ("Zosyn",), "azithromycin": ("Zithromax", "Z-Pak"), "ciprofloxacin": ("Cipro",),
    "trimethoprim-sulfamethoxazole": ("Bactrim", "Bactrim DS", "Septra"), "levofloxacin": ("Levaquin",),
    "prednisone": ("Deltasone",), "methylprednisolone": ("Solu-Medrol",), "albuterol": ("Proventil", "Ventolin", "ProAir HFA", "Ventolin HFA"),
    "ipratropium-albuterol": ("DuoNeb",),
    "fluticasone-salmeterol": ("Advair", "Advair Diskus"), "tiotropium": ("Spiriva",), "fluticasone": ("Flonase",),
    "pantoprazole": ("Protonix",), "omeprazole": ("Prilosec",), "famotidine": ("Pepcid",), "ondansetron": ("Zofran",),
    "acetaminophen": ("Tylenol",), "ibuprofen": ("Motrin", "Advil"), "naproxen": ("Naprosyn", "Aleve"),
    "oxycodone": ("Roxicodone", "OxyIR"), "hydrocodone-acetaminophen": ("Norco", "Vicodin"), "tramadol": ("Ultram",),
    "hydromorphone": ("Dilaudid",), "ketorolac": ("Toradol",), "gabapentin": ("Neurontin",), "sertraline": ("Zoloft",),
    "escitalopram": ("Lexapro",), "duloxetine": ("Cymbalta",), "trazodone": ("Desyrel",), "quetiapine": ("Seroquel",),
    "levothyroxine": ("Synthroid", "Levoxyl"), "allopurinol": ("Zyloprim",), "lorazepam": ("Ativan",),
    "haloperidol": ("Haldol",), "levetiracetam": ("Keppra",), "spironolactone": ("Aldactone",),
    "potassium chloride": ("K-Dur", "Klor-Con"), "amiodarone": ("Cordarone", "Pacerone"), "digoxin": ("Lanoxin",),
    "tamsulosin": ("Flomax",), "senna": ("Senokot",), "docusate": ("Colace",), "polyethylene glycol": ("MiraLAX", "Miralax"),
    "bisacodyl": ("Dulcolax",), "diphenhydramine": ("Benadryl",), "prochlorperazine": ("Compazine",),
    "benzonatate": ("Tessalon", "Tessalon Perles"), "guaifenesin": ("Mucinex", "Robitussin"), "cyclobenzaprine": ("Flexeril",),
    "lidocaine": ("Lidoderm",), "nicotine": ("NicoDerm CQ", "Nicoderm"), "carvedilol": ("Coreg",), "losartan": ("Cozaar",),
    "diltiazem": ("Cardizem", "Cardizem CD"), "clonidine": ("Catapres",), "nitroglycerin": ("Nitrostat", "NTG"),
    "isosorbide mononitrate": ("Imdur",), "glipizide": ("Glucotrol",), "heparin": ("heparin sodium",),
    "cephalexin": ("Keflex",), "cefazolin": ("Ancef",), "doxycycline": ("Vibramycin",), "metronidazole": ("Flagyl",),
    "nitrofurantoin": ("Macrobid",), "amoxicillin": ("Amoxil",), "hydrochlorothiazide": ("HCTZ", "Microzide"),
    "morphine": ("MS Contin", "Roxanol"), "magnesium oxide": ("Mag-Ox",), "ferrous sulfate": ("FeSO4", "Feosol"),
    "triamcinolone": ("Kenalog",), "mupirocin": ("Bactroban",), "latanoprost": ("Xalatan",),
}
# generic -> fuller names a pharmacy list writes (salt, release form)
SALTS = {
    "metoprolol": ("metoprolol tartrate",), "amlodipine": ("amlodipine besylate",), "atorvastatin": ("atorvastatin calcium",),
    "levothyroxine": ("levothyroxine sodium",), "losartan": ("losartan potassium",), "potassium chloride": ("potassium chloride ER",),
    "metformin": ("metformin ER", "metformin HCl"), "sertraline": ("sertraline HCl",), "diltiazem": ("diltiazem ER",),
    "tramadol": ("tramadol HCl",), "oxycodone": ("oxycodone HCl",), "bupropion": ("bupropion XL",),
    "docusate": ("docusate sodium",), "senna": ("sennosides",), "quetiapine": ("quetiapine fumarate",),
    "insulin glargine": ("glargine",), "insulin lispro": ("lispro",), "vancomycin": ("vancomycin HCl",),
}
# abbreviations of drug names that clinicians write
SHORT_NAMES = {
    "acetaminophen": ("APAP",), "aspirin": ("ASA",), "hydrochlorothiazide": ("HCTZ",), "potassium chloride": ("KCl", "K-Cl"),
    "trimethoprim-sulfamethoxazole": ("TMP-SMX", "TMP/SMX"), "piperacillin-tazobactam": ("pip-tazo", "pip/tazo"),
    "vancomycin": ("vanc", "vanco"), "nitroglycerin": ("NTG", "nitro"), "magnesium sulfate": ("MgSO4", "mag sulfate"),
    "magnesium oxide": ("MgO", "mag ox"), "polyethylene glycol": ("PEG 3350", "PEG"), "ferrous sulfate": ("FeSO4",),
    "isosorbide mononitrate": ("ISMN",), "insulin glargine": ("glargine",), "insulin lispro": ("lispro",),
    "ipratropium-albuterol": ("ipratropium/albuterol",), "hydrocodone-acetaminophen": ("hydrocodone/APAP",),
    "fluticasone-salmeterol": ("fluticasone/salmeterol",), "levetiracetam": ("LEV",), "methylprednisolone": ("methylpred",),
    "heparin": ("UFH",), "enoxaparin": ("LMWH",),
}

# route key -> (full forms, shorthand forms)
ROUTES = {
    "PO": (("by mouth", "orally", "oral"), ("PO", "po", "p.o.", "P.O.")),
    "IV": (("intravenously", "IV"), ("IV", "IVPB", "IV push", "IVP", "iv")),
    "SC": (("subcutaneously", "under the skin"), ("SC", "subq", "SQ", "subcut", "SubQ", "sc")),
    "IM": (("intramuscularly", "into the muscle"), ("IM", "im")),
    "INH": (("inhaled", "via nebulizer", "by inhalation"), ("neb", "INH", "inh", "via neb")),
    "SL": (("sublingually", "under the tongue"), ("SL", "sl")),
    "TOP": (("topically", "to the affected area"), ("top", "topical", "TOP")),
    "OPH": (("in both eyes", "in each eye"), ("OU", "ou")),
    "NAS": (("in each nostril", "intranasally"), ("IN", "nasal", "each nostril")),
    "TD": (("transdermally", "to the skin"), ("TD", "transdermal")),
    "PR": (("rectally", "per rectum"), ("PR", "pr")),
}

# frequency key -> (full forms, shorthand forms)
FREQS = {
    "daily": (("once daily", "daily", "every day", "once a day"), ("qd", "daily", "QD", "qday", "Daily")),
    "qAM": (("every morning", "in the morning"), ("qAM", "qam", "QAM", "q AM")),
    "qPM": (("every evening", "in the evening"), ("qPM", "qpm", "QPM")),
    "BID": (("twice daily", "twice a day", "2 times a day", "two times daily"), ("BID", "bid", "b.i.d.", "Bid")),
    "TID": (("three times daily", "three times a day", "3 times a day"), ("TID", "tid", "t.i.d.")),
    "QID": (("four times daily", "4 times a day"), ("QID", "qid")),
    "q4h": (("every 4 hours",), ("q4h", "Q4H", "q4hr")),
    "q6h": (("every 6 hours",), ("q6h", "Q6H", "q6hr", "q 6h")),
    "q8h": (("every 8 hours",), ("q8h", "Q8H", "q8hr")),
    "q12h": (("every 12 hours",), ("q12h", "Q12H", "q12hr")),
    "q24h": (("every 24 hours",), ("q24h", "Q24H")),
    "q48h": (("every 48 hours", "every other day"), ("q48h", "QOD")),
    "QOD": (("every other day",), ("QOD", "qod")),
    "qHS": (("at bedtime", "nightly", "every night at bedtime"), ("qHS", "qhs", "QHS", "HS")),
    "TID AC": (("three times daily with meals", "with meals"), ("TID AC", "AC", "tid ac", "TIDAC")),
    "AC HS": (("before meals and at bedtime",), ("AC & HS", "ACHS", "AC/HS", "qAC & HS")),
    "once": (("once", "one time"), ("x1", "once", "STAT", "x 1")),
    "continuous": (("continuously", "as a continuous infusion"), ("continuous", "cont")),
    "q4h PRN": (("every 4 hours as needed",), ("q4h PRN", "q4h prn", "Q4H PRN")),
    "q3h PRN": (("every 3 hours as needed",), ("q3h PRN", "q3h prn")),
    "q4-6h PRN": (("every 4 to 6 hours as needed",), ("q4-6h prn", "Q4-6H PRN", "q4-6h PRN")),
    "q6h PRN": (("every 6 hours as needed",), ("q6h PRN", "q6h prn", "Q6H PRN", "q6hr prn")),
    "q8h PRN": (("every 8 hours as needed",), ("q8h PRN", "q8h prn")),
    "q5min PRN": (("every 5 minutes as needed",), ("q5min prn", "q5 min PRN", "q5min PRN")),
    "TID PRN": (("three times daily as needed",), ("TID PRN", "tid prn")),
    "BID PRN": (("twice daily as needed",), ("BID PRN", "bid prn")),
    "qHS PRN": (("at bedtime as needed",), ("qHS PRN", "qhs prn", "HS PRN")),
    "daily PRN": (("daily as needed", "once daily as needed"), ("daily PRN", "qd prn", "daily prn")),
}

# form key -> (full forms, shorthand forms)
FORMS = {
    "tablet": (("tablet", "tablets", "oral tablet"), ("tab", "tabs", "TAB", "tab(s)")),
    "ER tablet": (("extended-release tablet", "ER tablet", "24 hr tablet"), ("ER tab", "XL tab", "tab ER", "ER")),
    "capsule": (("capsule", "capsules", "oral capsule"), ("cap", "caps", "CAP")),
    "DR capsule": (("delayed-release capsule", "DR capsule"), ("DR cap", "cap DR", "EC cap")),
    "injection": (("injection", "solution for injection", "vial"), ("inj", "soln", "inj soln")),
    "pen": (("injection pen", "prefilled pen", "pen"), ("pen", "KwikPen", "FlexPen")),
    "nebulizer solution": (("nebulizer solution", "solution for nebulization"), ("neb soln", "nebs", "neb")),
    "inhaler": (("inhaler", "metered-dose inhaler", "HFA inhaler"), ("MDI", "inh", "HFA")),
    "inhalation capsule": (("inhalation capsule", "HandiHaler capsule"), ("inh cap",)),
    "nasal spray": (("nasal spray",), ("spray", "NS")),
    "powder": (("powder", "powder packet"), ("pwd", "packet")),
    "oral solution": (("oral solution", "syrup", "liquid"), ("soln", "liq", "syr")),
    "suppository": (("suppository", "rectal suppository"), ("supp", "suppos")),
    "patch": (("patch", "transdermal patch"), ("patch", "TD patch")),
    "cream": (("cream", "topical cream"), ("crm", "cream")),
    "ointment": (("ointment", "topical ointment"), ("oint", "ung")),
    "eye drops": (("ophthalmic solution", "eye drops"), ("gtt", "ophth soln", "drops")),
    "sublingual tablet": (("sublingual tablet",), ("SL tab", "SL tabs")),
    "ODT": (("orally disintegrating tablet", "dissolving tablet"), ("ODT", "ODT tab")),
    "drip": (("infusion", "drip"), ("gtt", "drip", "infusion")),
}

# dose counts (how many units per administration) by form: (full forms, shorthand forms)
_TABS = (("1 tablet", "2 tablets", "one tablet", "two tablets", "half a tablet", "1/2 tablet", "1-2 tablets"),
         ("1 tab", "2 tabs", "1/2 tab", "1-2 tabs", "0.5 tab", "one tab"))
_CAPS = (("1 capsule", "2 capsules", "one capsule"), ("1 cap", "2 caps", "1 capsule"))
DOSAGES = {
    "tablet": _TABS, "ER tablet": _TABS, "sublingual tablet": (("1 tablet", "one tablet"), ("1 tab",)),
    "ODT": (("1 tablet", "one tablet"), ("1 tab", "1 ODT")),
    "capsule": _CAPS, "DR capsule": _CAPS, "inhalation capsule": (("1 capsule", "contents of 1 capsule"), ("1 cap",)),
    "injection": (("one injection", "1 syringe", "1 vial"), ("1 syringe", "1 inj")),
    "nebulizer solution": (("one vial", "1 nebule", "one ampule"), ("1 neb", "1 vial", "1 amp")),
    "inhaler": (("2 puffs", "1 puff", "two puffs", "1-2 puffs", "2 inhalations"), ("2 puffs", "1 puff", "2 puff", "1-2 puffs")),
    "nasal spray": (("2 sprays", "1 spray", "two sprays"), ("2 sprays", "1 spray")),
    "powder": (("1 packet", "one capful", "1 capful"), ("1 packet", "1 capful")),
    "oral solution": (("15 mL", "30 mL", "1 tablespoon", "2 teaspoons"), ("15 mL", "30 mL", "15 ml")),
    "suppository": (("1 suppository", "one suppository"), ("1 supp",)),
    "patch": (("1 patch", "one patch"), ("1 patch",)),
    "cream": (("a thin layer", "a small amount"), ("thin layer",)),
    "ointment": (("a thin layer", "a small amount"), ("thin layer",)),
    "eye drops": (("1 drop", "one drop", "2 drops"), ("1 gtt", "2 gtt", "1 drop", "1 gtt.")),
}

ALLERGENS = ("penicillin", "penicillins", "PCN", "sulfa", "sulfa drugs", "codeine", "morphine", "aspirin", "NSAIDs",
             "amoxicillin", "cephalosporins", "vancomycin", "ciprofloxacin", "lisinopril", "iodinated contrast")
NON_DRUG_ALLERGENS = ("latex", "shellfish", "peanuts", "bee stings", "adhesive tape")
REACTIONS = ("hives", "rash", "anaphylaxis", "angioedema", "itching", "N/V", "GI upset", "throat swelling", "SOB")


def drug_name(style: Style, rng: random.Random, drug: V.Drug) -> str:
    """How a note names the drug: generic (maybe abbreviated or misspelled), a brand, a salt form."""
    r = rng.random()
    if r < 0.22 and drug.name in BRANDS:
        return rng.choice(BRANDS[drug.name])
    if r < 0.3 and drug.name in SALTS:
        return rng.choice(SALTS[drug.name])
    if r < 0.3 + style.abbrev_rate * 0.2 and drug.name in SHORT_NAMES:
        return rng.choice(SHORT_NAMES[drug.name])
    name = V.term(style, rng, drug.name)
    return name[0].upper() + name[1:] if rng.random() < 0.3 and name[0].islower() else name


def route(style: Style, rng: random.Random, key: str) -> str:
    return style.pick(rng, *ROUTES[key])


def freq(style: Style, rng: random.Random, key: str) -> str:
    return style.pick(rng, *FREQS[key])


def strength(style: Style, rng: random.Random, drug: V.Drug) -> str:
    """'25 mg', '25mg', '0.1%', '15 mg/kg', '5-325 mg'."""
    value, unit = rng.choice(drug.strengths)
    if unit == "%":
        return f"{value}%"
    return style.amount(rng, value, unit)


def is_prn(key: str) -> bool:
    return "PRN" in key
