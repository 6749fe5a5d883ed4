"""Deep tasks in the engine: a prefix goes straight into the batch cache (no prompt prefill), mixed
batches of deep and input-level tasks give what each task alone gives, with the prompt cache on or off,
and a prefix that does not fit the backbone is refused."""

from __future__ import annotations

import pytest
import torch
from test_engine import random_prompts, requests_for

from clinical_mpt.decoding import DecodeBatch, greedy_generate
from clinical_mpt.errors import ClinicalMPTError
from clinical_mpt.prompts.deep_prompt import init_prefix, prompt_states
from clinical_mpt.serve import prompt_cache
from clinical_mpt.serve.engine import Engine, EngineConfig, TaskPrompt

TEXTS = ["Extract every drug and dose.", "Answer with the dose only.", "Is the statement true?"]


def deep_prompts(backbone, length: int = 8) -> list[TaskPrompt]:
    """Three deep tasks whose prefixes are the keys and values of different texts (as `prefix` starts)."""
    types = ["ner", "qa", "nli"]
    return [TaskPrompt(f"deep{i}_{t}", t, None, init_prefix(backbone.model, backbone.tokenizer, text, length),
                       method="prefix") for i, (t, text) in enumerate(zip(types, TEXTS))]


def test_a_deep_task_needs_no_prompt_prefill(lively_backbone, monkeypatch):
    tasks = deep_prompts(lively_backbone)
    calls = []
    real = prompt_cache.compute_prompt_states
    monkeypatch.setattr(prompt_cache, "compute_prompt_states", lambda m, p: calls.append(1) or real(m, p))
    engine = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=16, max_new_tokens=12))
    out = engine.predict(requests_for(tasks, per_task=2))
    assert calls == [] and len(engine.cache) == 3 and engine.cache.misses == 3        # states cached, never run
    assert len({r["generation"] for r in out}) > 2                                     # the prefixes matter
    info = {t["name"]: t for t in engine.task_info()}
    assert info["deep1_qa"]["depth"] == "deep" and info["deep1_qa"]["prompt_length"] == 8


def test_the_engine_decodes_a_deep_task_as_the_one_decoder_does(lively_backbone):
    task = deep_prompts(lively_backbone)[1]
    engine = Engine(lively_backbone, [task], EngineConfig(max_new_tokens=10))
    inputs = [[40, 50, 60, 70], [41, 51]]
    tok, model = lively_backbone.tokenizer, lively_backbone.model
    states = prompt_states(task.prompt, torch.float32, "cpu")
    batch = DecodeBatch(inputs, [10, 10], prefixes=[states, states])
    plain = greedy_generate(model, batch, tok.eos_token_id, tok.pad_token_id)
    with_stops = engine.generate([task.name] * 2, inputs)
    assert all(p[:len(g)] == g for p, g in zip(plain, with_stops))   # the engine also stops at an answer's end


@pytest.mark.parametrize("cache", [True, False])
def test_mixed_deep_and_input_level_batches_equal_each_task_alone(lively_backbone, cache):
    tasks = deep_prompts(lively_backbone) + random_prompts(lengths=(8, 8, 4))[:3]
    reqs = requests_for(tasks, per_task=2)
    engine = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=32, max_new_tokens=12, prompt_cache=cache))
    mixed = engine.predict(reqs)
    alone = {r["id"]: r for t in tasks for r in engine.predict([q for q in reqs if q.task == t.name])}
    assert mixed == [alone[q.id] for q in reqs]
    deep = {t.name for t in tasks if t.deep}
    batches = engine.batches([q.task for q in reqs], [1] * len(reqs))
    kinds = [{reqs[i].task in deep for i in b} for b in batches]
    if cache:   # every row is a prefix: deep and input-level tasks of one length share a batch
        assert len(batches) == 2 and {True, False} in kinds
    else:       # deep rows are prefixes, input-level rows go through inputs_embeds: separate batches
        assert len(batches) == 3 and all(len(k) == 1 for k in kinds)


def test_cached_and_uncached_engines_agree_on_deep_tasks(lively_backbone):
    tasks = deep_prompts(lively_backbone) + random_prompts()[:2]
    reqs = requests_for(tasks, per_task=2, seed=3)
    on = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=8, max_new_tokens=12)).predict(reqs)
    off = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=8, max_new_tokens=12, prompt_cache=False)).predict(reqs)
    assert on == off


def test_a_prefix_that_does_not_fit_the_backbone_is_refused(lively_backbone):
    good = deep_prompts(lively_backbone)[0]
    wrong = TaskPrompt("wrong", "ner", None, torch.zeros(3, 2, 2, 8, 16))          # 3 layers, the model has 2
    with pytest.raises(ClinicalMPTError, match=r"task wrong: prefix shape \(3, 2, 2, 8, 16\) does not fit"):
        Engine(lively_backbone, [good, wrong])


def test_deep_rows_past_a_sliding_window_decode_with_rows_of_their_own_length():
    """gpt-oss (window 4): left pads between a deep prefix and a shorter row's text would count towards
    the window, so an inexact batch decodes its deep rows grouped by input length (no pads)."""
    from transformers import GptOssConfig, GptOssForCausalLM

    from clinical_mpt.backbone import Backbone, tiny_tokenizer

    config = GptOssConfig(vocab_size=259, hidden_size=32, intermediate_size=32, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=8, num_local_experts=4,
                          num_experts_per_tok=2, sliding_window=4, layer_types=["sliding_attention", "full_attention"],
                          max_position_embeddings=256, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    config._attn_implementation = "eager"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = GptOssForCausalLM(config).eval().requires_grad_(False)
        prefix = torch.randn(2, 2, 2, 3, 8)                                 # (layers, 2, kv, L = 3, hd)
    engine = Engine(Backbone("tiny-gpt-oss", model, tiny_tokenizer(), None),
                    [TaskPrompt("d", "qa", None, prefix, "prefix"), TaskPrompt("p", "qa", None, torch.zeros(3, 32))],
                    EngineConfig(max_new_tokens=6))
    short, long = [5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15, 16]
    assert engine.layouts(["d", "d", "p"], [short, long, long]) == ["prefix n=3", "prefix n=9", "embeds"]
    assert engine.layouts(["d", "p"], [short, [8, 9, 10]]) == ["prefix", "prefix"]   # equal lengths: exact
    batched = engine.generate(["d", "d", "d"], [short, long, short])
    assert batched == [engine.generate(["d"], [x])[0] for x in (short, long, short)]
