"""Radiology report knowledge: for each anatomic structure, its possible states, each with finding
sentences, the impression it contributes (None when normal), and statements it entails or
contradicts. Used by radiology summarization (findings -> impression) and RadNLI-style inference.

Placeholders in the texts: {side}/{Side}, {sev}/{Sev}, {nth}, {n}, {mm}.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class State:
    findings: tuple[str, ...]     # ways to report this state
    impression: str | None        # what it adds to the impression (None: normal, not mentioned)
    entails: tuple[str, ...]      # statements true given this state
    contradicts: tuple[str, ...]  # statements false given this state


def _st(findings, impression, entails, contradicts) -> State:
    return State(tuple(findings), impression, tuple(entails), tuple(contradicts))


CHEST = {
    "lungs": (
        _st(["The lungs are clear", "No focal consolidation", "Lungs are clear bilaterally"], None,
            ["There is no consolidation", "No focal airspace opacity is seen"],
            ["There is a focal consolidation", "There is pneumonia in the {side} lower lobe"]),
        _st(["There is consolidation in the {side} lower lobe", "Focal airspace opacity in the {side} lower lobe"],
            "{Side} lower lobe consolidation, concerning for pneumonia",
            ["There is an opacity in the {side} lung", "There is {side} lower lobe consolidation"],
            ["The lungs are clear", "There is no airspace disease"]),
        _st(["Diffuse bilateral interstitial opacities with pulmonary vascular congestion"],
            "Findings consistent with pulmonary edema",
            ["There is pulmonary vascular congestion", "Bilateral interstitial opacities are present"],
            ["The lungs are clear", "There is no pulmonary edema"]),
    ),
    "pleura": (
        _st(["No pleural effusion", "There is no pleural effusion"], None,
            ["There is no pleural effusion", "No fluid is seen in the pleural spaces"],
            ["There is a {side} pleural effusion", "A large pleural effusion is present"]),
        _st(["{Sev} {side} pleural effusion", "There is a {sev} {side} pleural effusion"], "{Sev} {side} pleural effusion",
            ["There is a {side} pleural effusion", "Fluid is present in the {side} pleural space"],
            ["There is no pleural effusion", "The pleural spaces are clear"]),
    ),
    "pneumothorax": (
        _st(["No pneumothorax", "There is no pneumothorax"], None,
            ["There is no pneumothorax", "No pneumothorax is seen"], ["There is a {side} pneumothorax"]),
        _st(["{Sev} {side} apical pneumothorax", "There is a {sev} {side} pneumothorax"], "{Sev} {side} pneumothorax",
            ["There is a {side} pneumothorax", "A pneumothorax is present"], ["There is no pneumothorax"]),
    ),
    "heart": (
        _st(["Heart size is normal", "The cardiomediastinal silhouette is within normal limits"], None,
            ["The heart is not enlarged", "Heart size is normal"], ["There is cardiomegaly", "The heart is enlarged"]),
        _st(["The heart is enlarged", "Moderate cardiomegaly"], "Cardiomegaly",
            ["The cardiac silhouette is enlarged", "There is cardiomegaly"],
            ["Heart size is normal", "The heart is not enlarged"]),
    ),
    "bones": (
        _st(["No acute osseous abnormality", "The osseous structures are intact"], None,
            ["There is no acute fracture"], ["There is an acute rib fracture"]),
        _st(["Acute fracture of the {side} {nth} rib", "Nondisplaced fracture of the {side} {nth} rib"],
            "Acute {side} {nth} rib fracture", ["There is a {side} rib fracture", "A rib is fractured"],
            ["There is no fracture", "The osseous structures are intact"]),
    ),
    "devices": (
        _st(["Endotracheal tube terminates {n} cm above the carina"], "Endotracheal tube in appropriate position",
            ["An endotracheal tube is in place", "The patient is intubated"],
            ["There are no support devices", "The patient is not intubated"]),
        _st(["Right internal jugular central venous catheter terminates in the SVC"], "Right IJ central line in the SVC",
            ["A central venous catheter is present"], ["There are no lines or tubes"]),
    ),
}

ABDOMEN = {
    "liver": (
        _st(["The liver is normal in size and attenuation"], None, ["The liver is normal"], ["There is hepatic steatosis"]),
        _st(["Diffuse low attenuation of the liver"], "Hepatic steatosis", ["There is fatty liver"], ["The liver is normal"]),
    ),
    "gallbladder": (
        _st(["The gallbladder is unremarkable"], None, ["There are no gallstones"], ["There is cholecystitis"]),
        _st(["Multiple gallstones without gallbladder wall thickening"], "Cholelithiasis without evidence of cholecystitis",
            ["There are gallstones"], ["The gallbladder is unremarkable"]),
        _st(["Gallbladder wall thickening with pericholecystic fluid and gallstones"], "Findings consistent with acute cholecystitis",
            ["The gallbladder is inflamed"], ["The gallbladder is unremarkable"]),
    ),
    "appendix": (
        _st(["The appendix is normal"], None, ["There is no appendicitis"], ["There is appendicitis"]),
        _st(["Dilated appendix measuring {mm} mm with periappendiceal fat stranding"], "Acute appendicitis",
            ["The appendix is inflamed"], ["The appendix is normal"]),
    ),
    "kidneys": (
        _st(["No hydronephrosis or renal calculi"], None, ["There is no hydronephrosis"], ["There is a kidney stone"]),
        _st(["Moderate {side} hydronephrosis with a {mm} mm obstructing proximal ureteral stone"],
            "Obstructing {mm} mm {side} ureteral stone with moderate hydronephrosis",
            ["There is a {side} ureteral stone"], ["There is no hydronephrosis"]),
    ),
    "bowel": (
        _st(["No bowel obstruction", "Normal caliber small and large bowel"], None,
            ["There is no bowel obstruction"], ["There is a small bowel obstruction"]),
        _st(["Dilated small bowel loops with a transition point in the right lower quadrant"], "Small bowel obstruction",
            ["The small bowel is dilated"], ["There is no bowel obstruction"]),
    ),
}

NORMAL_IMPRESSION = {"chest": ("No acute cardiopulmonary process.", "No acute cardiopulmonary abnormality."),
                     "abdomen": ("No acute abdominal or pelvic process.", "No acute findings in the abdomen or pelvis.")}


def params(rng: random.Random) -> dict[str, str]:
    """Random values for the placeholders of one report (fixed across its sentences)."""
    side, sev = rng.choice(("right", "left")), rng.choice(("small", "moderate", "large"))
    return {"side": side, "Side": side.capitalize(), "sev": sev, "Sev": sev.capitalize(),
            "nth": rng.choice(("4th", "5th", "6th", "7th", "8th")), "n": str(rng.randint(3, 6)), "mm": str(rng.randint(4, 14))}


def pick_states(rng: random.Random, atlas: dict, n: int, p_abnormal: float) -> list[tuple[str, State]]:
    """n structures (atlas order) with a state each: abnormal with probability p_abnormal."""
    chosen = [k for k in atlas if k != "devices"]
    chosen = sorted(rng.sample(chosen, min(n, len(chosen))), key=list(atlas).index)
    if "devices" in atlas and rng.random() < 0.25:
        chosen.append("devices")
    out = []
    for key in chosen:
        states = atlas[key]
        if key == "devices":
            out.append((key, rng.choice(states)))
        else:
            out.append((key, rng.choice(states[1:]) if rng.random() < p_abnormal else states[0]))
    return out
