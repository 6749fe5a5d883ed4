"""Helpers for the web console tests: a hand-made tiny library covering all six task types, an engine
whose answers are predictable, a live server on a free port, and a headless Chromium (via playwright).

The tiny random backbone answers ':' to everything, so a console test could never see an entity.
`LexiconEngine` is the real Engine (real batching, real per-type parsing into entities, relations,
labels...) whose `generate` answers like a perfectly trained prompt would for a small drug / dose /
problem lexicon: the page then has real structured predictions to render.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import torch

from clinical_mpt.serve.engine import Engine
from clinical_mpt.serve.server import ServerConfig, create_app
from live_server import LiveServer

DRUGS = ["metformin", "heparin", "aspirin", "lisinopril", "atorvastatin", "amoxicillin", "warfarin", "insulin"]
DOSES = ["500 mg", "5000 units", "81 mg", "10 mg", "40 mg", "875 mg", "5 mg"]
PROBLEMS = ["type 2 diabetes", "pneumonia", "hypertension", "DVT", "diabetes", "COPD exacerbation"]
RUN_COMMAND = "clinical-mpt run configs/tiny.yaml --out runs/tiny"
# name -> (type, method, metrics by split)
TASKS = {
    "med_ner": ("ner", "mpt", {"dev": {"f1": 0.8125, "precision": 0.8, "recall": 0.825, "n": 4},
                               "test": {"f1": 0.75, "precision": 0.7, "recall": 0.8, "n": 6}}),
    "drug_re": ("re", "pt", {"test": {"f1": 0.5, "n": 6}}),
    "problem_nli": ("nli", "teacher", {"dev": {"macro_f1": 0.6, "accuracy": 0.7, "n": 4}}),
    "dose_qa": ("qa", "mpt", {"test": {"f1": 0.9, "exact_match": 0.8333, "n": 6}}),
    "drug_mcqa": ("mcqa", "mpt", {"test": {"accuracy": 1.0, "n": 6}}),
    "note_summary": ("summarization", "pt", {}),
}
PROMPT_LENGTH = 4


def build_console_library(root: Path, backbone) -> Path:
    """A real library (manifest, checksums, fingerprint) with one random prompt per task of TASKS."""
    from clinical_mpt.library import Entry, Library, entry_config

    fingerprint = backbone.fingerprint.to_dict()
    lib = Library.create(root, "tiny-random-llama", fingerprint)
    gen = torch.Generator().manual_seed(0)
    for name, (type_, method, metrics) in TASKS.items():
        prompt = torch.randn(PROMPT_LENGTH, backbone.hidden_size, generator=gen)
        rank = 1 if method == "mpt" else None
        params = PROMPT_LENGTH + backbone.hidden_size if method == "mpt" else prompt.numel()
        config = entry_config(name, type_, None, prompt, method, params, fingerprint, rank=rank,
                              metrics=metrics, command=RUN_COMMAND if metrics else None)
        lib.add(Entry(config, prompt))
    return root


def first(text: str, words: list[str]) -> list[str]:
    """The lexicon words found in `text`, in text order, longest match first at each place."""
    found = []
    for word in sorted(words, key=len, reverse=True):
        m = re.search(re.escape(word), text)
        if m and not any(s <= m.start() < e for s, e, _ in found):
            found.append((m.start(), m.end(), word))
    return [w for _, _, w in sorted(found)]


def lexicon_answer(type_: str, prompt_text: str) -> str:
    """What a well-trained prompt would generate for the formatted input `prompt_text`."""
    fields = dict(line.split(": ", 1) for line in prompt_text.split("\n") if ": " in line)
    text = fields.get("Text", "")
    if type_ == "ner":
        spans = [(w, "Drug") for w in first(text, DRUGS)] + [(w, "Strength") for w in first(text, DOSES)]
        spans += [(w, "Problem") for w in first(text, PROBLEMS)]
        spans.sort(key=lambda s: text.index(s[0]))
        return "; ".join(f"{t}: {w}" for w, t in spans) or "none"
    if type_ == "re":
        pairs = zip(first(text, DOSES), first(text, DRUGS))
        return "; ".join(f"Strength-Drug: {dose} -> {drug}" for dose, drug in pairs) or "none"
    if type_ == "nli":
        negated = re.search(r"\bno\b", fields.get("Premise", "") + fields.get("Hypothesis", ""), re.IGNORECASE)
        return "contradiction" if negated else "entailment"
    if type_ == "qa":
        return (first(fields.get("Context", ""), DOSES) or ["unknown"])[0]
    if type_ == "mcqa":
        options = re.findall(r"^([A-Z])\. (.+)$", prompt_text, re.MULTILINE)
        question = fields.get("Question", "") + fields.get("Context", "")
        return next((key for key, option in options if option in question), options[-1][0])
    return text.split(". ")[0].rstrip(".") + "."  # summarization: the lead sentence


class LexiconEngine(Engine):
    def generate(self, tasks: list[str], inputs: list[list[int]]) -> list[list[int]]:
        tok = self.backbone.tokenizer
        answers = [lexicon_answer(self.tasks[t].type, tok.decode(ids)) for t, ids in zip(tasks, inputs)]
        return [tok(" " + a, add_special_tokens=False).input_ids for a in answers]


def live(engine, library, api_key=None):
    cfg = ServerConfig(library=str(library) if library else None, api_key=api_key, max_wait_ms=5,
                       max_input_chars=2000)
    return LiveServer(create_app(engine, cfg))


# ---- the browser --------------------------------------------------------------------------------
def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if shutil.which("chromium") is None:
        return "no `chromium` on PATH (Debian: apt-get install chromium); .ci/run installs it"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no `playwright install` needed)"
    return None


def screenshot(pg, name: str) -> None:
    """Save docs-style screenshots when CLINICAL_MPT_SCREENSHOTS names a folder (e.g. docs/img)."""
    folder = os.environ.get("CLINICAL_MPT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(Path(folder) / f"console-{name}.png"), full_page=True)
