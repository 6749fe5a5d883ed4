"""Recipes on the mini suite and tiny-random-llama: adaptation settings (zero/k-shot, what trains) and
stage skipping."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from clinical_mpt.artifacts import load_artifact
from clinical_mpt.config import load_config
from clinical_mpt.errors import ConfigError

TINY = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
TARGETS = ["dose_qa", "drug_mcqa"]
L, D = 8, 64  # tiny.yaml prompt length, tiny-random-llama hidden size


def _overrides(mini_suite, *extra):
    return [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]", "teach.steps=2",
            "distill.train.steps=2", "adapt.train.steps=3", *extra]


def _cfg(mini_suite, *extra):
    return load_config(TINY, _overrides(mini_suite, *extra))


@pytest.fixture(scope="module")
def distilled(tiny_backbone, mini_suite, tmp_path_factory):
    """A run folder with teachers and the distilled meta-prompt; -> (folder, meta tensors, meta config)."""
    from clinical_mpt.recipes.distill import run_distill
    from clinical_mpt.recipes.teach import run_teach

    out = tmp_path_factory.mktemp("run")
    cfg = _cfg(mini_suite)
    run_teach(cfg, tiny_backbone, out)
    run_distill(cfg, tiny_backbone, out)
    meta, meta_cfg = load_artifact(out / "distill", tiny_backbone.fingerprint)
    return out, meta, meta_cfg


def test_distilled_meta_prompt_layout(distilled):
    _, meta, meta_cfg = distilled
    assert meta["shared"].shape == (L, D) and meta["u"].shape == (2, L, 1) and meta["v"].shape == (2, 1, D)
    assert meta_cfg["tasks"] == ["med_ner", "problem_nli"] and meta_cfg["kind"] == "meta-prompt"


def test_zero_shot_trains_nothing(tiny_backbone, mini_suite, distilled):
    from clinical_mpt.recipes.adapt import run_adapt

    out, meta, _ = distilled
    folder = run_adapt(_cfg(mini_suite, "adapt.shots=0"), tiny_backbone, out)
    assert folder == out / "adapt" / "k0"
    for name in TARGETS:
        tensors, cfg = load_artifact(folder / name, tiny_backbone.fingerprint)
        assert torch.equal(tensors["u"], meta["u"].mean(0, keepdim=True))
        assert torch.equal(tensors["v"], meta["v"].mean(0, keepdim=True))
        assert "shared" not in tensors
        assert cfg["train_examples"] == 0 and cfg["trainable_parameters"] == 0 and cfg["shots"] == 0
        assert cfg["task_parameters"] == L + D


def test_k_shot_uses_k_examples(tiny_backbone, mini_suite, distilled):
    from clinical_mpt.recipes.adapt import run_adapt

    out, meta, _ = distilled
    folder = run_adapt(_cfg(mini_suite, "adapt.shots=3", "adapt.shot_seed=5"), tiny_backbone, out)
    assert folder == out / "adapt" / "k3-s5"
    for name in TARGETS:
        tensors, cfg = load_artifact(folder / name, tiny_backbone.fingerprint)
        assert cfg["train_examples"] == 3 and cfg["shots"] == 3
        assert cfg["trainable_parameters"] == L + D
        assert not torch.equal(tensors["u"], meta["u"].mean(0, keepdim=True))


def test_k_shot_draws_are_seeded_subsets(tiny_backbone, mini_suite):
    from clinical_mpt.data.suite import load_suite, select_tasks
    from clinical_mpt.recipes.fit import load_target_train

    cfg = _cfg(mini_suite)
    spec = select_tasks(load_suite(mini_suite), "target", ["dose_qa"])[0]
    def ids(seed):
        return [ex["id"] for ex in load_target_train(cfg, tiny_backbone.tokenizer, spec, 4, seed).examples]

    all_ids = [ex["id"] for ex in load_target_train(cfg, tiny_backbone.tokenizer, spec, None, 0).examples]
    assert len(all_ids) == 16
    assert len(ids(0)) == 4 and len(set(ids(0))) == 4 and set(ids(0)) <= set(all_ids)
    assert ids(0) == ids(0) and ids(0) != ids(1)
    task = load_target_train(cfg, tiny_backbone.tokenizer, spec, 4, 0)
    assert len(task.encoded) == 4


def test_more_shots_than_examples_is_a_config_error(tiny_backbone, mini_suite, distilled):
    from clinical_mpt.recipes.adapt import run_adapt

    with pytest.raises(ConfigError, match="dose_qa"):
        run_adapt(_cfg(mini_suite, "adapt.shots=17"), tiny_backbone, distilled[0])


def _context(tiny_backbone, mini_suite, distilled, *extra):
    from clinical_mpt.data.suite import load_suite, select_tasks
    from clinical_mpt.recipes.fit import load_target_train, method_context

    cfg = _cfg(mini_suite, *extra)
    ctx = method_context(cfg, tiny_backbone, distilled[0])
    spec = select_tasks(load_suite(mini_suite), "target", ["drug_mcqa"])[0]
    return ctx, load_target_train(cfg, tiny_backbone.tokenizer, spec, None, 0)


def test_adapt_trains_only_u_and_v_by_default(tiny_backbone, mini_suite, distilled, tmp_path):
    from clinical_mpt.methods import mpt

    ctx, task = _context(tiny_backbone, mini_suite, distilled)
    meta = distilled[1]
    fitted = mpt.fit(ctx, task, 0, tmp_path / "log.jsonl")
    assert set(fitted.tensors) == {"u", "v"}
    u, v = fitted.tensors["u"].detach(), fitted.tensors["v"].detach()
    assert not torch.equal(u, meta["u"].mean(0, keepdim=True)) and not torch.equal(v, meta["v"].mean(0, keepdim=True))
    # the prompt used for generation is the *unchanged* P* modulated by the trained factors
    assert torch.allclose(fitted.prompt, meta["shared"] * (u[0] @ v[0]), atol=1e-6)
    assert torch.equal(ctx.meta["shared"], meta["shared"])
    assert fitted.trainable_parameters == L + D and fitted.bytes_per_task == 4 * (L + D)
    assert (tmp_path / "log.jsonl").is_file()


def test_adapt_also_trains_the_meta_prompt_when_asked(tiny_backbone, mini_suite, distilled):
    from clinical_mpt.recipes.adapt import run_adapt

    out, meta, _ = distilled
    folder = run_adapt(_cfg(mini_suite, "adapt.train_meta_prompt=true"), tiny_backbone, out)
    assert folder == out / "adapt" / "full-metaprompt"
    for name in TARGETS:
        tensors, cfg = load_artifact(folder / name, tiny_backbone.fingerprint)
        assert set(tensors) == {"shared", "u", "v"}
        assert not torch.equal(tensors["shared"], meta["shared"])
        assert cfg["trainable_parameters"] == L * D + L + D and cfg["train_meta_prompt"] is True


def test_adapt_can_start_from_one_source_task(tiny_backbone, mini_suite, distilled):
    from clinical_mpt.recipes.adapt import run_adapt

    out, meta, _ = distilled
    folder = run_adapt(_cfg(mini_suite, "adapt.shots=0", "adapt.init_from=problem_nli"), tiny_backbone, out)
    tensors, cfg = load_artifact(folder / "dose_qa", tiny_backbone.fingerprint)
    assert torch.equal(tensors["u"], meta["u"][1:2]) and torch.equal(tensors["v"], meta["v"][1:2])
    assert cfg["init_from"] == "problem_nli"
    with pytest.raises(ConfigError, match="init_from"):
        run_adapt(_cfg(mini_suite, "adapt.shots=0", "adapt.init_from=nope"), tiny_backbone, out)


def test_adapt_from_ones_starts_at_the_meta_prompt(tiny_backbone, mini_suite, distilled):
    from clinical_mpt.methods.mpt import target_prompt

    _, meta, _ = distilled
    mpt = target_prompt(meta, ["med_ner", "problem_nli"], "ones", train_meta_prompt=False)
    assert torch.allclose(mpt.task_prompt(0), meta["shared"])


def test_stage_keys_depend_only_on_their_sections(mini_suite):
    from clinical_mpt.protocol import stage_key

    teach = ("backbone", "data", "prompt", "teach")
    base = _cfg(mini_suite)
    assert stage_key(_cfg(mini_suite, "eval.split=dev", "adapt.shots=2", "distill.lambda=0.5"), teach) == \
        stage_key(base, teach)
    for change in ("teach.steps=5", "prompt.length=4", "data.max_train_examples=3", "seed=1",
                   "backbone.dtype=bfloat16"):
        assert stage_key(_cfg(mini_suite, change), teach) != stage_key(base, teach), change


def test_execution_only_settings_leave_stage_keys_alone(mini_suite):
    from clinical_mpt.protocol import stage_key

    every = ("backbone", "data", "prompt", "teach", "distill", "adapt", "eval")
    base = _cfg(mini_suite)
    for change in ("backbone.device=cpu", "backbone.gradient_checkpointing=true", "distill.teacher_cache=disk",
                   "backbone.shape=llama-3.1-8b"):
        assert stage_key(_cfg(mini_suite, change), every) == stage_key(base, every), change
    # quantised weights change the numbers
    assert stage_key(_cfg(mini_suite, "backbone.load_in=8bit"), every) != stage_key(base, every)


def _mtimes(out: Path) -> dict:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns
            for p in out.rglob("*") if p.suffix in (".safetensors", ".json") and p.name not in ("results.json", "data.json")}


def test_run_skips_finished_stages_and_force_reruns_them(mini_suite, tmp_path, capsys):
    from clinical_mpt.cli import main

    argv = ["run", str(TINY), *_overrides(mini_suite), "--out", str(tmp_path)]
    assert main(argv) == 0
    first = _mtimes(tmp_path)
    assert any(k.startswith("teachers/") for k in first) and any(k.startswith("eval/") for k in first)
    capsys.readouterr()

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "teach: already done" in out and "distill: already done" in out
    assert _mtimes(tmp_path) == first, "a second run must not rewrite any artifact"
    assert (tmp_path / "results.json").is_file()

    assert main(argv + ["--force"]) == 0
    out = capsys.readouterr().out
    assert "already done" not in out
    again = _mtimes(tmp_path)
    assert again.keys() == first.keys()
    assert all(again[k] != first[k] for k in first), "--force re-runs every stage"


def test_a_changed_config_reruns_the_stages_that_depend_on_it(mini_suite, tmp_path, capsys):
    from clinical_mpt.cli import main

    base = ["run", str(TINY), *_overrides(mini_suite), "--out", str(tmp_path)]
    assert main(base) == 0
    capsys.readouterr()
    assert main(base + ["distill.train.steps=3"]) == 0
    out = capsys.readouterr().out
    assert "teach: already done" in out and "distill: already done" not in out
    _, cfg = load_artifact(tmp_path / "distill")
    assert cfg["steps"] == 3


def test_a_baselines_result_key_depends_on_its_own_settings_only(mini_suite):
    from clinical_mpt.protocol import method_key

    base, changed = _cfg(mini_suite), _cfg(mini_suite, "baselines.pt.lr=1.0")
    assert method_key(changed, "pt") != method_key(base, "pt")
    for other in ("lora", "full", "zero-shot", "mpt", "mpt-full-prompt"):
        assert method_key(changed, other) == method_key(base, other), other
    assert method_key(_cfg(mini_suite, "adapt.train.lr=1.0"), "mpt") != method_key(base, "mpt")
    assert method_key(_cfg(mini_suite, "eval.batch_size=3"), "lora") != method_key(base, "lora")
