"""Sliding-window layers and the deep prefix: the prefix is not pinned, the model's window applies to it.
Checked on a tiny gpt-oss (the paper backbone's architecture, attention sinks included) position by
position, and stated for what configs/paper/gptoss-20b.yaml gets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from clinical_mpt.deep_modeling import deep_logits
from clinical_mpt.prompts.deep_prompt import prefix_cache, prefix_positions_seen

ROOT = Path(__file__).resolve().parents[2]
W, L, T = 4, 3, 10


def _tiny_gpt_oss(layer_types: list[str]):
    from transformers import GptOssConfig, GptOssForCausalLM

    config = GptOssConfig(vocab_size=64, hidden_size=32, intermediate_size=32, num_hidden_layers=len(layer_types),
                          num_attention_heads=4, num_key_value_heads=2, head_dim=8, num_local_experts=4,
                          num_experts_per_tok=2, sliding_window=W, layer_types=layer_types,
                          max_position_embeddings=256, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    config._attn_implementation = "eager"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return GptOssForCausalLM(config).eval().requires_grad_(False)


def _changed_positions(model, layers: int, j: int) -> list[int]:
    """Cache positions of the text whose logits move when only prefix position j changes."""
    g = torch.Generator().manual_seed(0)
    prefix = torch.randn(1, layers, 2, 2, L, 8, generator=g)
    ids = torch.randint(0, 64, (1, T), generator=g)
    mask = torch.ones_like(ids)
    moved = prefix.clone()
    moved[..., j, :] += 1.0
    a, b = deep_logits(model, prefix, ids, mask)[0], deep_logits(model, moved, ids, mask)[0]
    return [L + t for t in range(T) if (a[t] - b[t]).abs().max() > 1e-6]


@pytest.mark.parametrize("j", range(L))
def test_a_sliding_layer_sees_prefix_position_j_while_it_is_in_the_window(j):
    model = _tiny_gpt_oss(["sliding_attention"])
    expected = [p for p in range(L, L + T) if j >= L - prefix_positions_seen(["sliding_attention"], W, L, p)[0]]
    assert _changed_positions(model, 1, j) == expected
    assert expected == [p for p in range(L, L + T) if p - j < W]     # the window, stated directly
    assert expected[-1] < L + T - 1, "some text positions must lie beyond the window"


def test_a_full_attention_layer_keeps_the_prefix_in_view():
    model = _tiny_gpt_oss(["sliding_attention", "full_attention"])
    assert _changed_positions(model, 2, 0) == list(range(L, L + T))


def test_the_cache_keeps_the_whole_prefix_even_when_it_is_longer_than_the_window():
    length = 2 * W
    cache = prefix_cache(torch.randn(2, 2, 2, 2, length, 8), torch.float32, "cpu")
    assert all(layer.keys.shape[-2] == length for layer in cache.layers)


def test_the_paper_gpt_oss_config_gets_a_windowed_prefix():
    """configs/paper/gptoss-20b.yaml: L = 100 on gpt-oss-20b (12 sliding layers of window 128, 12 full).
    The first text token sees the whole prefix everywhere; from cache position W + L - 1 on the sliding
    layers see none of it and only the 12 full-attention layers carry the prompt."""
    from clinical_mpt.backbone_shapes import BUILTIN_CONFIGS, resolve_backbone
    from clinical_mpt.config import load_config

    cfg = load_config(ROOT / "configs/paper/gptoss-20b.yaml")
    hf = BUILTIN_CONFIGS[resolve_backbone(cfg.backbone.shape).name]
    types, window, length = hf["layer_types"], hf["sliding_window"], cfg.prompt.length
    assert (window, length, len(types)) == (128, 100, 24)
    assert prefix_positions_seen(types, window, length, length) == [100] * 24
    last = length + cfg.data.max_input_tokens + cfg.data.max_target_tokens - 1   # the last answer token
    seen = prefix_positions_seen(types, window, length, last)
    assert sorted(seen) == [0] * 12 + [100] * 12
    assert [s for s, t in zip(seen, types) if t == "full_attention"] == [100] * 12
    assert prefix_positions_seen(types, window, length, window + length - 2).count(1) == 12  # the last one left
