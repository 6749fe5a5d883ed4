"""Every backbone family of the study end to end through the real CLI: teach -> distill -> adapt ->
evaluate (`clinical-mpt run`) on a tiny random Llama (LLaMA 3.1 / Meditron3), gpt-oss (mixture of
experts, attention sinks, a sliding window shorter than prompt + text) and Qwen2 saved as local HF
folders, then serving the run's prompts with the multi-task engine."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from scale_helpers import ARCHITECTURES, REPO, TINY, cli_env, device_overrides, suite_overrides, target_device

from clinical_mpt.data.jsonl import read_jsonl

TARGETS = ["dose_qa", "drug_mcqa"]
@pytest.fixture(scope="module")
def runs(tiny_models, mini_suite, tmp_path_factory) -> dict:
    """One `clinical-mpt run` per architecture (started together: they are single-threaded)."""
    base = tmp_path_factory.mktemp("arch_runs")
    procs = {}
    for arch, folder in tiny_models.items():
        cmd = [sys.executable, "-m", "clinical_mpt", "run", TINY, f"backbone.name={folder}",
               *suite_overrides(mini_suite), *device_overrides(), "--out", str(base / arch)]
        procs[arch] = subprocess.Popen(cmd, cwd=REPO, env=cli_env(), stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
    results = {}
    for arch, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        results[arch] = (base / arch, proc.returncode, err)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_run_every_stage(runs, arch):
    out, code, err = runs[arch]
    assert code == 0, err[-3000:]
    assert "Traceback" not in err
    results = json.loads((out / "results.json").read_text())
    assert results["backbone"]["architecture"] == ARCHITECTURES[arch]
    if target_device().startswith("cuda"):
        assert results["backbone"]["dtype"] == "bfloat16"
    mpt = results["methods"]["mpt"]
    assert set(mpt["tasks"]) == set(TARGETS)
    assert mpt["trainable_parameters"] == 8 + 64  # u, v of one task: L + d (tiny.yaml: L = 8, d = 64)
    for name in ("med_ner", "problem_nli"):
        assert (out / "teachers" / name / "prompt.safetensors").is_file()
    assert (out / "distill" / "prompt.safetensors").is_file()
    for task in TARGETS:
        assert (out / "adapt" / "full" / task / "prompt.safetensors").is_file()
        preds = read_jsonl(out / "eval" / "mpt" / "full" / task / "predictions.jsonl")
        assert len(preds) == 6 and all("generation" in p for p in preds)


def _engine(folder, run, prompt_cache: bool):
    from clinical_mpt.backbone import load_backbone
    from clinical_mpt.library.from_run import prompts_from_run
    from clinical_mpt.serve.engine import Engine, EngineConfig, TaskPrompt

    dtype = "bfloat16" if target_device().startswith("cuda") else "float32"
    backbone = load_backbone(str(folder), dtype, device=target_device())
    tasks = [TaskPrompt.from_entry(e) for e in prompts_from_run(run).entries]
    return Engine(backbone, tasks, EngineConfig(prompt_cache=prompt_cache, classification="rank"))


@pytest.mark.slow
@pytest.mark.parametrize("prompt_cache", [False, True], ids=["reencode", "cached"])
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_serve_the_run(runs, tiny_models, mini_suite, arch, prompt_cache):
    """Mixed-task batches through the engine give the evaluate stage's generations (exactly, on CPU)."""
    pytest.importorskip("clinical_mpt.serve.engine", reason="the serving engine is not in this checkout")
    from clinical_mpt.serve.engine import Request

    out, code, err = runs[arch]
    assert code == 0, err[-3000:]
    engine = _engine(tiny_models[arch], out, prompt_cache)
    requests, expected = [], []
    for task in TARGETS:  # interleave the two tasks so every batch mixes prompts
        preds = read_jsonl(out / "eval" / "mpt" / "full" / task / "predictions.jsonl")
        gens = {p["id"]: p["generation"] for p in preds}
        for ex in read_jsonl(mini_suite / "target" / task / "test.jsonl"):
            requests.append(Request(task, ex, ex["id"]))
            expected.append(gens[ex["id"]])
    order = [i for pair in zip(range(6), range(6, 12)) for i in pair]
    got = engine.predict([requests[i] for i in order])
    assert [g["task"] for g in got] == [requests[i].task for i in order]
    if target_device() == "cpu":
        assert [g["generation"] for g in got] == [expected[i] for i in order]
    else:  # bf16: batch composition changes rounding, so only the shape of the answers is checked
        assert all(isinstance(g["generation"], str) for g in got)


