"""Shared fixtures: a tiny hand-made task suite, tiny random backbones and `sharp_model`, a tiny Llama
whose outputs react strongly to its inputs (no downloads).

Every hypothesis test replays a derandomized set of examples (the "replay" profile), so a run cannot
fail on a case drawn for the first time; CLINICAL_MPT_FUZZ_EXAMPLES=N switches to random draws
("campaign", see tests/fuzz_bytes.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from hypothesis import settings

settings.register_profile("replay", derandomize=True)
settings.register_profile("campaign", derandomize=False)
settings.load_profile("campaign" if os.environ.get("CLINICAL_MPT_FUZZ_EXAMPLES") else "replay")

DRUGS = ["metformin", "lisinopril", "aspirin", "heparin", "insulin", "warfarin", "atorvastatin", "amoxicillin"]
DOSES = ["500 mg", "10 mg", "81 mg", "5000 units", "20 units", "5 mg", "40 mg", "875 mg"]
PROBLEMS = ["chest pain", "pneumonia", "diabetes", "hypertension", "cough", "fever"]


def _ner(i: int, drug: str, dose: str) -> dict:
    text = f"Pt started on {drug} {dose} PO daily."
    s = text.index(drug)
    d = text.index(dose)
    return {"id": f"ner-{i}", "type": "ner", "text": text,
            "entities": [{"type": "Drug", "start": s, "end": s + len(drug), "text": drug},
                         {"type": "Strength", "start": d, "end": d + len(dose), "text": dose}]}


def _nli(i: int, problem: str) -> dict:
    label = ["entailment", "contradiction", "neutral"][i % 3]
    hyp = {"entailment": f"The patient has {problem}.", "contradiction": f"The patient has no {problem}.",
           "neutral": "The patient is a smoker."}[label]
    return {"id": f"nli-{i}", "type": "nli", "premise": f"Admitted with {problem}.", "hypothesis": hyp, "label": label}


def _mcqa(i: int, drug: str) -> dict:
    others = [d for d in DRUGS if d != drug][:3]
    options = dict(zip("ABCD", sorted(others + [drug])))
    answer = next(k for k, v in options.items() if v == drug)
    return {"id": f"mcqa-{i}", "type": "mcqa", "question": f"Which drug was started in: 'Pt started on {drug}'?",
            "options": options, "answer": answer}


def _qa(i: int, drug: str, dose: str) -> dict:
    return {"id": f"qa-{i}", "type": "qa", "context": f"Pt started on {drug} {dose} PO daily.",
            "question": f"What dose of {drug}?", "answers": [dose]}


def write_mini_suite(folder: Path) -> Path:
    """2 source tasks (ner, nli) and 2 target tasks (qa, mcqa), 16 train / 4 dev / 6 test each."""
    makers = {
        "med_ner": ("ner", "source", lambda i: _ner(i, DRUGS[i % 8], DOSES[(i * 3) % 8])),
        "problem_nli": ("nli", "source", lambda i: _nli(i, PROBLEMS[i % 6])),
        "dose_qa": ("qa", "target", lambda i: _qa(i, DRUGS[i % 8], DOSES[(i * 5) % 8])),
        "drug_mcqa": ("mcqa", "target", lambda i: _mcqa(i, DRUGS[i % 8])),
    }
    tasks = []
    for name, (type_, role, make) in makers.items():
        sizes = {"train": 16, "dev": 4, "test": 6}
        offset = 0
        for split, n in sizes.items():
            rows = [dict(make(offset + i), task=name, id=f"{name}-{split}-{i}") for i in range(n)]
            offset += n
            path = folder / role / name / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        tasks.append({"name": name, "type": type_, "role": role, "style": "test", "instruction": None,
                      "labels": [], "sizes": sizes})
    (folder / "suite.json").write_text(json.dumps({"name": "mini", "version": 1, "tasks": tasks}))
    return folder


@pytest.fixture(scope="session")
def mini_suite(tmp_path_factory) -> Path:
    return write_mini_suite(tmp_path_factory.mktemp("mini_suite"))


@pytest.fixture(scope="session")
def tiny_backbone():
    from clinical_mpt.backbone import load_backbone

    return load_backbone("tiny-random-llama", "float32")


@pytest.fixture(scope="module")
def sharp_model():
    """A tiny Llama with large weights, so outputs depend on every input and prompts can move them a lot
    (the near-uniform tiny-random-llama barely reacts): a padding or position bug changes the generated ids."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=259, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, pad_token_id=0, bos_token_id=1,
                         eos_token_id=2, tie_word_embeddings=True, initializer_range=0.3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
    return model.requires_grad_(False).eval()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def deep_run(mini_suite, tiny_backbone, tmp_path_factory) -> Path:
    """A tiny run folder with `prefix` and `deep-mpt` target prompts (tests/deep_run.py)."""
    from deep_run import build_deep_run

    return build_deep_run(mini_suite, tmp_path_factory.getbasetemp() / "deep_run", tiny_backbone)
