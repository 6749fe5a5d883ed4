"""`mpt`, `deep-mpt` and `prefix` in one config through the real CLI on tiny-random-llama: `run` trains the
teachers and the distillation of both meta-prompt depths into their own folders (OUT/teachers, OUT/distill;
OUT/teachers-deep, OUT/distill-deep), deep-mpt adapts the deep meta-prompt, and one results.json holds
all three rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from clinical_mpt.artifacts import load_artifact

ROOT = Path(__file__).resolve().parents[2]
SOURCES, TARGETS = ["med_ner", "problem_nli"], ["dose_qa", "drug_mcqa"]
L = 8
SHORT = "{steps: 2, batch_size: 4, warmup_steps: 0, log_every: 1, checkpoint_every: 0}"
STOPPED = "{steps: 2, batch_size: 4, warmup_steps: 0, log_every: 1, checkpoint_every: 0, eval_every: 1}"
TEACH = STOPPED[:-1] + ', gate: "off"}'  # a random model learns nothing: the teacher gate would exclude all


@pytest.fixture(scope="module")
def run_out(mini_suite, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("deep_e2e")
    args = [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]", "methods=[mpt,deep-mpt,prefix]",
            f"teach={TEACH}", f"distill.train={STOPPED}",
            f"adapt.train={SHORT}", f"adapt.deep={SHORT}", f"baselines.prefix={SHORT}"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "clinical_mpt", "run", "configs/tiny.yaml", *args, "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _geometry(backbone) -> tuple[int, int, int, int]:
    from clinical_mpt.prompts.deep_prompt import kv_geometry

    layers, kv, hd = kv_geometry(backbone.model.config)
    return layers, kv, hd, 2 * kv * hd


def test_both_depths_teach_and_distill_into_their_own_folders(run_out, tiny_backbone):
    layers, kv, hd, dim = _geometry(tiny_backbone)
    d = tiny_backbone.model.config.hidden_size
    for name in SOURCES:
        shallow, shallow_cfg = load_artifact(run_out / "teachers" / name, tiny_backbone.fingerprint)
        deep, deep_cfg = load_artifact(run_out / "teachers-deep" / name, tiny_backbone.fingerprint)
        assert shallow["prompt"].shape == (L, d) and shallow_cfg["depth"] == "input"
        assert deep["prefix"].shape == (layers, 2, kv, L, hd) and deep_cfg["depth"] == "deep"
        assert deep_cfg["kind"] == "teacher" and deep_cfg["method"] == "prefix"
        assert 1 <= deep_cfg["training"]["steps_run"] <= 2 and deep_cfg["training"]["best_dev_loss"] is not None
    meta, meta_cfg = load_artifact(run_out / "distill", tiny_backbone.fingerprint)
    deep, deep_cfg = load_artifact(run_out / "distill-deep", tiny_backbone.fingerprint)
    assert meta["shared"].shape == (L, d) and meta_cfg["depth"] == "input"
    assert deep["shared"].shape == (layers, L, dim)
    assert deep["u"].shape == (2, layers, L, 1) and deep["v"].shape == (2, layers, 1, dim)
    assert deep_cfg["kind"] == "meta-prompt" and deep_cfg["tasks"] == SOURCES and deep_cfg["rank"] == 1
    assert deep_cfg["lr"] == 0.01 and meta_cfg["lr"] == 0.1               # deep.distill_lr, distill.train.lr
    assert set(deep_cfg["teacher_kept_mass"]) == set(SOURCES) and deep_cfg["training"]["steps_run"] >= 1
    rows = [json.loads(line) for line in (run_out / "distill-deep" / "log.jsonl").read_text().splitlines()]
    assert {r["stage"] for r in rows} == {"distill-deep"} and {"lm", "kl", "mse"} <= set(rows[-1])
    keys = {json.loads((run_out / f / "stage.json").read_text())["key"]
            for f in ("teachers", "teachers-deep", "distill", "distill-deep")}
    assert len(keys) == 4


def test_results_hold_mpt_deep_mpt_and_prefix(run_out, tiny_backbone):
    layers, kv, hd, dim = _geometry(tiny_backbone)
    results = json.loads((run_out / "results.json").read_text())
    methods = results["methods"]
    assert set(methods) == {"mpt", "deep-mpt", "prefix"}
    for m in methods.values():
        assert set(m["tasks"]) == set(TARGETS) and all(0.0 <= t["score"] <= 1.0 for t in m["tasks"].values())
    assert methods["deep-mpt"]["trainable_parameters"] == layers * (L + dim)
    assert methods["prefix"]["trainable_parameters"] == layers * L * dim
    assert methods["mpt"]["trainable_parameters"] == L + tiny_backbone.model.config.hidden_size


def test_deep_mpt_scores_come_from_the_deep_meta_prompt(run_out, tiny_backbone, mini_suite):
    """The ranked option log-likelihoods of drug_mcqa are reproduced by P* of OUT/distill-deep modulated by
    the saved u, v, and not by the same u, v on the deep teachers' common start."""
    from clinical_mpt.data.suite import load_split, load_suite, select_tasks
    from clinical_mpt.prompts import DeepMPTPrompt
    from clinical_mpt.prompts.deep_prompt import init_prefix, to_rows
    from clinical_mpt.ranking import rank_task

    _, kv, _, _ = _geometry(tiny_backbone)
    shared = load_artifact(run_out / "distill-deep", tiny_backbone.fingerprint)[0]["shared"]
    saved, art = load_artifact(run_out / "targets" / "deep-mpt" / "full" / "drug_mcqa", tiny_backbone.fingerprint)
    assert art["method"] == "deep-mpt" and set(saved) == {"u", "v"}
    spec = select_tasks(load_suite(mini_suite), "target", ["drug_mcqa"])[0]
    task = load_split(str(mini_suite), spec, "test", 8)
    written = [json.loads(line)["option_logprobs"]
               for line in (run_out / "eval" / "deep-mpt" / "full" / "drug_mcqa" / "predictions.jsonl").read_text().splitlines()]

    def logprobs(p_star: torch.Tensor) -> list[dict]:
        prompt = DeepMPTPrompt(p_star, 1, kv)
        with torch.no_grad():
            prompt.u.copy_(saved["u"])
            prompt.v.copy_(saved["v"])
        preds = rank_task(tiny_backbone, None, task, 8, 256, prefix=prompt.task_prefix(0).detach())
        return [p["option_logprobs"] for p in preds]

    def close(a: list[dict], b: list[dict]) -> bool:
        return all(abs(x[k] - y[k]) <= 2e-4 for x, y in zip(a, b, strict=True) for k in x)

    assert close(logprobs(shared), written)
    start = to_rows(init_prefix(tiny_backbone.model, tiny_backbone.tokenizer,
                                "Extract the clinical information from the note.", L))
    assert not close(logprobs(start), written)


