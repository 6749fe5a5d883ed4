"""Deep prompts: the (layers, 2, kv_heads, L, head_dim) prefix in the attention cache, checked against
peft's PrefixTuning (the oracle for the forward pass), against the input-level prompt it is initialised
from, across padding sides, through a greedy decode, and for gradient flow into the prefix."""

from __future__ import annotations

import copy

import pytest
import torch

from clinical_mpt.deep_modeling import deep_answer_hidden_and_logits, deep_logits, deep_text_hidden
from clinical_mpt.modeling import prompted_embeds
from clinical_mpt.prompts import DeepPrompt, init_prompt
from clinical_mpt.prompts.deep_prompt import (
    from_peft_embedding,
    from_rows,
    init_prefix,
    kv_geometry,
    prefix_shape,
    prompt_states,
    to_peft_embedding,
    to_rows,
)

TEXT = "Extract the drug."


def _random_prefix(model, length: int, seed: int = 0) -> torch.Tensor:
    """A trained-looking prefix: the text init plus noise of its own scale (not the init itself)."""
    g = torch.Generator().manual_seed(seed)
    base = init_prefix(model, _tok(), TEXT, length)
    return base + base.std() * torch.randn(base.shape, generator=g)


def _tok():
    from clinical_mpt.backbone import tiny_tokenizer

    return tiny_tokenizer()