def _load(folder):
    from clinical_mpt.backbone import load_backbone

    return load_backbone(str(folder), "float32", attention="eager", device=target_device())


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_prompt_cache_path_matches_concatenated_prompts(tiny_models, arch):
    """Shared prompt states (prompt K/V computed once per task, gathered to rows) give the hidden states
    and prompt gradients of the plain [prompt | text] layout; for gpt-oss with a window (8) shorter
    than prompt + text (6 + 9), so sliding layers drop prompt positions."""
    from clinical_mpt.hf_compat import decoder
    from clinical_mpt.modeling import prompted_embeds, text_hidden

    model = _load(tiny_models[arch]).model
    dev = model.device
    gen = torch.Generator().manual_seed(0)
    prompts = torch.randn(2, 6, 64, generator=gen).requires_grad_(True)
    rows = torch.tensor([1, 0, 1])
    ids = torch.randint(3, 259, (3, 9), generator=gen)
    mask = torch.ones(3, 9, dtype=torch.long)
    mask[2, 5:] = 0                                                     # right padding, as in training
    keep = mask.bool().to(dev)
    cached = text_hidden(model, prompts, rows, ids, mask)
    (g_cached,) = torch.autograd.grad(cached[keep].pow(2).sum(), prompts)
    embeds, full_mask = prompted_embeds(model, prompts[rows], ids.to(dev), mask.to(dev))
    plain = decoder(model)(inputs_embeds=embeds, attention_mask=full_mask, use_cache=False).last_hidden_state[:, 6:]
    (g_plain,) = torch.autograd.grad(plain[keep].pow(2).sum(), prompts)
    assert torch.allclose(cached[keep], plain[keep], atol=1e-5)
    assert torch.allclose(g_cached, g_plain, atol=1e-5, rtol=1e-4) and g_plain.abs().sum() > 0


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_batched_generation_equals_one_row_at_a_time(tiny_models, arch):
    """Left padding, per-row prompts, sinks and sliding windows: a row's generation does not depend on
    the other rows of its batch."""
    from clinical_mpt.decoding import DecodeBatch, greedy_generate

    backbone = _load(tiny_models[arch])
    tok = backbone.tokenizer
    prompts = torch.randn(3, 6, 64, generator=torch.Generator().manual_seed(1))
    inputs = [list(range(10, 25)), [40, 41], [60, 61, 62, 63, 64]]
    eos, pad = tok.eos_token_id, tok.pad_token_id
    batched = greedy_generate(backbone.model, DecodeBatch.uniform(inputs, 8, prompts), eos, pad)
    single = [greedy_generate(backbone.model, DecodeBatch.uniform([x], 8, prompts[i:i + 1]), eos, pad)[0]
              for i, x in enumerate(inputs)]
    assert batched == single and all(len(g) > 0 for g in batched)


def test_tokenizer_differences_are_handled(tiny_models):
    """qwen2's tokenizer has no pad token (eos pads), gpt-oss's has a chat template (never applied)."""
    qwen, oss = _load(tiny_models["qwen2"]).tokenizer, _load(tiny_models["gpt_oss"]).tokenizer
    assert qwen.pad_token == qwen.eos_token == "</s>"
    assert oss.pad_token == "<pad>" and oss.chat_template


def test_sliding_window_batches_of_unequal_lengths_skip_the_cache(tiny_models):
    """gpt-oss (window 8): a mixed-length batch past the window takes the exact uncached layout; a batch
    of equal lengths, or a model without sliding layers, keeps the prompt cache."""
    from clinical_mpt.serve.engine import Engine, TaskPrompt, sliding_window

    for arch, window in (("gpt_oss", 8), ("llama", None)):
        bb = _load(tiny_models[arch])
        assert sliding_window(bb.model) == window
        engine = Engine(bb, [TaskPrompt("t", "qa", None, torch.zeros(6, bb.hidden_size))])
        assert engine.cache_is_exact(["t", "t"], [[5] * 3, [5] * 3])
        assert engine.cache_is_exact(["t", "t"], [[5] * 3, [5] * 9]) == (window is None)
