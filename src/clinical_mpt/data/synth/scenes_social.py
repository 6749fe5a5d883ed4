"""Target-only scenes: social determinants of health (n2c2-2022 style) and opioid use.

SDOH: a trigger (Tobacco, Alcohol, Drug, Employment, LivingStatus) with arguments (StatusTime,
StatusEmploy, TypeLiving, Amount, Frequency, Duration, Type); every argument in a sentence is related
to that sentence's trigger, the relation named after the argument type (head: trigger).
Opioids: an opioid with Dose, Route, Frequency, Indication and Misuse; relations `<Arg>-Opioid`.
"""

from __future__ import annotations

import random

from clinical_mpt.data.synth import vocab as V
from clinical_mpt.data.synth.compose import Doc, Slot, by_register, choose
from clinical_mpt.data.synth.styles import Style

SDOH_TRIGGERS = ("Tobacco", "Alcohol", "Drug", "Employment", "LivingStatus")
JOBS = "teacher|truck driver|nurse|mechanic|construction worker|cashier|accountant|farmer|cook|electrician"
HOMES = "alone|with spouse|with family|with daughter|with son|with roommates|with partner"

# trigger -> register -> templates. Status words and triggers are inline typed choices, so each
# template is a coherent phrase (no "denies ... 1 ppd"); {Amount}, {Frequency}, {Duration}, {Type}
# are optional arguments. Every typed entity of a sentence is an argument of its trigger.
SDOH_SENTENCE = {
    "Tobacco": {
        "short": ["<current|active:StatusTime> <smoker:Tobacco>[, {Amount}][ x {Duration}]",
                  "<former|prior|remote:StatusTime> <smoker|tobacco user:Tobacco>[, {Amount}][ x {Duration}]",
                  "<tobacco|tob|cigs:Tobacco>: <current|former:StatusTime>[, {Amount}][ x {Duration}]",
                  "<quit|stopped:StatusTime> <smoking|cigarettes|tobacco:Tobacco> {Ago} ago",
                  "<denies:StatusTime> <tobacco|smoking|tobacco use:Tobacco>", "<never:StatusTime> <smoker:Tobacco>",
                  "<smokes:Tobacco> {Amount}[ of {Type}]"],
        "prose": ["{Subj} is a <current|daily:StatusTime> <smoker:Tobacco>[ who smokes {Amount}][ and has smoked for {Duration}]",
                  "{Subj} is a <former:StatusTime> <smoker:Tobacco>[ who smoked {Amount}][ for {Duration}]",
                  "{Subj} <quit:StatusTime> <smoking|cigarettes:Tobacco> {Ago} ago",
                  "{Subj} <denies:StatusTime> <tobacco use|smoking:Tobacco>", "{Subj} has <never:StatusTime> <smoked:Tobacco>",
                  "{Subj} <smokes:Tobacco> {Amount}[ of {Type}][ and has done so for {Duration}]"],
    },
    "Alcohol": {
        "short": ["<EtOH|alcohol:Alcohol>: <social|occasional:StatusTime>[, {Amount}][ {Frequency}]",
                  "<drinks:Alcohol> {Amount} {Frequency}", "<denies:StatusTime> <EtOH|alcohol:Alcohol>",
                  "<former:StatusTime> <heavy drinker|EtOH abuse:Alcohol>[, sober x {Ago}]",
                  "<current:StatusTime> <EtOH use:Alcohol>[, {Amount}][ {Frequency}]"],
        "prose": ["{Subj} <drinks:Alcohol> {Amount} {Frequency}",
                  "{Subj} reports <social|occasional:StatusTime> <alcohol use|drinking:Alcohol>[, {Amount} {Frequency}]",
                  "{Subj} <denies:StatusTime> <alcohol use|drinking:Alcohol>",
                  "{Subj} <quit:StatusTime> <drinking:Alcohol> {Ago} ago"],
    },
    "Drug": {
        "short": ["<denies:StatusTime> <IVDU|illicit drugs|drug use:Drug>",
                  "<current:StatusTime> <drug use:Drug>[ ({Type})][ {Frequency}]",
                  "<remote|prior:StatusTime> <IVDU|drug use:Drug>[ ({Type})]", "<uses:Drug> {Type}[ {Frequency}]"],
        "prose": ["{Subj} <denies:StatusTime> <illicit drug use|recreational drug use:Drug>",
                  "{Subj} reports <occasional|current:StatusTime> {Type} <use:Drug>[ {Frequency}]",
                  "{Subj} has a <remote|past:StatusTime> history of <intravenous drug use:Drug>[ with {Type}]"],
    },
    "Employment": {
        "short": [f"<retired|former:StatusEmploy> <{JOBS}:Employment>",
                  f"<works|employed:StatusEmploy> as <{JOBS}:Employment>",
                  f"<unemployed:StatusEmploy>, previously <{JOBS}:Employment>",
                  "<Work|Occupation|Job:Employment>: <retired|disabled|unemployed|full time:StatusEmploy>"],
        "prose": [f"{{Subj}} is a <retired:StatusEmploy> <{JOBS}:Employment>",
                  f"{{Subj}} <works|is employed:StatusEmploy> as a <{JOBS}:Employment>",
                  f"{{Subj}} is <unemployed|on disability:StatusEmploy> and previously worked as a <{JOBS}:Employment>"],
    },
    "LivingStatus": {
        "short": [f"<lives|living:LivingStatus> <{HOMES}:TypeLiving>",
                  "<currently:StatusTime> <lives|living:LivingStatus> <in a shelter|in a nursing home|in a motel:TypeLiving>",
                  f"<Living situation|Home:LivingStatus>: <{HOMES}|homeless:TypeLiving>"],
        "prose": [f"{{Subj}} <lives:LivingStatus> <{HOMES}:TypeLiving>",
                  "{Subj} is <currently:StatusTime> <living|staying:LivingStatus> <in a shelter|with a friend:TypeLiving>",
                  "{Subj} <resides:LivingStatus> <in a nursing home|in assisted living:TypeLiving>"],
    },
}

