"""`prefix`, `deep-mpt` and `deep-mpt-full-prompt` on tiny-random-llama: a few real training steps each;
only the intended tensors require grad and change, the backbone stays bit-identical, parameter counts
match the hand computation, and the registries and config know the three methods."""

from __future__ import annotations

import pytest
import torch

from clinical_mpt.batching import TaskData, encode_task
from clinical_mpt.config import load_config
from clinical_mpt.errors import ConfigError
from clinical_mpt.methods import deep_mpt, prefix
from clinical_mpt.methods.base import MethodContext
from clinical_mpt.methods.table import NEEDS_META_PROMPT, TABLE, meta_prompt_depths
from clinical_mpt.prompts.deep_prompt import from_rows, init_prefix, kv_geometry, to_rows

L = 4
SCHEDULE = "{steps: 3, batch_size: 4, lr: 0.05, warmup_steps: 0, log_every: 1, checkpoint_every: 0}"


def _task(tok) -> TaskData:
    examples = [{"id": f"q{i}", "type": "qa", "context": f"Pt on drug{i} {i}0 mg.", "question": f"Dose of drug{i}?",
                 "answers": [f"{i}0 mg"]} for i in range(6)]
    return encode_task(tok, TaskData(name="dose_qa", type="qa", instruction=None, examples=examples), 64, 8)


def _ctx(backbone, tmp_path, meta=None, tasks=()) -> MethodContext:
    cfg = load_config(None, [f"prompt.length={L}", f"baselines.prefix={SCHEDULE}", f"adapt.deep={SCHEDULE}"])
    return MethodContext(backbone=backbone, cfg=cfg, out=tmp_path, meta=meta, meta_tasks=list(tasks))


def _deep_meta(backbone, k: int = 2, seed: int = 0) -> dict:
    """A deep meta-prompt as distillation leaves it: P* rows and K tasks' per-layer u, v."""
    g = torch.Generator().manual_seed(seed)
    shared = to_rows(init_prefix(backbone.model, backbone.tokenizer, "Find the dose.", L))     # (layers, L, D)
    layers, _, dim = shared.shape
    return {"shared": shared, "u": 1 + 0.1 * torch.randn(k, layers, L, 1, generator=g),
            "v": 1 + 0.1 * torch.randn(k, layers, 1, dim, generator=g)}


def _snapshot(model) -> dict:
    return {n: p.detach().clone() for n, p in model.state_dict().items()}


def _assert_backbone_untouched(model, before: dict):
    assert all(torch.equal(before[n], p) for n, p in model.state_dict().items())
    assert not any(p.requires_grad for p in model.parameters())


def test_prefix_trains_only_its_prefix(tiny_backbone, tmp_path):
    before = _snapshot(tiny_backbone.model)
    start = init_prefix(tiny_backbone.model, tiny_backbone.tokenizer, load_config(None).prompt.init_text, L)
    fitted = prefix.fit(_ctx(tiny_backbone, tmp_path), _task(tiny_backbone.tokenizer), 0, tmp_path / "p" / "log.jsonl")
    _assert_backbone_untouched(tiny_backbone.model, before)
    layers, kv, hd = kv_geometry(tiny_backbone.model.config)
    n = layers * 2 * kv * L * hd
    assert list(fitted.tensors) == ["prefix"] and fitted.tensors["prefix"].shape == start.shape
    assert fitted.trainable_parameters == n and fitted.bytes_per_task == 4 * n
    assert fitted.prompt is None and torch.equal(fitted.prefix, fitted.tensors["prefix"].detach())
    assert not torch.allclose(fitted.prefix, start), "three steps must move the prefix"
    assert (tmp_path / "p" / "log.jsonl").is_file()


def test_deep_mpt_trains_u_v_only(tiny_backbone, tmp_path):
    before = _snapshot(tiny_backbone.model)
    meta = _deep_meta(tiny_backbone)
    shared = meta["shared"].clone()
    fitted = deep_mpt.fit(_ctx(tiny_backbone, tmp_path, meta, ["a", "b"]), _task(tiny_backbone.tokenizer), 0,
                          tmp_path / "d" / "log.jsonl")
    _assert_backbone_untouched(tiny_backbone.model, before)
    layers, _, dim = shared.shape
    assert set(fitted.tensors) == {"u", "v"}
    assert fitted.trainable_parameters == layers * (L + dim) and fitted.bytes_per_task == 4 * layers * (L + dim)
    u, v = fitted.tensors["u"].detach(), fitted.tensors["v"].detach()
    assert not torch.allclose(u, meta["u"].mean(0, keepdim=True)) and not torch.allclose(v, meta["v"].mean(0, keepdim=True))
    kv = kv_geometry(tiny_backbone.model.config)[1]
    assert torch.allclose(fitted.prefix, from_rows(shared * (u[0] @ v[0]), kv), atol=1e-6), "P* must stay fixed"
    assert torch.equal(meta["shared"], shared)


