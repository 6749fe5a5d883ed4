"""Crash and resume of the target-task trainings (tests/test_resume.py covers teach and distill).

A real `clinical-mpt adapt` / `evaluate` process is SIGKILLed mid-training of a target task
(CLINICAL_MPT_FAULT="<stage>@<step>", see training.py), resumed with --resume, and compared with an
uninterrupted run of the same config: the same prompts (within 1e-6), the same loss at every step,
each step logged exactly once, and the task that had already finished before the crash is not
retrained. Then `clinical-mpt run` on a finished run folder retrains nothing unless --force.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
from reliability_helpers import run_cli
from safetensors.torch import load_file

pytestmark = pytest.mark.slow
STEPS = ["teach.steps=4", "distill.train.steps=4",
         "adapt.train.steps=10", "adapt.train.checkpoint_every=3", "adapt.train.log_every=1",
         "baselines.pt.steps=10", "baselines.pt.checkpoint_every=3", "baselines.pt.log_every=1",
         "baselines.lora.train.steps=10", "baselines.lora.train.checkpoint_every=3", "baselines.lora.train.log_every=1"]


def cli(command: str, suite: Path, out: Path, *extra: str, fault: str | None = None):
    args = [command, "configs/tiny.yaml", f"data.suite={suite}", "data.source_tasks=[]", "data.target_tasks=[]",
            *STEPS, "--out", str(out), *extra]
    return run_cli(args, env={"CLINICAL_MPT_FAULT": fault} if fault else None)


def log_rows(path: Path, stage: str) -> list[dict]:
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["stage"] == stage]


def assert_same_tensors(a: Path, b: Path) -> None:
    ta, tb = load_file(a), load_file(b)
    assert sorted(ta) == sorted(tb)
    for key in ta:
        assert (ta[key] - tb[key]).abs().max().item() < 1e-6, (a, key)


def assert_same_losses(clean: Path, resumed: Path, stage: str) -> None:
    """Every step 1..10 of `stage` logged exactly once, with the loss of the uninterrupted run."""
    a, b = log_rows(clean, stage), log_rows(resumed, stage)
    assert [r["step"] for r in b] == list(range(1, 11)), [r["step"] for r in b]
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for ra, rb in zip(a, b):
        assert abs(ra["loss"] - rb["loss"]) < 1e-5, (stage, ra, rb)


def crash_then_resume(command: str, suite: Path, out: Path, fault: str, *extra: str) -> None:
    """SIGKILL `command` when stage `fault` reaches its step (checkpoints every 3 steps), then --resume."""
    killed = cli(command, suite, out, *extra, fault=fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert any((out / "checkpoints").rglob("state.json")), "no checkpoint was written before the crash"
    resumed = cli(command, suite, out, *extra, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{fault.split('@')[0]}: resumed from step 6" in resumed.stdout
    assert not any((out / "checkpoints").rglob("state.json")), "checkpoints left after the training finished"


@pytest.fixture(scope="module")
def distilled(mini_suite, tmp_path_factory) -> Path:
    """A run folder with finished teachers and meta-prompt (what `adapt` starts from)."""
    out = tmp_path_factory.mktemp("resume") / "distilled"
    for command in ("teach", "distill"):
        proc = cli(command, mini_suite, out)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_adapt_killed_mid_task_resumes_to_the_same_prompts(mini_suite, distilled, tmp_path):
    clean, crashed = (Path(shutil.copytree(distilled, tmp_path / name)) for name in ("clean", "crashed"))
    assert cli("adapt", mini_suite, clean).returncode == 0
    crash_then_resume("adapt", mini_suite, crashed, "adapt drug_mcqa@7")   # dose_qa finished before the crash
    for task in ("dose_qa", "drug_mcqa"):  # (a retrained dose_qa would log its steps twice)
        assert_same_tensors(clean / "adapt/full" / task / "prompt.safetensors",
                            crashed / "adapt/full" / task / "prompt.safetensors")
        assert_same_losses(clean / "adapt/full/log.jsonl", crashed / "adapt/full/log.jsonl", f"adapt {task}")


@pytest.fixture(scope="module")
def evaluated_clean(mini_suite, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("resume") / "eval_clean"
    proc = cli("evaluate", mini_suite, out, "methods=[pt,lora]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("fault", ["pt drug_mcqa@7", "lora dose_qa@7"])
def test_evaluate_baselines_killed_mid_training_resume_identically(mini_suite, evaluated_clean, tmp_path, fault):
    clean, crashed = evaluated_clean, tmp_path / "crashed"
    crash_then_resume("evaluate", mini_suite, crashed, fault, "methods=[pt,lora]")
    for task in ("dose_qa", "drug_mcqa"):
        assert_same_tensors(clean / "targets/pt/full" / task / "prompt.safetensors",
                            crashed / "targets/pt/full" / task / "prompt.safetensors")
        for method in ("pt", "lora"):
            assert_same_losses(clean / f"targets/{method}/full/log.jsonl", crashed / f"targets/{method}/full/log.jsonl",
                               f"{method} {task}")
            assert (clean / f"eval/{method}/full/{task}/predictions.jsonl").read_text() == \
                (crashed / f"eval/{method}/full/{task}/predictions.jsonl").read_text()
    a, b = json.loads((clean / "results.json").read_text()), json.loads((crashed / "results.json").read_text())
    assert a["methods"] == b["methods"]


def test_run_on_a_finished_folder_retrains_nothing_unless_forced(mini_suite, distilled, tmp_path):
    out = Path(shutil.copytree(distilled, tmp_path / "run"))
    first = cli("run", mini_suite, out)
    assert first.returncode == 0, first.stderr[-3000:]
    logs = {p: p.read_bytes() for p in out.rglob("log.jsonl")}
    predictions = {p: p.stat().st_mtime_ns for p in out.rglob("predictions.jsonl")}
    assert len(logs) == 3 and predictions     # teachers, distill and adapt logs

    again = cli("run", mini_suite, out)
    assert again.returncode == 0
    assert "teach: already done" in again.stdout and "distill: already done" in again.stdout
    assert {p: p.read_bytes() for p in out.rglob("log.jsonl")} == logs             # no training step ran
    assert {p: p.stat().st_mtime_ns for p in out.rglob("predictions.jsonl")} == predictions  # nothing re-predicted

    forced = cli("run", mini_suite, out, "--force")
    assert forced.returncode == 0 and "already done" not in forced.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("predictions.jsonl")} != predictions