SDOH_ARGS = {
    ("Tobacco", "Amount"): ("1 ppd", "half a pack per day", "2 packs per day", "10 cigarettes a day", "a pack a day"),
    ("Tobacco", "Type"): ("cigarettes", "cigars", "chewing tobacco", "menthols"),
    ("Tobacco", "Duration"): ("20 years", "10 yrs", "5 years", "30 years", "40 years", "15 years"),
    ("Alcohol", "Amount"): ("2-3 beers", "a glass of wine", "1 pint of vodka", "4-6 drinks", "a six-pack"),
    ("Alcohol", "Frequency"): ("daily", "on weekends", "nightly", "twice a week", "every day"),
    ("Drug", "Type"): ("marijuana", "cocaine", "heroin", "methamphetamine", "crack cocaine"),
    ("Drug", "Frequency"): ("daily", "weekly", "on weekends", "several times a week"),
}


def _sdoh_sentence(doc: Doc, rng: random.Random, trigger: str, subj: Slot) -> None:
    style = doc.style
    slots = {"Subj": subj, "Ago": Slot(rng.choice(("2 years", "5 yrs", "10 years", "6 months", "20 years")))}
    for (trig, arg), values in SDOH_ARGS.items():
        if trig == trigger and rng.random() < 0.7:
            slots[arg] = Slot(style.surface(rng, rng.choice(values)), arg)
    found = doc.sentence(choose(rng, by_register(style, SDOH_SENTENCE[trigger]), slots), slots)
    for name, ent in found.items():
        if name != trigger:
            doc.relate(ent["type"], found[trigger], ent)


def sdoh_scene(rng: random.Random, style: Style) -> Doc:
    """A social-history section of 2-4 clauses; relations trigger -> argument, named by argument type."""
    doc, p = Doc(style, rng), V.patient(rng)
    subj = Slot(style.pick(rng, (p.pronoun, "The patient"), ("Pt",)))
    doc.section("social")
    for trigger in rng.sample(SDOH_TRIGGERS, rng.randint(2, 4)):
        _sdoh_sentence(doc, rng, trigger, subj)
    doc.finish()
    return doc


OPIOIDS = (
    ("oxycodone", ("5", "10", "15", "30"), "mg", ("PO",), ("q4h PRN", "q6h PRN", "BID")),
    ("hydrocodone-acetaminophen", ("5/325", "10/325"), "mg", ("PO",), ("q6h PRN", "q4h PRN")),
    ("morphine ER", ("15", "30", "60"), "mg", ("PO",), ("BID", "q12h")),
    ("hydromorphone", ("0.5", "1", "2"), "mg", ("IV", "PO"), ("q4h PRN", "q6h PRN")),
    ("fentanyl patch", ("25", "50", "75"), "mcg/hr", ("TD",), ("q72h",)),
    ("tramadol", ("50", "100"), "mg", ("PO",), ("q6h PRN", "TID")),
    ("methadone", ("10", "40", "80"), "mg", ("PO",), ("daily",)),
    ("buprenorphine-naloxone", ("8/2", "4/1", "16/4"), "mg", ("SL",), ("daily", "BID")),
    ("codeine", ("30", "60"), "mg", ("PO",), ("q6h PRN",)),
    ("heroin", (), "", ("IV", "intranasal", "smoked"), ()),
)
OPIOID_ROUTES = {"PO": (("by mouth",), ("PO", "po")), "IV": (("intravenously",), ("IV",)),
                 "TD": (("transdermal",), ("TD", "topical")), "SL": (("sublingual",), ("SL",)),
                 "intranasal": (("intranasal", "snorted"), ("IN", "insufflated")), "smoked": (("smoked",), ("smoked",))}
OPIOID_FREQS = {"q72h": (("every 72 hours",), ("q72h",)), **V.FREQS}
INDICATIONS = ("chronic low back pain", "post-operative pain", "cancer pain", "sickle cell crisis",
               "knee osteoarthritis", "opioid use disorder", "neuropathic pain", "rib fractures")