def _ids(*rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (B, T) ids and mask."""
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


def test_prefix_shape_follows_the_kv_heads(tiny_backbone):
    c = tiny_backbone.model.config
    assert kv_geometry(c) == (2, 2, 16)  # 2 layers, 2 kv heads (GQA: 4 query heads), head_dim 64 / 4
    assert prefix_shape(c, 5) == (2, 2, 2, 5, 16)
    assert init_prefix(tiny_backbone.model, tiny_backbone.tokenizer, TEXT, 5).shape == (2, 2, 2, 5, 16)


def test_rows_view_round_trips_and_puts_keys_before_values():
    prefix = torch.randn(3, 2, 2, 5, 4)                       # (layers, 2, kv, L, hd)
    rows = to_rows(prefix)
    assert rows.shape == (3, 5, 16)                           # D = 2 * 2 * 4
    assert torch.equal(from_rows(rows, 2), prefix)
    layer, pos = 1, 3
    assert torch.equal(rows[layer, pos, :8], prefix[layer, 0, :, pos].flatten())   # keys of both heads
    assert torch.equal(rows[layer, pos, 8:], prefix[layer, 1, :, pos].flatten())   # then values
    batched = torch.randn(4, 3, 2, 2, 5, 4)
    assert torch.equal(from_rows(to_rows(batched), 2), batched)


def test_peft_embedding_layout_round_trips():
    prefix = torch.randn(3, 2, 2, 5, 4)
    weight = to_peft_embedding(prefix)
    assert weight.shape == (5, 3 * 2 * 2 * 4)
    assert torch.equal(from_peft_embedding(weight, 3, 2), prefix)


def test_init_is_the_text_keys_and_values_and_matches_the_input_level_text_prompt(tiny_backbone):
    """At step 0 the deep prompt computes what the input-level prompt initialised from the same text does."""
    model, tok = tiny_backbone.model, tiny_backbone.tokenizer
    L = 7
    prefix = init_prefix(model, tok, TEXT, L)
    soft = init_prompt(model.get_input_embeddings().weight, L, "text", tok, TEXT)            # (L, d)
    ids, mask = _ids([40, 50, 60, 70], [80, 90, 100])
    with torch.no_grad():
        embeds, full_mask = prompted_embeds(model, soft.expand(2, -1, -1), ids, mask)
        shallow = model(inputs_embeds=embeds, attention_mask=full_mask).logits[:, L:]       # (B, T, V)
    deep = deep_logits(model, prefix.expand(2, *prefix.shape), ids, mask)
    real = mask.bool()
    assert torch.allclose(deep[real], shallow[real], atol=1e-5)
    bare = model(input_ids=ids, attention_mask=mask).logits
    assert not torch.allclose(deep[real], bare[real], atol=1e-3), "the prefix must change the logits"


def test_init_is_never_random(tiny_backbone):
    a = init_prefix(tiny_backbone.model, tiny_backbone.tokenizer, TEXT, 6)
    torch.manual_seed(123)
    b = init_prefix(tiny_backbone.model, tiny_backbone.tokenizer, TEXT, 6)
    assert torch.equal(a, b)
    assert a.dtype == torch.float32


def _peft_logits(model, prefix: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    from peft import PrefixTuningConfig, get_peft_model

    L = prefix.shape[3]
    peft_model = get_peft_model(copy.deepcopy(model), PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=L))
    embedding = peft_model.prompt_encoder["default"].embedding
    assert embedding.weight.shape == (L, prefix[0].numel() * prefix.shape[0] // L)
    with torch.no_grad():
        embedding.weight.copy_(to_peft_embedding(prefix))
        return peft_model(input_ids=ids, attention_mask=mask).logits


def test_prefix_matches_peft_prefix_tuning_with_the_same_weights(tiny_backbone):
    model = tiny_backbone.model
    prefix = _random_prefix(model, 6)
    ids, mask = _ids([11, 40, 50, 60, 70, 80], [12, 90, 100])           # right padding on row 2
    ours = deep_logits(model, prefix.expand(2, *prefix.shape), ids, mask)
    theirs = _peft_logits(model, prefix, ids, mask)
    real = mask.bool()
    assert torch.allclose(ours[real], theirs[real], atol=1e-5)
    other = _peft_logits(model, _random_prefix(model, 6, seed=1), ids, mask)
    assert not torch.allclose(ours[real], other[real], atol=1e-3), "peft must read the weights we copied"


def test_left_and_right_padding_give_the_same_text_logits(tiny_backbone):
    model = tiny_backbone.model
    prefixes = torch.stack([_random_prefix(model, 4, seed=s) for s in (0, 1)])  # a different prefix per row
    rows = [[40, 50, 60, 70, 80], [90, 100]]
    right_ids, right_mask = _ids(*rows)
    left_ids, left_mask = right_ids.clone(), right_mask.clone()
    left_ids[1], left_mask[1] = right_ids[1].roll(3), right_mask[1].roll(3)  # [pad pad pad 90 100]
    right = deep_logits(model, prefixes, right_ids, right_mask)
    left = deep_logits(model, prefixes, left_ids, left_mask)
    assert torch.allclose(right[right_mask.bool()], left[left_mask.bool()], atol=1e-5)
    alone = deep_logits(model, prefixes[1:], torch.tensor([rows[1]]), torch.ones(1, 2, dtype=torch.long))
    assert torch.allclose(alone[0], left[1, 3:], atol=1e-5)


@pytest.fixture(scope="module")
def talkative_model():
    """A tiny Llama whose greedy continuations vary (untied head, larger weights): the shared tiny model
    only repeats its last input token, which would make a decoding test pass trivially."""
    from transformers import LlamaForCausalLM

    from clinical_mpt.backbone import tiny_llama_config

    config = tiny_llama_config()
    config.tie_word_embeddings, config.initializer_range = False, 0.2
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return LlamaForCausalLM(config).eval().requires_grad_(False)


def _greedy(model, prefix: torch.Tensor, ids: list[int], steps: int) -> list[int]:
    """A reference greedy loop: the prefix in the cache, the text prefilled on top, one token per step."""
    from clinical_mpt.hf_compat import cache_kwarg, returned_cache
    from clinical_mpt.prompts.deep_prompt import prefix_cache, text_mask_and_positions

    weight = model.get_input_embeddings().weight
    text_mask = torch.ones(1, len(ids), dtype=torch.long)
    mask, positions = text_mask_and_positions(text_mask, prefix.shape[3])
    cache = prefix_cache(prefix[None], weight.dtype, weight.device)
    out = model(input_ids=torch.tensor([ids]), attention_mask=mask, position_ids=positions, use_cache=True,
                **{cache_kwarg(model): cache})
    generated = []
    for _ in range(steps):
        token = int(out.logits[0, -1].argmax())
        generated.append(token)
        mask = torch.cat([mask, mask.new_ones(1, 1)], dim=1)
        positions = positions[:, -1:] + 1
        out = model(input_ids=torch.tensor([[token]]), attention_mask=mask, position_ids=positions, use_cache=True,
                    **{cache_kwarg(model): returned_cache(out)})
    return generated


@torch.no_grad()
def test_greedy_decoding_with_the_prefix_in_the_cache_is_the_teacher_forced_argmax(talkative_model):
    model = talkative_model
    prefix = _random_prefix(model, 5, seed=2)
    ids = [40, 50, 60, 70]
    generated = _greedy(model, prefix, ids, steps=8)
    full = torch.tensor([ids + generated])
    forced = deep_logits(model, prefix[None], full, torch.ones_like(full))[0]            # (T, V)
    assert forced[len(ids) - 1:-1].argmax(-1).tolist() == generated, "token by token"
    assert len(set(generated)) > 2, "a decoding that only repeats a token would prove little"
    assert generated != _greedy(model, _random_prefix(model, 5, seed=3), ids, steps=8), "the prefix steers"


@torch.no_grad()
def test_prompt_states_serve_through_the_cached_prefill(talkative_model):
    """`prompt_states(prefix)` is what the one decoder takes as a row's cache prefix (no prompt prefill)."""
    from clinical_mpt.decoding import DecodeBatch, greedy_generate

    model = talkative_model
    prefixes = [_random_prefix(model, 5, seed=s) for s in (2, 4)]
    inputs = [[40, 50, 60, 70], [80, 90]]
    states = [prompt_states(p, torch.float32, "cpu") for p in prefixes]
    served = greedy_generate(model, DecodeBatch(inputs, [6, 6], prefixes=states), eos_id=-1, pad_id=0)
    assert served == [_greedy(model, p, x, steps=6) for p, x in zip(prefixes, inputs)]


def test_backward_reaches_the_prefix_and_nothing_else(tiny_backbone):
    model = tiny_backbone.model
    prompt = DeepPrompt(init_prefix(model, tiny_backbone.tokenizer, TEXT, 4))
    ids, mask = _ids([40, 50, 60, 70], [80, 90, 100])
    labels = ids.masked_fill(mask == 0, -100)
    _, logits, targets = deep_answer_hidden_and_logits(model, prompt, torch.zeros(2, dtype=torch.long),
                                                       {"input_ids": ids, "attention_mask": mask, "labels": labels})
    torch.nn.functional.cross_entropy(logits, targets).backward()
    assert prompt.weight.grad is not None and prompt.weight.grad.abs().sum() > 0
    assert prompt.weight.grad[:, 0].abs().sum() > 0 and prompt.weight.grad[:, 1].abs().sum() > 0  # keys and values
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())