def test_deep_mpt_full_prompt_trains_p_star_too(tiny_backbone, tmp_path):
    meta = _deep_meta(tiny_backbone)
    fitted = deep_mpt.fit_full_prompt(_ctx(tiny_backbone, tmp_path, meta, ["a", "b"]), _task(tiny_backbone.tokenizer),
                                      0, tmp_path / "f" / "log.jsonl")
    layers, _, dim = meta["shared"].shape
    assert set(fitted.tensors) == {"u", "v", "shared"}
    assert fitted.trainable_parameters == layers * L * dim + layers * (L + dim)
    assert not torch.allclose(fitted.tensors["shared"].detach(), meta["shared"])


def test_deep_mpt_refuses_an_input_level_meta_prompt(tiny_backbone, tmp_path):
    d = tiny_backbone.model.config.hidden_size
    shallow = {"shared": torch.zeros(L, d), "u": torch.ones(2, L, 1), "v": torch.ones(2, 1, d)}
    with pytest.raises(ConfigError, match="--depth deep"):
        deep_mpt.fit(_ctx(tiny_backbone, tmp_path, shallow, ["a", "b"]), _task(tiny_backbone.tokenizer), 0,
                     tmp_path / "x" / "log.jsonl")


def test_init_factors_mean_ones_and_named_task():
    meta = {"u": torch.randn(3, 2, 4, 2), "v": torch.randn(3, 2, 2, 8)}
    u, v = deep_mpt.init_factors(meta, ["a", "b", "c"], "mean")
    assert torch.allclose(u[0], meta["u"].mean(0)) and u.shape == (1, 2, 4, 2)
    u, v = deep_mpt.init_factors(meta, ["a", "b", "c"], "ones")
    assert torch.allclose(u @ v, torch.ones(1, 2, 4, 8))
    u, v = deep_mpt.init_factors(meta, ["a", "b", "c"], "b")
    assert torch.equal(u, meta["u"][1:2]) and torch.equal(v, meta["v"][1:2])
    with pytest.raises(ConfigError, match="adapt.init_from"):
        deep_mpt.init_factors(meta, ["a"], "zzz")


def test_the_three_methods_are_registered_and_configured():
    from clinical_mpt import config

    for name in ("prefix", "deep-mpt", "deep-mpt-full-prompt"):
        assert name in TABLE and name in config.METHODS
    assert {"deep-mpt", "deep-mpt-full-prompt"} <= NEEDS_META_PROMPT and "prefix" not in NEEDS_META_PROMPT
    assert TABLE["deep-mpt"].meta_prompt == TABLE["deep-mpt-full-prompt"].meta_prompt == "deep"
    assert TABLE["mpt"].meta_prompt == "input" and TABLE["prefix"].meta_prompt is None
    # which meta-prompts a run trains is derived from `methods:`, not configured separately
    assert meta_prompt_depths(["prefix", "deep-mpt"]) == ["deep"]
    assert meta_prompt_depths(["deep-mpt-full-prompt", "pt", "mpt"]) == ["input", "deep"]
    assert meta_prompt_depths(["prefix", "lora"]) == []
    cfg = load_config(None, ["methods=[prefix,deep-mpt]"])
    assert cfg.baselines.prefix.lr == 0.01 and cfg.adapt.deep.lr == 0.01
    assert cfg.deep.teach_lr == 0.01 and cfg.deep.distill_lr == 0.01 and cfg.teach.lr == 0.3
    with pytest.raises(ConfigError, match="prompt.depth: unknown key"):
        load_config(None, ["prompt.depth=deep"])
    with pytest.raises(ConfigError, match="deep.teach_lr: must be >= 0"):
        load_config(None, ["deep.teach_lr=-1"])