MISUSE = ("early refill requests", "taking more than prescribed", "crushing and snorting tablets",
          "obtaining pills from multiple prescribers", "lost prescriptions", "running out early",
          "UDS negative for the prescribed opioid", "buying pills on the street")

# every argument in a sentence relates to {Opioid}; prescribed opioids and illicit use differ in wording
OPIOID_SENTENCE = {
    "short": ["{Opioid}[ {Dose}][ {Route}][ {Frequency}][ for {Indication}]",
              "on chronic {Opioid}[ {Dose}][ {Frequency}] for {Indication}[, c/f {Misuse}]",
              "{Misuse} w/ {Opioid}", "c/f misuse of {Opioid}: {Misuse}",
              "{Opioid}[ {Dose}][ {Route}] started for {Indication}"],
    "prose": ["{Subj} takes {Opioid}[ {Dose}][ {Route}][ {Frequency}][ for {Indication}]",
              "{Subj} has been on chronic {Opioid} for {Indication}[ with concern for {Misuse}]",
              "There is a history of {Misuse} with {Opioid}",
              "{Subj} was started on {Opioid}[ {Dose}][ {Route}][ {Frequency}] for {Indication}"],
    "fields": ["{Opioid}[ | {Dose}][ | {Route}][ | {Frequency}][ | {Indication}]",
               "{Opioid}[ | {Dose}] | indication: {Indication}[ | flag: {Misuse}]",
               "{Opioid}[ | {Route}] | {Misuse}", "PDMP flag: {Misuse} ({Opioid})"],
}
ILLICIT_SENTENCE = {
    "short": ["endorses {Route} {Opioid} use[ {Frequency}]", "{Opioid} use, {Route}[, {Frequency}]", "+{Opioid} ({Route})"],
    "prose": ["{Subj} endorses {Route} {Opioid} use[ {Frequency}]", "{Subj} reports using {Opioid} {Route}[ {Frequency}]"],
    "fields": ["{Opioid} | {Route}[ | {Frequency}]", "illicit: {Opioid} | {Route}"],
}
ILLICIT_FREQS = ("daily", "several times a day", "on weekends", "every few days")
OPIOID_ARGS = ("Dose", "Route", "Frequency", "Indication", "Misuse")


def _opioid_sentence(doc: Doc, rng: random.Random, subj: Slot) -> None:
    style = doc.style
    name, doses, unit, routes, freqs = rng.choice(OPIOIDS)
    slots = {"Subj": subj, "Opioid": Slot(V.term(style, rng, name), "Opioid")}
    if name == "heroin":
        slots["Route"] = Slot(style.pick(rng, *OPIOID_ROUTES[rng.choice(routes)]), "Route")
        if rng.random() < 0.5:
            slots["Frequency"] = Slot(rng.choice(ILLICIT_FREQS), "Frequency")
        found = doc.sentence(choose(rng, by_register(style, ILLICIT_SENTENCE), slots), slots)
        for arg in ("Route", "Frequency"):
            if arg in found:
                doc.relate(f"{arg}-Opioid", found[arg], found["Opioid"])
        return
    if doses and rng.random() < 0.75:
        slots["Dose"] = Slot(style.amount(rng, rng.choice(doses), unit), "Dose")
    if rng.random() < 0.6:
        slots["Route"] = Slot(style.pick(rng, *OPIOID_ROUTES[rng.choice(routes)]), "Route")
    if freqs and rng.random() < 0.6:
        slots["Frequency"] = Slot(style.pick(rng, *OPIOID_FREQS[rng.choice(freqs)]), "Frequency")
    if rng.random() < 0.6:
        indication = "opioid use disorder" if name.startswith(("methadone", "buprenorphine")) else \
            rng.choice(INDICATIONS[:5] + INDICATIONS[6:])
        slots["Indication"] = Slot(style.surface(rng, indication), "Indication")
    if name not in ("methadone", "buprenorphine-naloxone") and rng.random() < 0.4:
        slots["Misuse"] = Slot(style.surface(rng, rng.choice(MISUSE)), "Misuse")
    found = doc.sentence(choose(rng, by_register(style, OPIOID_SENTENCE), slots), slots)
    for arg in OPIOID_ARGS:
        if arg in found:
            doc.relate(f"{arg}-Opioid", found[arg], found["Opioid"])


def opioid_scene(rng: random.Random, style: Style) -> Doc:
    """1-3 sentences on opioid prescriptions or use; relations `<Arg>-Opioid` (head: argument)."""
    doc, p = Doc(style, rng), V.patient(rng)
    subj = Slot(V.subject(style, rng, p))
    header = rng.choice(("opioids", "meds", "social", "assessment"))
    for i in range(rng.randint(1, 3)):
        if i == 0 or style.layout == "templated":   # a flowsheet gives each prescription its own row
            doc.section(header)
        _opioid_sentence(doc, rng, subj)
    doc.finish()
    return doc