def test_teach_depth_deep_trains_only_the_deep_teachers_from_one_start(mini_suite, tmp_path, tiny_backbone):
    from clinical_mpt.cli import main

    args = ["teach", str(ROOT / "configs" / "tiny.yaml"), f"data.suite={mini_suite}", "data.source_tasks=[]",
            "teach.steps=1", "teach.warmup_steps=0", "deep.teach_lr=0", "--depth", "deep", "--out", str(tmp_path)]
    assert main(args) == 0
    assert not (tmp_path / "teachers").exists()
    prefixes = [load_artifact(tmp_path / "teachers-deep" / n, tiny_backbone.fingerprint)[0]["prefix"] for n in SOURCES]
    from clinical_mpt.config import load_config
    from clinical_mpt.prompts.deep_prompt import init_prefix

    start = init_prefix(tiny_backbone.model, tiny_backbone.tokenizer, load_config(None).prompt.init_text, L)
    assert all(torch.allclose(p, start, atol=1e-6) for p in prefixes)  # lr 0: both still at the common start


def test_evaluating_deep_mpt_without_its_meta_prompt_names_the_command(mini_suite, tmp_path, capsys):
    from clinical_mpt.cli import main

    args = ["evaluate", str(ROOT / "configs" / "tiny.yaml"), f"data.suite={mini_suite}", "data.source_tasks=[]",
            "data.target_tasks=[]", "methods=[deep-mpt]", "--out", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "distill-deep" in err and "--depth deep" in err and "Traceback" not in err
