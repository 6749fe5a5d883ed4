"""Training logs: `log_to` is validated; TensorBoard event files hold the same curves as log.jsonl plus
the learning rate, gradient norm and tokens/s; a real tiny run writes them for every stage while
log.jsonl stays as it was; where the logs go does not change a stage's key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from clinical_mpt import training
from clinical_mpt.config import TrainConfig, load_config
from clinical_mpt.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("tensorboard")


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value)]} of the TensorBoard event files in `folder`."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.mark.parametrize("value", ["[csv]", "[jsonl,jsonl]", "[]"])
def test_log_to_is_validated(value):
    with pytest.raises(ConfigError, match=r"distill\.train\.log_to: .*jsonl, tensorboard"):
        load_config(None, [f"distill.train.log_to={value}"])
    assert load_config(None, ["teach.log_to=[jsonl,tensorboard]"]).teach.log_to == ["jsonl", "tensorboard"]
    assert load_config(None, []).adapt.train.log_to == ["jsonl"]


def test_tensorboard_gets_the_log_rows_with_lr_grad_norm_and_tokens_per_s(tmp_path):
    a = torch.nn.Parameter(torch.ones(3))
    target = torch.tensor([1.0, -2.0, 3.0])

    def loss_fn(step):
        lm, kl = ((a - target) ** 2).sum(), (a ** 2).mean()
        return lm + 0.1 * kl, {"lm": lm.detach(), "kl": kl.detach(), "tokens": 12}

    cfg = TrainConfig(steps=6, lr=0.1, warmup_steps=1, log_every=2, grad_clip=0.0, log_to=["jsonl", "tensorboard"])
    rows = training.train([a], loss_fn, cfg, desc="distill", log_path=tmp_path / "log.jsonl")
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert logged == rows and all("tokens" not in r for r in rows)            # the JSONL rows are unchanged
    got = scalars(tmp_path / "tensorboard" / "distill")
    steps = [r["step"] for r in rows]
    assert sorted(got) == ["loss/kl", "loss/lm", "loss/total", "train/grad_norm", "train/lr", "train/tokens_per_s"]
    assert [s for s, _ in got["loss/total"]] == steps
    assert [v for _, v in got["loss/total"]] == pytest.approx([r["loss"] for r in rows], rel=1e-5)
    assert [v for _, v in got["loss/lm"]] == pytest.approx([r["lm"] for r in rows], rel=1e-5)
    assert [v for _, v in got["train/lr"]] == pytest.approx([r["lr"] for r in rows], rel=1e-5)
    assert all(v > 0 for _, v in got["train/grad_norm"] + got["train/tokens_per_s"])


def test_tensorboard_only_writes_no_jsonl(tmp_path):
    a = torch.nn.Parameter(torch.ones(2))
    cfg = TrainConfig(steps=2, lr=0.1, warmup_steps=0, log_every=1, log_to=["tensorboard"])
    training.train([a], lambda step: (((a - 1.5) ** 2).sum(), {}), cfg, desc="teach med_ner",
                   log_path=tmp_path / "log.jsonl")
    assert not (tmp_path / "log.jsonl").exists()
    assert [s for s, _ in scalars(tmp_path / "tensorboard" / "teach_med_ner")["loss/total"]] == [1, 2]


def test_where_logs_go_does_not_change_stage_keys():
    from clinical_mpt.protocol import stage_key

    sections = ("backbone", "data", "prompt", "teach", "distill", "adapt", "baselines")
    plain = load_config(None, [])
    both = load_config(None, ["teach.log_to=[jsonl,tensorboard]", "distill.train.log_to=[tensorboard]",
                              "baselines.lora.train.log_to=[tensorboard]"])
    assert stage_key(plain, sections) == stage_key(both, sections)
    assert stage_key(plain, sections) != stage_key(load_config(None, ["teach.steps=7"]), sections)


def test_a_tiny_run_writes_tensorboard_events_for_every_stage(mini_suite, tmp_path):
    logs = "[jsonl,tensorboard]"
    cmd = [sys.executable, "-m", "clinical_mpt", "run", "configs/tiny.yaml", f"data.suite={mini_suite}",
           "data.source_tasks=[]", "data.target_tasks=[]", "methods=[mpt,pt]", f"teach.log_to={logs}",
           f"distill.train.log_to={logs}", f"adapt.train.log_to={logs}", f"baselines.pt.log_to={logs}",
           "--out", str(tmp_path / "run")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run"
    folders = {p.relative_to(run).as_posix() for p in run.glob("**/tensorboard/*") if p.is_dir()}
    assert {"teachers/tensorboard/teach_med_ner", "teachers/tensorboard/teach_problem_nli",
            "distill/tensorboard/distill", "adapt/full/tensorboard/adapt_dose_qa",
            "targets/pt/full/tensorboard/pt_drug_mcqa"} <= folders, folders
    distill = scalars(run / "distill" / "tensorboard" / "distill")
    assert {"loss/total", "loss/lm", "loss/kl", "loss/mse", "train/lr", "train/grad_norm",
            "train/tokens_per_s"} <= set(distill)
    rows = [json.loads(line) for line in (run / "distill" / "log.jsonl").read_text().splitlines()]
    assert [s for s, _ in distill["loss/kl"]] == [r["step"] for r in rows]  # JSONL still written, same steps


def test_dev_metrics_become_dev_curves_and_summaries_are_not_curves(tmp_path):
    from clinical_mpt.training_log import StageLog

    log = StageLog(tmp_path / "log.jsonl", "pt dose_qa", ["tensorboard"])
    log.write({"stage": "pt dose_qa", "step": 5, "loss": 1.5, "lr": 0.3, "seconds": 2.0, "dev_loss": 1.25}, {})
    log.write({"stage": "pt dose_qa", "step": 10, "loss": 1.0, "lr": 0.2, "seconds": 4.0, "dev_loss": 1.5,
               "steps_run": 10, "best_step": 5, "best_dev_loss": 1.25, "stopped_early": True}, {"grad_norm": 0.5})
    log.close()
    got = scalars(tmp_path / "tensorboard" / "pt_dose_qa")
    assert sorted(got) == ["dev/loss", "loss/total", "train/grad_norm", "train/lr"]
    assert got["dev/loss"] == [(5, 1.25), (10, 1.5)]
