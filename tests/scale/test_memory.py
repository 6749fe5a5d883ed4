"""Memory features for large backbones: gradient checkpointing (prompts keep exact gradients), quantized
loading refused where bitsandbytes cannot run, the teacher-output cache on disk, device choice, and
how FSDP and DeepSpeed launches are recognised."""

from __future__ import annotations

import json
import os

import pytest
import torch
from scale_helpers import TINY, suite_overrides, target_device

from clinical_mpt.errors import ConfigError


def _load(folder, checkpointing: bool):
    from clinical_mpt.backbone import load_backbone

    return load_backbone(str(folder), "float32", attention="eager", device=target_device(),
                         gradient_checkpointing=checkpointing)


@pytest.mark.parametrize("arch", ["llama", "gpt_oss"])
def test_checkpointing_recomputes_layers_and_keeps_prompt_gradients(tiny_models, arch):
    from clinical_mpt.batching import collate
    from clinical_mpt.hf_compat import decoder
    from clinical_mpt.losses import lm_loss
    from clinical_mpt.modeling import answer_hidden_and_logits

    rows = [(list(range(10, 30)), [40, 41, 42, 2]), (list(range(50, 60)), [43, 2]), (list(range(70, 95)), [44, 2])]
    batch, task_ids = collate(rows, 0), torch.tensor([0, 1, 1])
    grads, mlp_calls = [], []
    for checkpointing in (False, True):
        model = _load(tiny_models[arch], checkpointing).model
        calls = []
        decoder(model).layers[0].mlp.register_forward_pre_hook(lambda *_: calls.append(1))
        prompts = torch.randn(2, 6, 64, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
        _, logits, targets = answer_hidden_and_logits(model, lambda ids: prompts[ids], task_ids, batch)
        forward_calls = len(calls)
        lm_loss(logits, targets).backward()
        grads.append(prompts.grad)
        mlp_calls.append((forward_calls, len(calls)))
        assert not any(p.requires_grad for p in model.parameters()) and not model.training
    assert mlp_calls[0] == (2, 2)  # prompt pass + text pass, nothing recomputed
    assert mlp_calls[1] == (1, 2)  # one [prompt | text] pass, recomputed in backward
    assert torch.allclose(grads[0], grads[1], atol=1e-6, rtol=1e-4) and grads[1].abs().sum() > 0


def test_checkpointing_is_off_in_generation_and_eval(tiny_models):
    """Under no_grad (teacher cache, generation) the shared prompt-cache path is used as usual."""
    from clinical_mpt.decoding import DecodeBatch, greedy_generate

    plain, ckpt = _load(tiny_models["llama"], False), _load(tiny_models["llama"], True)
    prompts = torch.randn(2, 6, 64, generator=torch.Generator().manual_seed(2))
    inputs = [[5, 6, 7, 8], [9, 10]]
    expected = greedy_generate(plain.model, DecodeBatch.uniform(inputs, 6, prompts), 2, 0)
    assert greedy_generate(ckpt.model, DecodeBatch.uniform(inputs, 6, prompts), 2, 0) == expected and all(expected)


def test_quantized_loading_is_refused_where_bitsandbytes_cannot_run(tiny_models):
    import importlib.util

    from clinical_mpt.backbone import load_backbone

    with pytest.raises(ConfigError, match="CUDA GPU"):
        load_backbone(str(tiny_models["llama"]), "float32", device="cpu", load_in="8bit")
    with pytest.raises(ConfigError, match="load_in"):
        load_backbone(str(tiny_models["llama"]), "float32", device="cpu", load_in="3bit")
    if torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes") is None:
        with pytest.raises(ConfigError, match="pip install bitsandbytes"):
            load_backbone(str(tiny_models["llama"]), "bfloat16", device="cuda", load_in="4bit")


def test_device_choice():
    from clinical_mpt.backbone import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="backbone.device"):
        resolve_device("tpu:7")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            resolve_device("cuda")
        assert resolve_device("auto") == torch.device("cpu")


