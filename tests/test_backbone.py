"""Backbone loading (offline), freezing, dtype resolution and the fingerprint a prompt is tied to."""

from __future__ import annotations

import pytest
import torch

from clinical_mpt import backbone as bb
from clinical_mpt.backbone import fingerprint, load_backbone, resolve_dtype
from clinical_mpt.errors import ConfigError


def test_tiny_random_llama_is_deterministic(tiny_backbone):
    again = load_backbone("tiny-random-llama", "float32")
    assert again.fingerprint == tiny_backbone.fingerprint
    for (name, a), (_, b) in zip(tiny_backbone.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_tiny_random_llama_does_not_touch_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_backbone("tiny-random-llama", "float32")
    assert torch.equal(torch.rand(3), expected)


def test_backbone_is_frozen_and_in_eval_mode(tiny_backbone):
    model = tiny_backbone.model
    assert not model.training
    assert all(not m.training for m in model.modules())
    assert all(not p.requires_grad for p in model.parameters())


def test_tiny_backbone_shape_and_tokenizer(tiny_backbone):
    fp = tiny_backbone.fingerprint
    assert fp.architecture == "LlamaForCausalLM"
    assert fp.hidden_size == tiny_backbone.hidden_size == 64
    assert fp.vocab_size == 259 == len(tiny_backbone.tokenizer)
    assert fp.num_parameters == sum(p.numel() for p in tiny_backbone.model.parameters())
    assert len(fp.embedding_sha256) == 64
    assert tiny_backbone.dtype == torch.float32
    tok = tiny_backbone.tokenizer
    assert tok.pad_token_id == 0 and tok.eos_token_id == 2
    text = "Pt on metformin 500 mg, BP 120/80 — ok."
    ids = tok(text, add_special_tokens=False).input_ids
    assert tok.decode(ids) == text  # byte level: lossless, also for non-ASCII


def test_fingerprint_changes_with_the_embeddings():
    from clinical_mpt.backbone import tiny_random_llama

    model = tiny_random_llama()
    before = fingerprint(model)
    with torch.no_grad():
        model.get_input_embeddings().weight[5, 3] += 1.0
    after = fingerprint(model)
    assert after.embedding_sha256 != before.embedding_sha256
    assert after.mismatch(before.to_dict()).startswith("embedding_sha256")
    assert before.mismatch(before.to_dict()) is None


def test_another_seed_is_another_backbone():
    from clinical_mpt.backbone import tiny_random_llama

    assert fingerprint(tiny_random_llama(seed=1)) != fingerprint(tiny_random_llama(seed=0))


def test_fingerprint_is_dtype_independent(tiny_backbone):
    bf16 = load_backbone("tiny-random-llama", "bfloat16")
    assert bf16.dtype == torch.bfloat16
    assert bf16.fingerprint == tiny_backbone.fingerprint


@pytest.mark.parametrize("name, dtype", [("float32", torch.float32), ("bfloat16", torch.bfloat16),
                                         ("float16", torch.float16)])
def test_resolve_dtype_explicit(name, dtype):
    assert resolve_dtype(name) is dtype


def test_resolve_dtype_auto_follows_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(bb, "cpu_supports_bf16", lambda: True)
    assert resolve_dtype("auto") is torch.bfloat16
    monkeypatch.setattr(bb, "cpu_supports_bf16", lambda: False)
    assert resolve_dtype("auto") is torch.float32


def test_resolve_dtype_rejects_unknown_names():
    with pytest.raises(ConfigError, match="backbone.dtype"):
        resolve_dtype("float64")


def _save_tiny_hf_model(folder):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=259, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, pad_token_id=0, bos_token_id=1,
                         eos_token_id=2, tie_word_embeddings=True)
    torch.manual_seed(7)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    bb.tiny_tokenizer().save_pretrained(folder)
    return model


def test_local_hf_directory_loads(tmp_path):
    saved = _save_tiny_hf_model(tmp_path / "model")
    loaded = load_backbone(str(tmp_path / "model"), "float32")
    assert loaded.name == str(tmp_path / "model")
    assert loaded.hidden_size == 32 and loaded.dtype == torch.float32
    assert loaded.fingerprint == fingerprint(saved)
    assert loaded.fingerprint.architecture == "LlamaForCausalLM"
    assert not loaded.model.training and all(not p.requires_grad for p in loaded.model.parameters())
    ids = loaded.tokenizer("Hb 9.1", add_special_tokens=False).input_ids
    assert ids == bb.tiny_tokenizer()("Hb 9.1", add_special_tokens=False).input_ids
    x = torch.tensor([ids])
    with torch.no_grad():
        assert torch.allclose(loaded.model(x).logits, saved.eval()(x).logits, atol=1e-5)


def test_local_hf_directory_in_bf16(tmp_path):
    _save_tiny_hf_model(tmp_path / "model")
    loaded = load_backbone(str(tmp_path / "model"), "bfloat16")
    assert loaded.dtype == torch.bfloat16
    assert all(p.dtype == torch.bfloat16 for p in loaded.model.parameters())


@pytest.mark.parametrize("name", ["HuggingFaceTB/SmolLM2-135M", "no/such/folder", "missing.gguf"])
def test_unknown_backbone_is_a_config_error(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="backbone.name"):
        load_backbone(name, "float32")


def test_auto_attention_is_eager_for_training_and_sdpa_for_serving_on_the_cpu():
    """sdpa's CPU backward is slow, its forward fast: a training process gets eager, a serving one sdpa;
    an explicit choice is kept either way."""
    train = load_backbone("tiny-random-llama")
    serve = load_backbone("tiny-random-llama", inference_only=True)
    explicit = load_backbone("tiny-random-llama", attention="eager", inference_only=True)
    if not torch.cuda.is_available():
        assert train.model.config._attn_implementation == "eager"
    assert serve.model.config._attn_implementation == "sdpa"
    assert explicit.model.config._attn_implementation == "eager"