def test_rows_share_one_prefix_per_task(tiny_backbone):
    """m distinct tasks for B rows: each row is computed behind its own task's prefix."""
    model = tiny_backbone.model
    prefixes = torch.stack([_random_prefix(model, 4, seed=s) for s in (0, 1)])
    ids, mask = _ids([40, 50, 60], [40, 50, 60], [40, 50, 60])
    hidden = deep_text_hidden(model, prefixes, torch.tensor([1, 0, 1]), ids, mask)
    assert torch.allclose(hidden[0], hidden[2]) and not torch.allclose(hidden[0], hidden[1])
    alone = deep_text_hidden(model, prefixes[:1], torch.tensor([0]), ids[:1], mask[:1])
    assert torch.allclose(alone[0], hidden[1], atol=1e-6)


def test_a_deep_prompt_refuses_a_wrong_shape():
    with pytest.raises(ValueError, match="layers, 2, kv_heads, L, head_dim"):
        DeepPrompt(torch.zeros(2, 5, 16))


@pytest.mark.parametrize("setting", [{"dtype": "bfloat16"}, {"dtype": "float32", "gradient_checkpointing": True}])
def test_fp32_prefix_gradients_on_a_bf16_or_checkpointed_backbone(tiny_backbone, setting):
    """The prefix stays fp32 (cast only into the cache); a checkpointed backbone gives the same gradient."""
    from clinical_mpt.backbone import load_backbone

    def grad(backbone):
        prompt = DeepPrompt(init_prefix(tiny_backbone.model, tiny_backbone.tokenizer, TEXT, 4))
        ids, mask = _ids([40, 50, 60, 70], [80, 90, 100])
        batch = {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}
        _, logits, targets = deep_answer_hidden_and_logits(backbone.model, prompt, torch.zeros(2, dtype=torch.long),
                                                           batch)
        torch.nn.functional.cross_entropy(logits.float(), targets).backward()
        return prompt.weight.grad

    reference, other = grad(tiny_backbone), grad(load_backbone("tiny-random-llama", **setting))
    assert other.dtype == torch.float32 and other.abs().sum() > 0
    tolerance = 0.05 * reference.abs().max() if setting["dtype"] == "bfloat16" else 1e-6
    assert (other - reference).abs().max() <= tolerance