@pytest.fixture
def deepspeed_launch(monkeypatch):
    """The environment `accelerate launch` gives a DeepSpeed config (zero_stage only), 2 processes."""
    from clinical_mpt import sharding

    for key in [k for k in os.environ if k.startswith("ACCELERATE_DEEPSPEED")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    return sharding


def test_deepspeed_zero_settings_come_from_the_launch(deepspeed_launch, monkeypatch, tmp_path):
    d = deepspeed_launch
    assert d.deepspeed_zero_config() == {"stage": 2} and not d.zero3_requested()  # accelerate's default stage
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "3")
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_OFFLOAD_PARAM_DEVICE", "cpu")
    assert d.zero3_requested() and d.deepspeed_zero_config()["offload_param"]["device"] == "cpu"
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_OFFLOAD_PARAM_DEVICE", "nvme")
    with pytest.raises(ConfigError, match="nvme_path"):
        d.deepspeed_zero_config()
    conf = tmp_path / "ds.json"  # a deepspeed_config_file wins over the yaml keys; "auto" values are dropped
    conf.write_text(json.dumps({"zero_optimization": {"stage": 3, "reduce_bucket_size": "auto",
                                                      "offload_param": {"device": "nvme", "nvme_path": "/nvme"}}}))
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_CONFIG_FILE", str(conf))
    assert d.deepspeed_zero_config() == {"stage": 3, "offload_param": {"device": "nvme", "nvme_path": "/nvme"}}
    for bad, message in [("{", "cannot be read"), ('{"zero_optimization": [3]}', "must be an object"),
                         ('{"zero_optimization": {"stage": "three"}}', "must be 0, 1, 2 or 3"),
                         ('{"zero_optimization": {"stage": 4}}', "must be 0, 1, 2 or 3")]:
        conf.write_text(bad)
        with pytest.raises(ConfigError, match=message):
            d.deepspeed_zero_config()
    monkeypatch.setenv("WORLD_SIZE", "1")  # one process: nothing to partition
    assert not d.deepspeed_requested() and not d.zero3_requested()


def test_fsdp_is_recognised_from_the_launch(monkeypatch):
    from clinical_mpt import sharding

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    assert sharding.fsdp_requested()


def test_teacher_cache_on_disk_gives_the_memory_result(tiny_backbone, mini_suite, tmp_path):
    """distill.teacher_cache: disk writes one safetensors file per task, reads it per batch, gives the
    same meta-prompt bit for bit, and is reused (not recomputed) while teachers, T and k are unchanged."""
    from safetensors.torch import load_file

    from clinical_mpt.config import load_config
    from clinical_mpt.recipes.distill import run_distill
    from clinical_mpt.recipes.teach import run_teach

    args = suite_overrides(mini_suite) + ["teach.steps=2", "distill.train.steps=3", "backbone.device=cpu"]
    results = {}
    for where in ("memory", "disk"):
        cfg = load_config(TINY, args + [f"distill.teacher_cache={where}"])
        out = tmp_path / where
        run_teach(cfg, tiny_backbone, out)
        run_distill(cfg, tiny_backbone, out)
        results[where] = load_file(out / "distill" / "prompt.safetensors")
    for key in ("shared", "u", "v"):
        assert torch.equal(results["memory"][key], results["disk"][key])
    files = sorted((tmp_path / "disk" / "distill" / "teacher_cache").glob("*.safetensors"))
    assert [f.stem for f in files] == ["med_ner", "problem_nli"]
    assert not (tmp_path / "memory" / "distill" / "teacher_cache").exists()
    stamps = [f.stat().st_mtime_ns for f in files]
    run_distill(cfg, tiny_backbone, tmp_path / "disk", force=True)
    assert [f.stat().st_mtime_ns for f in files] == stamps
