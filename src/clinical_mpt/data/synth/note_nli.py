"""Note NLI: inference over short snippets of a whole clinical note, for a general NLI prompt.

The five NLI tasks of the suite each read one kind of premise (a history line, a medication list,
labs, a chest radiograph, a trial abstract). Real notes mix many more: vital signs, exam findings,
procedures and the hospital course, social and surgical history, allergies, pregnancy, imaging of
any organ, cultures, medication changes. A prompt trained on the five alone learns their phrasing
and not entailment (docs/results/README.md, "The real-text check"). This generator writes premises
from many independent clinical *facts*, each drawn with its own numbers and phrased tersely
("BP 84/48, HR 122") or in prose ("Her blood pressure was 84/48"), with one or two unrelated facts
beside it, so that the premise's shape and vocabulary do not give the label away.

Every fact carries its own hypotheses for the three labels (drawn first, uniformly):
- entailment: what the fact states, said another way, or what it implies (a value -> its clinical
  word: "T 39.2 C" -> "The patient has a fever"; "extubated on day 5" -> "no longer intubated");
- contradiction: the opposite state, a changed value, a negated event;
- neutral: something about the same topic the note does not settle (a cause, the future, a detail, a
  past episode). A neutral hypothesis may name a guard word; it is dropped when the premise contains
  that word, so that a distracting fact cannot settle it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from clinical_mpt.data.synth.mednli import LABELS
from clinical_mpt.data.synth.styles import Style


@dataclass
class Fact:
    premise: str                                               # one phrasing of the fact
    entails: list[str]
    contradicts: list[str]
    neutral: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)   # (hypothesis, guard words)
    # conflict tags: a fact that denies a tag is never drawn beside one that asserts it (a measured fever
    # and "denies fevers"; "SpO2 97% on RA" and "remains intubated"; "NKDA" and a drug stopped for a rash)
    asserts: frozenset[str] = frozenset()
    denies: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Pt:
    age: int
    female: bool

    @property
    def he(self) -> str:
        return "She" if self.female else "He"

    @property
    def his(self) -> str:
        return "her" if self.female else "his"


def _n(text: str, *guard: str) -> tuple[str, tuple[str, ...]]:
    return text, guard


def _pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


# ---- demographics and admission -------------------------------------------------------------------
REASONS = (("pneumonia", "a lung infection"), ("a UTI", "a urinary tract infection"), ("cellulitis", "a skin infection"),
           ("a COPD exacerbation", "a flare of COPD"), ("a CHF exacerbation", "worsening heart failure"),
           ("DKA", "diabetic ketoacidosis"), ("a GI bleed", "bleeding from the gut"), ("syncope", "a fainting episode"),
           ("a hip fracture", "a broken hip"), ("chest pain", "chest pain"), ("altered mental status", "confusion"),
           ("acute pancreatitis", "inflammation of the pancreas"), ("sepsis", "sepsis"), ("a fall", "a fall"))
SOURCES = (("nursing home", "a nursing home"), ("home", "home"), ("an outside hospital", "another hospital"),
           ("rehab", "a rehabilitation facility"), ("assisted living", "an assisted living facility"))


def demographics(rng: random.Random, p: Pt) -> Fact:
    reason, lay = rng.choice(REASONS)
    src, src_lay = rng.choice(SOURCES)
    sex_short, sex_word = ("F", "woman") if p.female else ("M", "man")
    premise = _pick(rng, f"{p.age} yo {sex_short} admitted from {src} with {reason}.",
                    f"{p.age}{sex_short} p/w {reason}, sent in from {src}.",
                    f"{p.age}-year-old {sex_word} admitted from {src} for {reason}.",
                    f"Pt is a {p.age} y/o {'female' if p.female else 'male'} who presented from {src} with {reason}.",
                    f"{p.age} year old {sex_word} from {src}, admitted with {reason}.")
    younger = rng.randint(max(1, p.age - 40), p.age - 1)
    older = rng.randint(p.age + 2, p.age + 30)
    entails = [f"The patient is older than {younger}.", f"The patient is a {sex_word}.", f"The patient was admitted with {lay}.",
               f"The patient came to the hospital from {src_lay}.", "The patient is an adult.",
               f"The patient is not a {'man' if p.female else 'woman'}."]
    entails += ["The patient is over 65.", "The patient is elderly."] if p.age >= 70 else []
    contradicts = [f"The patient is less than {younger} years old.", f"The patient is a {'man' if p.female else 'woman'}.",
                   f"The patient is older than {older}.", "The patient is a child.",
                   f"The patient came from {rng.choice([s for s in SOURCES if s[0] != src])[1]}.",
                   "The patient was admitted for an elective procedure."]
    contradicts += ["The patient is under 65.", "The patient is in {} twenties.".format(p.his)] if p.age >= 70 else []
    neutral = [_n("The patient is married."), _n("The patient has grandchildren.", "grand"), _n("The patient is a veteran."),
               _n(f"The patient has been admitted with {lay} before.", "prior", "previous", "recurrent"),
               _n("The patient will be discharged back to the same place.", "discharg"),
               _n("The patient's family called 911.", "911", "EMS")]
    return Fact(premise, entails, contradicts, neutral, asserts=frozenset({reason} & {"chest pain", "syncope"}))


# ---- vital signs -----------------------------------------------------------------------------------
def vitals(rng: random.Random, p: Pt) -> Fact:
    kind = rng.choice(("bp_low", "bp_high", "bp_ok", "fever", "afebrile", "tachy", "brady", "hypoxia", "sat_ok"))
    sbp, dbp = {"bp_low": (rng.randint(70, 88), rng.randint(38, 55)), "bp_high": (rng.randint(165, 210), rng.randint(95, 125))
                }.get(kind, (rng.randint(108, 134), rng.randint(62, 84)))
    hr = {"tachy": rng.randint(112, 150), "brady": rng.randint(34, 48)}.get(kind, rng.randint(64, 96))
    temp_c = round(rng.uniform(38.4, 40.2), 1) if kind == "fever" else round(rng.uniform(36.4, 37.3), 1)
    temp = f"{temp_c} C" if rng.random() < 0.6 else f"{temp_c * 9 / 5 + 32:.1f} F"
    sat = rng.randint(78, 88) if kind == "hypoxia" else rng.randint(94, 99)
    parts = {"bp": f"BP {sbp}/{dbp}", "hr": f"HR {hr}", "t": f"T {temp}", "sat": f"SpO2 {sat}% on RA"}
    focus = {"bp_low": "bp", "bp_high": "bp", "bp_ok": "bp", "fever": "t", "afebrile": "t", "tachy": "hr", "brady": "hr",
             "hypoxia": "sat", "sat_ok": "sat"}[kind]
    shown = [focus] + rng.sample([k for k in parts if k != focus], rng.randint(1, 3))
    shown.sort(key=list(parts).index)
    if rng.random() < 0.5:
        premise = _pick(rng, "Vitals: ", "VS: ", "On arrival ", "") + ", ".join(parts[k] for k in shown) + "."
    else:
        words = {"bp": f"blood pressure was {sbp}/{dbp}", "hr": f"heart rate was {hr}", "t": f"temperature was {temp}",
                 "sat": f"oxygen saturation was {sat}% on room air"}
        premise = f"On arrival {p.his} " + ", ".join(words[k] for k in shown) + "."
    table = {
        "bp_low": (["The patient is hypotensive.", "The patient's blood pressure is low.",
                    f"The patient's systolic blood pressure is below {sbp + rng.randint(2, 10)}."],
                   ["The patient's blood pressure is elevated.", "The patient is hypertensive.", "The patient's blood pressure is normal."]),
        "bp_high": (["The patient's blood pressure is elevated.", "The patient is hypertensive.",
                     f"The patient's systolic blood pressure is above {sbp - rng.randint(2, 20)}."],
                    ["The patient is hypotensive.", "The patient's blood pressure is low.", "The patient's blood pressure is normal."]),
        "bp_ok": (["The patient's blood pressure is in the normal range.", "The patient is not hypotensive."],
                  ["The patient is hypotensive.", "The patient's blood pressure is dangerously high."]),
        "fever": (["The patient is running a fever.", "The patient is febrile.", "The patient's temperature is elevated."],
                  ["The patient is afebrile.", "The patient does not have a fever.", "The patient's temperature is normal."]),
        "afebrile": (["The patient is afebrile.", "The patient does not have a fever.", "The patient's temperature is normal."],
                     ["The patient is running a fever.", "The patient is febrile.", "The patient has a high temperature."]),
        "tachy": (["The patient is tachycardic.", "The patient's heart rate is fast.", "The patient's heart rate is above 100."],
                  ["The patient's heart rate is slow.", "The patient is bradycardic.", "The patient's heart rate is normal."]),
        "brady": (["The patient is bradycardic.", "The patient's heart rate is slow.", "The patient's heart rate is below 60."],
                  ["The patient is tachycardic.", "The patient's heart rate is fast.", "The patient's heart rate is normal."]),
        "hypoxia": (["The patient is hypoxic.", f"The patient's oxygen saturation is below {sat + rng.randint(2, 6)} percent.",
                     "The patient's oxygen level is low on room air."],
                    ["The patient's oxygen saturation is normal.", "The patient is on supplemental oxygen.",
                     "The patient's oxygen saturation is above 95 percent."]),
        "sat_ok": (["The patient is breathing room air.", "The patient's oxygen saturation is normal.", "The patient is not hypoxic."],
                   ["The patient is hypoxic.", "The patient is on supplemental oxygen.",
                    f"The patient's oxygen saturation is below {sat - rng.randint(3, 8)} percent."]),
    }
    entails, contradicts = table[kind]
    asserts = frozenset({"fevers"} if kind == "fever" else ())
    neutral = [_n("The patient has sepsis.", "sepsis", "septic"), _n("The vital signs were normal yesterday.", "yesterday"),
               _n("The patient has a history of hypertension.", "HTN", "hypertension"),
               _n("The patient is anxious.", "anxi"), _n("The patient is diabetic.", "diabet", "DM", "DKA", "T2DM", "insulin", "A1c"),
               _n("The patient's pain is well controlled.", "pain"), _n("The vital signs will be rechecked in an hour.")]
    on_air = frozenset({"oxygen"} if "sat" in shown else ())   # "on RA": no ventilator, no nasal cannula
    return Fact(premise, list(entails), list(contradicts), neutral, asserts=asserts, denies=on_air)


# ---- labs with a trend or a treatment ---------------------------------------------------------------
def labs(rng: random.Random, p: Pt) -> Fact:
    kind = rng.choice(("cr_up", "cr_ok", "glucose_low", "glucose_high", "hgb_transfuse", "na_low", "k_high", "plt_low",
                       "a1c_high", "a1c_ok", "trop_up", "trop_neg", "tsh_high", "wbc_high"))
    if kind in ("cr_up", "cr_ok"):
        base = round(rng.uniform(0.7, 1.3), 1)
        now = round(base * rng.uniform(1.8, 3.5), 1) if kind == "cr_up" else round(base + rng.choice((-0.1, 0.0, 0.1)), 1)
        premise = _pick(rng, f"Cr {now} (baseline {base}).", f"Creatinine {now}, baseline {base}.",
                        f"Creatinine was {now}, compared with a baseline of {base}.", f"Cr {now} from baseline {base}.")
        if kind == "cr_up":
            return Fact(premise, ["The patient's creatinine is higher than baseline.", "The patient's kidney function has worsened.",
                                  "The patient has an acute kidney injury."],
                        ["The patient's creatinine is at baseline.", "The patient's kidney function is at baseline.",
                         "The patient's creatinine is lower than usual."],
                        [_n("The patient uses ibuprofen regularly.", "ibuprofen", "NSAID"),
                         _n("The patient will need dialysis.", "dialysis", "HD"), _n("The patient received IV contrast.", "contrast"),
                         _n("The kidney injury is caused by dehydration.", "dehydrat", "volume")])
        return Fact(premise, ["The patient's creatinine is at baseline.", "The patient's kidney function is stable."],
                    ["The patient's creatinine has tripled.", "The patient has an acute kidney injury.",
                     "The patient's kidney function has worsened."],
                    [_n("The patient has chronic kidney disease.", "CKD", "kidney disease"),
                     _n("The patient's creatinine will be checked again tomorrow.", "tomorrow", "recheck", "repeat")])
    if kind == "glucose_low":
        low, after = rng.randint(28, 58), rng.randint(95, 180)
        premise = _pick(rng, f"Triage glucose {low}; D50 given, repeat {after}.",
                        f"FSBG {low} on arrival; received an amp of D50, recheck {after}.",
                        f"{p.he} was found with a blood sugar of {low} and was given IV dextrose, with improvement to {after}.")
        return Fact(premise, ["The patient had low blood sugar on arrival.", "The patient's blood sugar was low.",
                              "The patient received dextrose.", "The patient's glucose improved after treatment."],
                    ["The patient's blood sugar was high on arrival.", "The patient's glucose stayed low after treatment.",
                     "The patient was not treated for low blood sugar."],
                    [_n("The patient takes insulin.", "insulin"), _n("The patient skipped a meal.", "meal", "eat"),
                     _n("The patient has had low blood sugars before.", "prior", "previous", "recurrent")])
    if kind == "glucose_high":
        high = rng.randint(380, 720)
        premise = _pick(rng, f"Glucose {high}, anion gap {rng.randint(18, 30)}, started on an insulin drip.",
                        f"BG {high} on arrival; insulin gtt started.",
                        f"{p.his.capitalize()} blood glucose was {high} and an insulin infusion was started.")
        return Fact(premise, ["The patient's blood sugar is high.", "The patient is hyperglycemic.", "The patient is receiving insulin."],
                    ["The patient had low blood sugar on arrival.", "The patient's blood sugar is normal.",
                     "The patient was not given insulin."],
                    [_n("The patient has type 1 diabetes.", "type 1", "T1DM"), _n("The patient ran out of insulin.", "ran out", "noncomplian"),
                     _n("The patient has an infection.", "infect", "pneumonia", "UTI", "cellulitis", "sepsis", "cultur", "antibiotic")])
    if kind == "hgb_transfuse":
        hgb, units = round(rng.uniform(5.8, 7.3), 1), rng.randint(1, 3)
        post = round(hgb + units * rng.uniform(0.7, 1.1), 1)
        premise = _pick(rng, f"Admission Hgb {hgb}; {units}u pRBC transfused, post-transfusion Hgb {post}.",
                        f"H/H low (Hgb {hgb}); s/p {units}u PRBC, Hgb now {post}.",
                        f"{p.his.capitalize()} hemoglobin was {hgb} and {p.he.lower()} received {units} unit{'s' if units > 1 else ''} of packed red cells, "
                        f"after which it rose to {post}.")
        return Fact(premise, ["The patient was given blood.", "The patient was anemic on admission.",
                              "The patient's hemoglobin rose after the transfusion.", "The patient received red blood cells."],
                    ["The patient's hemoglobin was normal on admission.", "The patient did not receive any blood products.",
                     "The patient's hemoglobin fell after the transfusion."],
                    [_n("The patient has a gastrointestinal bleed.", "bleed", "GI", "melena"),
                     _n("The patient will need a colonoscopy.", "colonoscopy", "scope"),
                     _n("The patient has had transfusions in the past.", "prior", "previous")])
    simple = {  # (premise phrasings, entails, contradicts, neutral)
        "na_low": ([f"Na {rng.randint(118, 129)}.", f"Sodium {rng.randint(118, 129)} on admission.", f"BMP notable for Na {rng.randint(118, 129)}."],
                   ["The patient's sodium is low.", "The patient is hyponatremic."],
                   ["The patient's sodium is within normal limits.", "The patient's sodium is high."],
                   [_n("The patient drinks a lot of beer.", "beer", "alcohol", "EtOH"), _n("The patient takes a thiazide.", "HCTZ", "thiazide", "chlorthal")]),
        "k_high": ([f"K {round(rng.uniform(5.8, 7.2), 1)}.", f"Potassium {round(rng.uniform(5.8, 7.2), 1)}, repeat pending.",
                    f"Chemistry notable for K {round(rng.uniform(5.8, 7.2), 1)}."],
                   ["The patient's potassium is high.", "The patient is hyperkalemic."],
                   ["The patient's potassium is low.", "The patient's potassium is normal."],
                   [_n("The patient takes a potassium supplement.", "KCl", "potassium chloride", "supplement"),
                    _n("The sample was hemolyzed.", "hemoly")]),
        "plt_low": ([f"Platelets {rng.randint(12, 80)}K.", f"Plt {rng.randint(12, 80)}.", f"Platelet count {rng.randint(12, 80)},000."],
                    ["The patient's platelet count is low.", "The patient is thrombocytopenic."],
                    ["The patient's platelet count is normal.", "The patient's platelet count is high."],
                    [_n("The patient has leukemia.", "leukemia", "malignan"), _n("The patient will receive a platelet transfusion.", "transfus")]),
        "a1c_high": ([f"T2DM on insulin, A1c {round(rng.uniform(8.6, 12.5), 1)}%.", f"DM2 with last HbA1c {round(rng.uniform(8.6, 12.5), 1)}%.",
                      f"{p.he} has type 2 diabetes with a hemoglobin A1c of {round(rng.uniform(8.6, 12.5), 1)}%."],
                     ["The patient is diabetic.", "The patient's diabetes is poorly controlled.", "The patient's A1c is above goal."],
                     ["The patient's diabetes is under good control.", "The patient does not have diabetes.", "The patient's A1c is normal."],
                     [_n("The patient has diabetic retinopathy.", "retin"), _n("The patient checks blood sugar at home.", "home", "FSBG"),
                      _n("The patient has a foot ulcer.", "ulcer", "foot")]),
        "a1c_ok": ([f"DM2, diet controlled, A1c {round(rng.uniform(5.6, 6.6), 1)}%.", f"Type 2 diabetes, last HbA1c {round(rng.uniform(5.6, 6.6), 1)}%."],
                   ["The patient is diabetic.", "The patient's diabetes is under good control."],
                   ["The patient's diabetes is poorly controlled.", "The patient does not have diabetes."],
                   [_n("The patient exercises every day.", "exercis"), _n("The patient has neuropathy.", "neuropath")]),
        "trop_up": ([f"Troponin peaked at {round(rng.uniform(0.5, 9.0), 1)} ng/mL.", f"Trop {round(rng.uniform(0.2, 4.0), 2)} -> {round(rng.uniform(4.1, 9.0), 1)}.",
                     f"Serial troponins were elevated, peaking at {round(rng.uniform(0.5, 9.0), 1)}."],
                    ["The patient's troponin was elevated.", "The patient had evidence of heart muscle injury."],
                    ["The patient's troponin was normal.", "The patient's troponins were negative."],
                    [_n("The patient had a prior heart attack.", "prior MI", "history of MI", "CAD"),
                     _n("The patient will undergo cardiac catheterization.", "cath")]),
        "trop_neg": (["Troponin negative x2.", "Serial troponins were negative.", "Trop <0.01 x 3."],
                     ["The patient's troponins were negative.", "The patient's troponin was not elevated."],
                     ["The patient's troponin was elevated.", "The patient had evidence of heart muscle injury."],
                     [_n("The patient's chest pain is from reflux.", "reflux", "GERD"), _n("The patient will have a stress test.", "stress")]),
        "tsh_high": ([f"TSH {round(rng.uniform(6.5, 25.0), 1)} (free T4 pending).", f"TSH elevated at {round(rng.uniform(6.5, 25.0), 1)}."],
                     ["The patient's TSH is elevated.", "The patient's TSH is above normal."],
                     ["The patient's TSH is normal.", "The patient's TSH is low."],
                     [_n("Levothyroxine will be started.", "levothyrox", "Synthroid"),
                      _n("The patient feels tired all the time.", "fatigue", "tired")]),
        "wbc_high": ([f"WBC {round(rng.uniform(15.0, 28.0), 1)} with {rng.randint(8, 20)}% bands.", f"Leukocytosis to {round(rng.uniform(15.0, 28.0), 1)}.",
                      f"White count {round(rng.uniform(15.0, 28.0), 1)}."],
                     ["The patient's white blood cell count is elevated.", "The patient has leukocytosis."],
                     ["The patient's white blood cell count is normal.", "The patient's white blood cell count is low."],
                     [_n("The patient has pneumonia.", "pneumonia", "consolidation"), _n("The patient is on steroids.", "steroid", "prednisone")]),
    }
    phrasings, entails, contradicts, neutral = simple[kind]
    return Fact(rng.choice(phrasings), entails, contradicts, neutral)


# ---- imaging ---------------------------------------------------------------------------------------
SIDES = ("left", "right")
LOBES = {"left": ("upper", "lower"), "right": ("upper", "middle", "lower")}


def imaging(rng: random.Random, p: Pt) -> Fact:
    kind = rng.choice(("cxr_clear", "cxr_consol", "cxr_ptx", "cth_clear", "cth_bleed", "echo_low", "echo_ok", "dvt", "no_dvt",
                       "liver_lesion", "appy", "gallstones", "mri_stroke"))
    side = rng.choice(SIDES)
    other = "right" if side == "left" else "left"
    if kind == "cxr_clear":
        premise = _pick(rng, "CXR: clear lungs; no consolidation, effusion or pneumothorax.", "CXR clear.",
                        "Chest x-ray showed clear lungs without effusion.", "CXR: no acute cardiopulmonary process.")
        return Fact(premise, ["The chest x-ray is normal.", "There is no pneumonia on the chest x-ray.",
                              "The chest x-ray shows no acute disease."],
                    [f"The chest x-ray shows a {side} pleural effusion.", "The chest x-ray shows pneumonia.", "There is a pneumothorax.",
                     "The chest x-ray shows a lung infiltrate."],
                    [_n("A CT of the chest will be ordered.", "CT"), _n("The patient has a cough.", "cough"),
                     _n("The x-ray was taken in the emergency department.", "ED", "emergency")])
    if kind == "cxr_consol":
        lobe = rng.choice(LOBES[side])
        eff = rng.random() < 0.5
        premise = _pick(rng, f"CXR: new {side} {lobe} lobe consolidation" + (f" with small {side} pleural effusion." if eff else "."),
                        f"CXR with {side[0].upper()}{lobe[0].upper()}L opacity concerning for pneumonia" + (", small effusion." if eff else "."),
                        f"Chest radiograph showed an infiltrate in the {side} {lobe} lobe" + (" and a small effusion." if eff else "."))
        return Fact(premise, [f"The {side} lung is abnormal on the chest x-ray.", "The chest x-ray is abnormal.",
                              "The chest x-ray shows a possible pneumonia."] + (["There is fluid around the lung."] if eff else []),
                    ["The lungs are clear.", "The chest x-ray is normal.", f"The abnormality is only in the {other} lung."],
                    [_n("The pneumonia is caused by bacteria.", "culture", "strep", "MRSA"),
                     _n("The patient has had pneumonia before.", "prior", "previous", "recurrent"),
                     _n("The patient aspirated.", "aspirat")])
    if kind == "cxr_ptx":
        premise = _pick(rng, f"CXR: {side} apical pneumothorax, approx {rng.randint(1, 4)} cm.", f"Small {side} PTX on CXR.",
                        f"The chest x-ray showed a {side}-sided pneumothorax.")
        return Fact(premise, [f"There is air outside the {side} lung.", "The chest x-ray shows a pneumothorax.",
                              "The chest x-ray is abnormal."],
                    ["The chest x-ray is normal.", "There is no pneumothorax.", f"The pneumothorax is on the {other} side."],
                    [_n("A chest tube will be placed.", "chest tube"), _n("The patient is a smoker.", "smok", "tobacco"),
                     _n("The pneumothorax followed a procedure.", "s/p", "procedure", "line")])
    if kind == "cth_clear":
        premise = _pick(rng, "Noncon CT head: no acute hemorrhage, no mass effect.", "CTH neg for bleed.",
                        "Noncontrast head CT showed no acute intracranial abnormality.")
        return Fact(premise, ["The head CT shows no bleeding.", "The head CT shows no hemorrhage."],
                    ["The head CT shows a brain bleed.", "There is an intracranial hemorrhage.", "The head CT shows bleeding in the brain."],
                    [_n("The patient hit {} head.".format(p.his), "fall", "hit", "trauma", "MVC"), _n("An MRI of the brain will be done.", "MRI"),
                     _n("The patient has a headache.", "headache", "HA")])
    if kind == "cth_bleed":
        premise = _pick(rng, f"CT head: acute {side} subdural hematoma, {rng.randint(4, 15)} mm, with midline shift.",
                        f"CTH: {side} SDH with {rng.randint(2, 9)} mm MLS.",
                        f"A head CT showed a {side}-sided subdural bleed.")
        return Fact(premise, ["There is bleeding in the brain.", "The head CT is abnormal.", f"The bleed is on the {side} side."],
                    ["The head CT is normal.", "There is no intracranial hemorrhage.", f"The bleed is on the {other} side."],
                    [_n("The patient takes an anticoagulant.", "warfarin", "apixaban", "rivaroxaban", "anticoag", "heparin"),
                     _n("The patient will need surgery.", "surg", "craniotomy", "neurosurg"), _n("The patient fell.", "fall", "fell")])
    if kind in ("echo_low", "echo_ok"):
        ef = rng.randint(15, 35) if kind == "echo_low" else rng.randint(55, 70)
        ef_text = f"{ef}%" if rng.random() < 0.6 else f"{ef}-{ef + 5}%"
        premise = _pick(rng, f"Echo: LVEF {ef_text}, " + ("global hypokinesis." if kind == "echo_low" else "normal wall motion."),
                        f"TTE with EF {ef_text}.", f"h/o CHF (EF {ef_text})." if kind == "echo_low" else f"Prior TTE: EF {ef_text}.",
                        f"An echocardiogram showed an ejection fraction of {ef_text}.")
        low = (["The patient's ejection fraction is reduced.", "The patient's heart pumps weakly."],
               ["The patient's ejection fraction is normal.", "The patient's heart function is normal."])
        # a normal EF does not make the heart's function normal (heart failure with preserved EF)
        ok = ["The patient's ejection fraction is normal.", "The patient's ejection fraction is not reduced."]
        entails, contradicts = low if kind == "echo_low" else (ok, low[0])
        return Fact(premise, entails, contradicts,
                    [_n("The patient has had a heart attack.", "MI", "infarct", "CAD", "stent"),
                     _n("The patient will receive a defibrillator.", "ICD", "defib"),
                     _n("The echocardiogram was done last year.", "year", "prior")])
    if kind in ("dvt", "no_dvt"):
        premise = (_pick(rng, f"LE duplex: occlusive thrombus in the {side} femoral vein.", f"{side.upper()} LE US + DVT.",
                         f"Ultrasound showed a deep vein thrombosis in the {side} leg.") if kind == "dvt" else
                   _pick(rng, "LE duplex negative for DVT bilaterally.", "Bilateral LE US: no DVT.",
                         "Ultrasound of both legs showed no deep vein thrombosis."))
        yes = [f"The patient has a blood clot in the {side} leg.", "The patient has a deep vein thrombosis."]
        no = ["There is no blood clot in the legs.", "The ultrasound did not show a DVT."]
        return Fact(premise, yes if kind == "dvt" else no,
                    (no + [f"The clot is in the {other} leg."]) if kind == "dvt" else yes,
                    [_n("The patient has a pulmonary embolism.", "PE", "embol"), _n("The patient recently had surgery.", "s/p", "surg", "post-op"),
                     _n("The patient's leg is swollen.", "swell", "swollen", "edema")])
    if kind == "liver_lesion":
        size = round(rng.uniform(0.6, 3.5), 1)
        premise = _pick(rng, f"CT abdomen: indeterminate {size} cm hypodense {side} hepatic lesion.",
                        f"CT A/P with incidental {size} cm liver lesion.", f"A {size} cm lesion was seen in the liver on CT.")
        return Fact(premise, ["There is a lesion in the liver.", "The CT found something in the liver."],
                    ["The liver is normal on CT.", "The CT found no liver abnormality."],
                    [_n("The liver lesion is a cancer.", "malign", "metast", "cancer"), _n("The lesion was present on a prior scan.", "prior", "stable"),
                     _n("The patient drinks alcohol heavily.", "alcohol", "EtOH")])
    if kind == "appy":
        premise = _pick(rng, "CT A/P: dilated appendix with periappendiceal fat stranding, c/w acute appendicitis.",
                        "CT consistent with acute appendicitis.", "CT of the abdomen showed an inflamed appendix.")
        return Fact(premise, ["The patient has appendicitis.", "The CT is abnormal."],
                    ["The appendix is normal.", "The CT of the abdomen is normal."],
                    [_n("The appendix has ruptured.", "perforat", "ruptur"), _n("The patient is running a fever.", "T ", "fever", "febrile", "temperature"),
                     _n("The patient will have surgery tonight.", "surg", "OR")])
    if kind == "gallstones":
        premise = _pick(rng, "RUQ US: cholelithiasis with gallbladder wall thickening.", "RUQ US: multiple gallstones, no ductal dilation.",
                        "Ultrasound showed gallstones.")
        return Fact(premise, ["The patient has gallstones.", "The ultrasound is abnormal."],
                    ["The gallbladder is normal.", "There are no gallstones."],
                    [_n("The patient has pancreatitis.", "pancrea", "lipase"), _n("The patient will have a cholecystectomy.", "cholecyst"),
                     _n("The patient has jaundice.", "jaundic", "bili")])
    premise = _pick(rng, f"MRI brain: acute lacunar infarct, {side} corona radiata.", f"MRI: acute {side} MCA territory infarct.",
                    f"Brain MRI showed a new stroke on the {side} side.")
    return Fact(premise, ["The patient has had a stroke.", "The MRI of the brain is abnormal.", f"The stroke is on the {side} side."],
                ["The brain MRI is normal.", "The patient has not had a stroke.", f"The stroke is on the {other} side."],
                [_n("The patient gets migraines.", "migraine"), _n("The patient has atrial fibrillation.", "afib", "fibrillation", "AF"),
                 _n("The patient will have a full recovery.", "recover")])


# ---- procedures, hospital course, surgical history -------------------------------------------------------
SURGERIES = (("laparoscopic cholecystectomy", "lap chole", "a gallbladder"), ("appendectomy", "appy", "an appendix"),
             ("total abdominal hysterectomy", "TAH", "a uterus"), ("splenectomy", "splenectomy", "a spleen"),
             ("left nephrectomy", "L nephrectomy", "a left kidney"), ("thyroidectomy", "thyroidectomy", "a thyroid gland"))


def course(rng: random.Random, p: Pt) -> Fact:
    kind = rng.choice(("extubated", "still_intubated", "stent", "surgery", "dialysis", "icu", "discharged"))
    if kind in ("extubated", "still_intubated"):
        d1 = rng.randint(1, 4)
        d2 = d1 + rng.randint(1, 6)
        why = rng.choice(("hypoxemic respiratory failure", "airway protection", "hypercapnic respiratory failure"))
        if kind == "extubated":
            premise = _pick(rng, f"{p.he} required intubation on hospital day {d1} for {why}; extubated on day {d2}.",
                            f"Intubated HD{d1} for {why}, extubated HD{d2}.", f"s/p intubation for {why}, now extubated to 2L NC.")
            return Fact(premise, ["The patient is off the ventilator.", "The patient required mechanical ventilation.",
                                  "The patient was intubated during the admission."],
                        ["The patient is still on the ventilator.", "The patient was never intubated.",
                         "The patient remains intubated."],
                        [_n("The patient will go to a rehabilitation facility.", "rehab", "SNF"),
                         _n("The patient has pneumonia.", "pneumonia"), _n("The patient was intubated before.", "prior", "previous")],
                        asserts=frozenset({"oxygen"} if "2L NC" in premise else ()))
        premise = _pick(rng, f"Remains intubated on AC since HD{d1} for {why}.",
                        f"{p.he} was intubated on day {d1} for {why} and remains on the ventilator.")
        return Fact(premise, ["The patient is on a ventilator.", "The patient is intubated."],
                    ["The patient has been extubated.", "The patient is breathing on {} own.".format(p.his),
                     "The patient was never intubated."],
                    [_n("The patient will need a tracheostomy.", "trach"), _n("The patient is sedated with propofol.", "propofol", "sedat")],
                    asserts=frozenset({"oxygen"}))
    if kind == "stent":
        vessel, pct = rng.choice(("LAD", "RCA", "left circumflex")), rng.randint(80, 99)
        premise = _pick(rng, f"LHC: {pct}% {vessel} stenosis, drug-eluting stent placed.",
                        f"LHC: {pct}% {vessel} lesion s/p DES.", f"{p.he} underwent PCI with a stent to the {vessel}.")
        return Fact(premise, ["The patient had a coronary procedure.", "The patient has a coronary stent.",
                              "The patient has coronary artery disease."],
                    ["The patient's coronary arteries were normal.", "The patient did not undergo any procedure.",
                     "The patient's coronary arteries have no blockage."],
                    [_n("The patient will need bypass surgery.", "CABG", "bypass"), _n("The patient had a heart attack.", "MI", "STEMI", "trop"),
                     _n("The patient has high cholesterol.", "HLD", "cholesterol", "statin")])
    if kind == "surgery":
        name, short, organ = rng.choice(SURGERIES if p.female else [s for s in SURGERIES if s[1] != "TAH"])
        year = rng.randint(1995, 2023)
        premise = _pick(rng, f"Had {name} in {year}.", f"PSH: {short} ({year}).", f"s/p {short} {year}.",
                        f"Surgical history is notable for {name} in {year}.")
        return Fact(premise, ["The patient has had surgery in the past.", f"The patient no longer has {organ}.",
                              f"The patient had surgery before {year + rng.randint(1, 5)}."],
                    [f"The patient has {organ} that was never removed.", "The patient has never had surgery.",
                     f"The patient's surgery was after {year + rng.randint(1, 5)}."],
                    [_n("The surgery had complications.", "complicat"), _n("The surgery was done at this hospital.", "here"),
                     _n("The patient's mother had the same surgery.", "mother", "family")])
    if kind == "dialysis":
        premise = _pick(rng, "ESRD on HD MWF via L AVF.", "ESRD on hemodialysis three times a week.",
                        f"{p.he} has end-stage renal disease and receives dialysis on Monday, Wednesday and Friday.")
        return Fact(premise, ["The patient receives dialysis.", "The patient has kidney failure."],
                    ["The patient's kidney function is normal.", "The patient has never needed dialysis."],
                    [_n("The patient is on a kidney transplant list.", "transplant"), _n("The kidney failure was caused by diabetes.", "diabet", "DM")])
    if kind == "icu":
        premise = _pick(rng, "Transferred to the MICU for pressor requirement.", "Upgraded to ICU on HD2 for hypotension requiring norepinephrine.",
                        f"{p.he} was moved to the intensive care unit because {p.his} blood pressure stayed low.")
        return Fact(premise, ["The patient was in the intensive care unit.", "The patient's condition worsened during the stay."],
                    ["The patient stayed on the general ward the whole time.", "The patient never needed intensive care."],
                    [_n("The patient died.", "expired", "died"), _n("The patient has a central line.", "line", "CVC")])
    premise = _pick(rng, "Discharged home with home health services.", "Dispo: home with VNA.",
                    f"{p.he} was discharged home in stable condition.")
    return Fact(premise, ["The patient went home.", "The patient was discharged from the hospital."],
                ["The patient died in the hospital.", "The patient was discharged to a nursing home.", "The patient is still in the hospital."],
                [_n("The patient will be readmitted within a month.", "readmit"), _n("The patient lives with family.", "lives", "wife", "husband")])


# ---- social history, function, allergies, pregnancy --------------------------------------------------------
def social(rng: random.Random, p: Pt) -> Fact:
    kind = rng.choice(("never", "former", "current", "no_etoh", "heavy_etoh", "alone", "family", "independent", "walker"))
    if kind == "never":
        premise = _pick(rng, "Never smoker.", "Tobacco: never.", f"{p.he} has never smoked.")   # not "denies tobacco use": a former smoker may
        return Fact(premise, ["The patient has never smoked.", "The patient does not smoke."],
                    ["The patient has smoked heavily for decades.", "The patient smokes cigarettes.", "The patient is a former smoker."],
                    [_n("The patient uses e-cigarettes.", "vap", "e-cig"), _n("The patient's spouse smokes.", "spouse", "wife", "husband")])
    if kind == "former":
        years, packs = rng.randint(2, 30), rng.randint(10, 60)
        premise = _pick(rng, f"Ex-smoker: {packs} pack-years, quit {years} years ago.", f"Ex-smoker ({packs} pk-yrs), quit {years} yrs ago.",
                        f"{p.he} smoked for many years ({packs} pack-years) but quit {years} years ago.")
        return Fact(premise, ["The patient used to smoke.", "The patient does not currently smoke.", "The patient quit smoking."],
                    ["The patient has never smoked.", "The patient currently smokes.", "The patient smokes a pack a day."],
                    [_n("The patient has lung cancer.", "cancer", "mass", "nodule"), _n("The patient used nicotine patches to quit.", "patch", "nicotine")])
    if kind == "current":
        ppd = rng.choice(("1 ppd", "1/2 ppd", "2 ppd", "a pack a day"))
        premise = _pick(rng, f"Current smoker, {ppd}.", f"Smokes {ppd}.", f"Tobacco: {ppd} x {rng.randint(10, 40)} years.")
        return Fact(premise, ["The patient smokes.", "The patient uses tobacco."],
                    ["The patient has never smoked.", "The patient quit smoking years ago.", "The patient does not use tobacco."],
                    [_n("The patient wants to quit smoking.", "quit", "cessation"), _n("The patient has COPD.", "COPD", "emphysema")])
    if kind == "no_etoh":
        premise = _pick(rng, "Denies EtOH.", "No alcohol use.", f"{p.he} does not drink alcohol.")
        return Fact(premise, ["The patient does not drink alcohol."],
                    ["The patient drinks alcohol every day.", "The patient has alcohol use disorder."],
                    [_n("The patient used to drink heavily.", "former", "quit", "sober"), _n("The patient uses marijuana.", "marijuana", "THC")])
    if kind == "heavy_etoh":
        drinks = rng.randint(6, 20)
        premise = _pick(rng, f"EtOH: {drinks} beers daily, last drink {rng.randint(6, 40)} hours before arrival.",
                        f"Drinks {drinks} drinks/day.", f"Admitted with alcohol withdrawal; drinks about {drinks} beers a day.")
        return Fact(premise, ["The patient drinks alcohol.", "The patient drinks more than five drinks a day."],
                    ["The patient does not drink alcohol.", "The patient drinks only on special occasions."],
                    [_n("The patient has a history of withdrawal seizures.", "seizure"), _n("The patient has cirrhosis.", "cirrho", "liver")])
    if kind in ("alone", "family"):
        who = rng.choice(("wife", "husband", "daughter", "son")) if kind == "family" else None
        premise = (_pick(rng, "Lives alone.", "Lives alone in an apartment.", f"{p.he} lives by {p.his}self.") if kind == "alone" else
                   _pick(rng, f"Lives with {p.his} {who}.", f"Lives at home with {who}.", f"{p.he} lives with {p.his} {who}."))
        yes = ["The patient lives alone."] if kind == "alone" else ["The patient lives with a relative.", "The patient does not live alone."]
        no = ["The patient lives with a relative.", "The patient lives with {} spouse.".format(p.his)] if kind == "alone" else ["The patient lives alone."]
        return Fact(premise, yes, no, [_n("The patient has children.", "son", "daughter", "child"), _n("The patient owns a dog.", "dog", "pet"),
                                       _n("The patient lives in a house with stairs.", "stairs", "house")])
    if kind == "independent":
        premise = _pick(rng, "Walks independently, no assistive device.", "Independent in ADLs, walks without a cane.",
                        f"At baseline {p.he.lower()} walks without any assistance.")
        return Fact(premise, ["The patient can walk on {} own.".format(p.his), "The patient does not use a walker."],
                    ["The patient needs a walker.", "The patient is wheelchair-bound.", "The patient cannot walk."],
                    [_n("The patient exercises daily.", "exercis"), _n("The patient drives a car.", "drive")])
    device = rng.choice(("walker", "cane", "wheelchair"))
    premise = _pick(rng, f"Ambulates with a {device}.", f"Uses a {device} at baseline.", f"{p.he} gets around with a {device}.")
    uses = f"The patient uses a {device}." if device == "wheelchair" else f"The patient walks with a {device}."
    return Fact(premise, [uses, "The patient needs help to get around."],
                ["The patient walks without any assistive device.", "The patient runs marathons."],
                [_n("The patient has fallen at home.", "fall", "fell"), _n("The patient has arthritis.", "arthrit", "OA")])


ALLERGIES = (("penicillin", "PCN", "anaphylaxis"), ("sulfa drugs", "sulfa", "rash"), ("codeine", "codeine", "nausea"),
             ("iodinated contrast", "contrast", "hives"), ("vancomycin", "vanc", "red man syndrome"), ("aspirin", "ASA", "angioedema"))


def allergy(rng: random.Random, p: Pt) -> Fact:
    if rng.random() < 0.3:
        premise = _pick(rng, "NKDA.", "No known drug allergies.", "Allergies: none known.")
        return Fact(premise, ["The patient has no known drug allergies."],
                    [f"The patient is allergic to {rng.choice(ALLERGIES)[0]}.", "The patient is allergic to a medication."],
                    [_n("The patient is allergic to peanuts.", "peanut"), _n("The patient has seasonal allergies.", "season", "pollen")],
                    denies=frozenset({"drug reaction"}))
    name, short, reaction = rng.choice(ALLERGIES)
    premise = _pick(rng, f"Allergy: {name} ({reaction}).", f"Allergies: {short} ({reaction}).", f"All: {short} -> {reaction}.",
                    f"{p.he} had {'a rash' if reaction == 'rash' else reaction} after {name} in the past.")
    other = rng.choice([a for a in ALLERGIES if a[0] != name])[0]
    return Fact(premise, ["The patient is allergic to a medication.", f"The patient should not receive {name}."],
                ["The patient has no known drug allergies.", f"The patient tolerates {name} without problems."],
                [_n(f"The patient is allergic to {other}.", other.split()[0]), _n("The patient carries an epinephrine pen.", "EpiPen", "epinephrine"),
                 _n("The reaction happened in childhood.", "child")], denies=frozenset({f"given {name}"}))


def pregnancy(rng: random.Random, p: Pt) -> Fact:
    g = rng.randint(1, 5)
    para, weeks = rng.randint(0, g - 1), rng.randint(8, 39)
    sx = rng.choice(("headache and BP 168/104", "vaginal bleeding", "abdominal pain", "decreased fetal movement", "nausea and vomiting"))
    premise = _pick(rng, f"{p.age} yo G{g}P{para} at {weeks} weeks gestation presenting with {sx}.",
                    f"{p.age}F G{g}P{para} @ {weeks}w p/w {sx}.", f"This {p.age}-year-old pregnant woman at {weeks} weeks presents with {sx}.")
    trimester = "first" if weeks < 14 else "second" if weeks < 28 else "third"
    entails = ["The patient is expecting a baby.", f"The patient is in the {trimester} trimester.", "The patient is a woman."]
    contradicts = ["The patient is not pregnant.", f"The patient is in the {'third' if trimester != 'third' else 'first'} trimester.",
                   "The patient has already delivered."]
    if g >= 2:
        entails.append("The patient has been pregnant before.")
        contradicts.append("This is the patient's first pregnancy.")
    return Fact(premise, entails, contradicts,
                [_n("The patient is expecting twins.", "twin"), _n("The pregnancy was planned.", "plan"),
                 _n("The patient has gestational diabetes.", "diabet", "GDM")])


# ---- symptoms and their timing ----------------------------------------------------------------------------
SYMPTOMS = (("productive cough", "a cough"), ("dysuria", "pain with urination"), ("abdominal pain", "belly pain"),
            ("shortness of breath", "trouble breathing"), ("diarrhea", "loose stools"), ("headache", "a headache"),
            ("back pain", "back pain"), ("dizziness", "dizziness"), ("nausea and vomiting", "vomiting"))
DENIED = (("chest pain", "chest pain"), ("fevers", "a fever"), ("chills", "chills"), ("night sweats", "night sweats"),
          ("palpitations", "palpitations"), ("syncope", "fainting spells"), ("hematochezia", "blood in the stool"),
          ("weight loss", "weight loss"), ("leg swelling", "leg swelling"))


def symptoms(rng: random.Random, p: Pt) -> Fact:
    (sx, sx_lay), days = rng.choice(SYMPTOMS), rng.randint(2, 12)
    denied = rng.sample(DENIED, 3)
    neg_text = ", ".join(d[0] for d in denied[:2]) + f" or {denied[2][0]}"
    premise = _pick(rng, f"Reports {days} days of {sx}. Denies {neg_text}.", f"c/o {sx} x {days}d; denies {neg_text}.",
                    f"{p.he} reports {sx} for the past {days} days and denies {neg_text}.",
                    f"Onset {days} days before admission with {sx}. ROS negative for {neg_text}.")
    d = rng.choice(denied)[1]
    weeks = (days // 7) + 1
    return Fact(premise, [f"The patient has no {d.removeprefix('a ')}.", f"The patient has {sx_lay}.",
                          f"The symptoms have lasted less than {weeks + 1} weeks.", f"The patient denies {d}."],
                [f"The patient endorses {d}.", f"The patient has had {sx_lay} for over a month.", f"The patient denies {sx_lay}.",
                 f"The patient complains of {d}."],
                [_n(f"The patient has had {sx_lay} before.", "prior", "previous", "recurrent"),
                 _n(f"The patient's {sx_lay.replace('a ', '')} is worse at night.", "night"),
                 _n("The patient has a sick contact at home.", "contact", "sick"),
                 _n("The patient's symptoms started after eating at a restaurant.", "restaurant", "ate")],
                denies=frozenset(name for name, _ in denied))


# ---- medication changes -----------------------------------------------------------------------------------
CHANGES = (  # (drug, class, indication, side effect, replacement)
    ("lisinopril", "an ACE inhibitor", "hypertension", "angioedema", "amlodipine"),
    ("heparin", "an anticoagulant", "a DVT", "thrombocytopenia", "argatroban"),
    ("metformin", "a diabetes medication", "diabetes", "contrast exposure", "insulin"),
    ("simvastatin", "a statin", "high cholesterol", "muscle aches", "pravastatin"),
    ("warfarin", "an anticoagulant", "atrial fibrillation", "a GI bleed", "apixaban"),
    ("metoprolol", "a beta blocker", "hypertension", "fatigue", "amlodipine"),
    ("ciprofloxacin", "an antibiotic", "a UTI", "a rash", "nitrofurantoin"),
    ("furosemide", "a diuretic", "heart failure", "an acute kidney injury", "torsemide"),
    ("sertraline", "an antidepressant", "depression", "nausea", "bupropion"))
DRUG_REACTIONS = ("angioedema", "a rash", "thrombocytopenia")   # a drug stopped for one is a drug allergy: never beside "NKDA"
OPIOIDS = ("oxycodone 5 mg", "hydromorphone 2 mg", "morphine 15 mg", "hydrocodone-APAP 5-325")


def _reaction(ade: str) -> frozenset[str]:
    return frozenset({"drug reaction"} if ade in DRUG_REACTIONS else ())


def medications(rng: random.Random, p: Pt) -> Fact:
    drug, cls, ind, ade, new = rng.choice(CHANGES)
    kind = rng.choice(("stopped", "started", "held_restarted", "opioid", "switched"))
    if kind == "stopped":
        days = rng.randint(2, 10)
        premise = _pick(rng, f"{drug.capitalize()} stopped {days} days ago for {ade}.", f"D/c'd {drug} 2/2 {ade}.",
                        f"{drug.capitalize()} was stopped because of {ade}.", f"{drug.capitalize()} held for {ade}.")
        return Fact(premise, [f"The patient is no longer taking {drug}.", f"{drug.capitalize()} was stopped.",
                              f"{drug.capitalize()} was discontinued because of {ade}."],
                    [f"The patient is still on {drug}.", f"{drug.capitalize()} was continued.",
                     f"The patient tolerated {drug} without problems."],
                    [_n(f"{drug.capitalize()} will be restarted later.", "restart", "resume"),
                     _n(f"The patient has had {ade} before.", "prior", "previous"), _n(f"The patient was started on {new}.", new)],
                    asserts=_reaction(ade))
    if kind == "started":
        premise = _pick(rng, f"Started on {drug} for {ind}.", f"{p.he} was started on {drug} for {ind}.",
                        f"Initiated {drug} ({ind}).", f"{drug.capitalize()} started for {ind}.")
        return Fact(premise, [f"The patient is being treated for {ind}.", f"The patient has been diagnosed with {ind}.",
                              f"The patient is on {cls}."],
                    [f"The patient is not receiving any treatment for {ind}.", f"The patient does not have {ind}.",
                     f"{drug.capitalize()} was stopped."],
                    [_n(f"The patient has tried {cls.split(' ', 1)[1]}s before.", "prior", "previous", "tried"),
                     _n(f"{drug.capitalize()} was prescribed by a specialist.", "cardiolog", "specialist"),
                     _n(f"The patient's {ind} is severe.", "severe")]
                    + ([_n("The patient has a history of a suicide attempt.", "suicid")] if ind == "depression" else []))
    if kind == "held_restarted":
        premise = _pick(rng, f"{drug.capitalize()} held during the admission for {ade}; resumed on discharge.",
                        f"{drug.capitalize()} held on admit ({ade}), resumed at d/c.")
        return Fact(premise, [f"{drug.capitalize()} was resumed before discharge.", f"{drug.capitalize()} was paused during the stay."],
                    [f"{drug.capitalize()} was stopped permanently.", f"The patient took {drug} throughout the stay.",
                     f"The patient was never on {drug}."],
                    [_n(f"The patient will have {p.his} {drug} dose changed.", "dose"), _n("The patient will follow up in clinic.", "follow")],
                    asserts=_reaction(ade))
    if kind == "switched":
        premise = _pick(rng, f"{drug.capitalize()} stopped and {new} started because of {ade}.", f"{drug} -> {new} ({ade}).",
                        f"Because of {ade}, {drug} was changed to {new}.")
        return Fact(premise, [f"The patient is now taking {new}.", f"The patient is no longer on {drug}."],
                    [f"The patient is still receiving {drug}.", f"The patient is not taking {new}."],
                    [_n(f"{new.capitalize()} is more expensive than {drug}.", "cost", "expens"),
                     _n(f"The patient will take {new} for life.", "life", "indefinite")], asserts=_reaction(ade))
    dose = rng.choice(OPIOIDS)
    tabs = rng.choice(("1 tab", "2 tabs", "one dose"))
    premise = _pick(rng, f"Pt reports taking {tabs} of {dose} this morning.", f"Took {dose} x{rng.randint(1, 2)} today for back pain.",
                    f"{p.he} took {dose} earlier today.")
    return Fact(premise, ["The patient took an opioid today.", "The patient took a pain medication today."],
                ["The patient took no opioids today.", "The patient avoids all opioids."],
                [_n("The patient misuses opioids.", "misuse", "overdose", "OUD"), _n("The patient has chronic pain.", "chronic"),
                 _n("The opioid was prescribed after surgery.", "surg", "post-op")])


# ---- infections and cultures ---------------------------------------------------------------------------------
PENICILLINS = ("ampicillin", "piperacillin-tazobactam")   # never given beside a penicillin allergy
BUGS = (("MRSA", "vancomycin"), ("E. coli", "ceftriaxone"), ("Klebsiella", "cefepime"), ("MSSA", "cefazolin"),
        ("Pseudomonas", "piperacillin-tazobactam"), ("Enterococcus", "ampicillin"))


def infection(rng: random.Random, p: Pt) -> Fact:
    bug, abx = rng.choice(BUGS)
    site = rng.choice(("Blood", "Urine", "Sputum"))
    if rng.random() < 0.3:
        premise = _pick(rng, f"{site} cultures with no growth to date.", f"{site} cx NGTD.", f"{site} cultures were negative.")
        return Fact(premise, [f"The {site.lower()} cultures have not grown anything.", f"The {site.lower()} cultures are negative so far."],
                    [f"The {site.lower()} cultures grew {bug}.", f"The {site.lower()} cultures are positive."],
                    [_n("The patient is on antibiotics.", "antibiotic", "mycin", "cef", "cillin", "abx"),
                     _n("The cultures were drawn after antibiotics were started.", "after")])
    premise = _pick(rng, f"{site} cultures grew {bug}; started on {abx}.", f"{site} cx + {bug}, on {abx}.",
                    f"{site} cultures were positive for {bug} and {p.he.lower()} was treated with {abx}.")
    return Fact(premise, ["The patient is receiving an antibiotic.", f"The {site.lower()} cultures are positive.",
                          "The patient has a bacterial infection."],
                [f"The {site.lower()} cultures were negative.", "The patient is not on any antibiotic.", f"The {site.lower()} cultures grew a fungus."],
                [_n("The infection came from an IV line.", "line", "catheter"), _n(f"The patient will need {abx} for six weeks.", "week"),
                 _n("The patient has had this infection before.", "prior", "previous", "recurrent")],
                asserts=frozenset({f"given {abx}"} | ({"given penicillin"} if abx in PENICILLINS else set())))


FACTS = (demographics, vitals, labs, imaging, course, social, allergy, symptoms, medications, infection)


GENERIC_NEUTRAL = (_n("The patient's mother had breast cancer.", "mother", "cancer"), _n("The patient works as a teacher.", "teacher", "work"),
                   _n("The patient has a dog at home.", "dog"), _n("The patient was born in another country.", "born"),
                   _n("The patient has a twin sibling.", "twin"))


def _mentions(premise: str, guard: str) -> bool:
    """Whether the premise names `guard`: a word prefix, case-sensitive when the guard has capitals
    ("MI", "T "), else a case-insensitive substring ("diabet", "mycin")."""
    if any(c.isupper() for c in guard):
        return re.search(r"\b" + re.escape(guard), premise) is not None
    return guard in premise.lower()


def _guarded(neutral, premise: str) -> list[str]:
    """The neutral hypotheses whose guard words the premise does not name."""
    return [text for text, guard in neutral if not any(_mentions(premise, g) for g in guard)]


# Borrowed neutrals: a fact of a kind the premise does not hold, whose entailed or contradicted
# hypothesis ("The patient is hypotensive.") the premise then cannot settle. Demographics are never
# borrowed (a pronoun settles the sex); a borrowed hypothesis sharing a content word with the premise
# (abbreviations spelled out first) is dropped.
BORROWABLE = (vitals, labs, imaging, course, social, allergy, symptoms, medications, infection)
SPELLED = {"dvt": "deep vein thrombosis", "ptx": "pneumothorax", "cxr": "chest x-ray", "afib": "atrial fibrillation",
           "etoh": "alcohol", "esrd": "kidney failure dialysis", "hd": "dialysis", "pcn": "penicillin", "asa": "aspirin",
           "vanc": "vancomycin", "cth": "head ct", "sdh": "subdural bleeding brain", "pci": "coronary stent", "des": "stent",
           "hgb": "hemoglobin", "prbc": "blood transfusion", "plt": "platelet", "na": "sodium", "k": "potassium",
           "cr": "creatinine kidney", "tte": "echocardiogram", "ef": "ejection fraction heart", "bp": "blood pressure hypertension hypotension",
           "hr": "heart rate", "t": "temperature fever", "spo2": "oxygen saturation",
           "dka": "diabetic ketoacidosis diabetes", "uti": "urinary tract infection", "gi": "gastrointestinal gut",
           "chf": "heart failure", "copd": "lung copd", "mi": "heart attack", "t2dm": "diabetes", "dm2": "diabetes",
           "insulin": "insulin diabetes", "metformin": "metformin diabetes", "d50": "dextrose glucose sugar",
           "fsbg": "glucose sugar", "bg": "glucose sugar", "a1c": "diabetes", "hba1c": "diabetes",
           "temperature": "temperature fever", "febrile": "febrile fever", "afebrile": "afebrile fever",
           "pressure": "pressure hypertension hypotension", "pressor": "pressor hypotension",
           "norepinephrine": "norepinephrine hypotension", "urine": "urine urinary", "syncope": "syncope fainting",
           "ra": "room air oxygen ventilator intubated supplemental"}
# a drug named in the premise settles statements about its class ("not on any antibiotic" beside "on cipro")
DRUG_CLASSES = {"antibiotic": ("ciprofloxacin", "nitrofurantoin", "vancomycin", "ceftriaxone", "cefepime", "cefazolin",
                               "piperacillin-tazobactam", "ampicillin"),
                "anticoagulant thinner": ("heparin", "warfarin", "apixaban", "argatroban", "rivaroxaban"),
                "diuretic": ("furosemide", "torsemide"), "antidepressant depression": ("sertraline", "bupropion"),
                "antihypertensive hypertension": ("lisinopril", "amlodipine", "metoprolol"),
                "opioid analgesic": ("oxycodone", "hydromorphone", "morphine", "hydrocodone-apap")}
SPELLED |= {drug: f"{drug} {cls}" for cls, drugs in DRUG_CLASSES.items() for drug in drugs}
STOP = {"patient", "patients", "there", "which", "their", "about", "after", "before", "being", "while", "since", "other",
        "without", "through", "during", "normal", "range", "level", "count", "currently", "never"}


def _words(text: str) -> set[str]:
    """Content-word stems (first 5 letters of words of 4+ letters) of `text`, abbreviations spelled out."""
    words = re.findall(r"[a-z0-9-]+", text.lower())
    words = [w for word in words for w in SPELLED.get(word, word).split()]
    return {w[:5] for w in words if len(w) >= 4 and w not in STOP}


def _borrowed(rng: random.Random, pt: Pt, used: set, premise: str) -> list[str]:
    kinds = [k for k in BORROWABLE if k not in used]
    fact = rng.choice(kinds)(rng, pt)
    seen = _words(premise)
    return [h for h in fact.entails + fact.contradicts if not _words(h) & seen]


def _agree(facts: list[Fact]) -> bool:
    """No fact denies a conflict tag another fact asserts."""
    stated = frozenset().union(*(f.asserts for f in facts))
    return not any(f.denies & stated for f in facts)


def note_nli(rng: random.Random, style: Style) -> dict:
    """Premise: one clinical fact with zero to two unrelated ones beside it; hypothesis about the first."""
    pt = Pt(age=rng.randint(19, 94), female=rng.random() < 0.5)
    if pt.female and 18 <= pt.age <= 44 and rng.random() < 0.15:
        kinds, target, others = [pregnancy, demographics], pregnancy(rng, pt), []
    else:
        while True:   # facts beside each other never disagree (Fact.asserts / Fact.denies)
            kinds = rng.sample(FACTS, 1 + rng.choice((0, 0, 1, 1, 2)))
            target, others = kinds[0](rng, pt), [make(rng, pt) for make in kinds[1:]]
            if _agree([target] + others):
                break
    parts = [target.premise] + [o.premise for o in others]
    rng.shuffle(parts)
    premise = " ".join(parts)
    label = rng.choice(LABELS)
    if label == "entailment":
        options = target.entails
    elif label == "contradiction":
        options = target.contradicts
    else:
        options = _borrowed(rng, pt, set(kinds), premise) if rng.random() < 0.5 else []
        if not options:
            generic = _guarded(GENERIC_NEUTRAL, premise)
            options = _guarded(target.neutral, premise) + rng.sample(generic, min(1, len(generic)))
    return {"premise": premise, "hypothesis": rng.choice(options), "label": label}
