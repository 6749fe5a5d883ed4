"""Crash and resume: a real run killed with SIGKILL mid-stage resumes to the same prompts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]


def _run(args, env_extra=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "clinical_mpt", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _args(stage: str, suite: Path, out: Path, *extra: str) -> list[str]:
    return [stage, "configs/tiny.yaml", f"data.suite={suite}", "data.source_tasks=[]", "data.target_tasks=[]",
            "teach.steps=10", "teach.checkpoint_every=3", "teach.log_every=1",
            "distill.train.steps=10", "distill.train.checkpoint_every=3", "distill.train.log_every=1",
            "--out", str(out), *extra]


@pytest.mark.parametrize("stage, fault, artifact", [
    ("teach", "teach problem_nli@7", "teachers/problem_nli/prompt.safetensors"),
    ("distill", "distill@8", "distill/prompt.safetensors"),
])
def test_sigkill_then_resume_matches_uninterrupted(mini_suite, tmp_path, stage, fault, artifact):
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    for out in (clean, crashed):
        if stage == "distill":  # distillation needs the teachers first
            assert _run(_args("teach", mini_suite, out)).returncode == 0
    assert _run(_args(stage, mini_suite, clean)).returncode == 0

    killed = _run(_args(stage, mini_suite, crashed), {"CLINICAL_MPT_FAULT": fault})
    assert killed.returncode == -signal.SIGKILL
    assert not (crashed / artifact).exists()
    assert (crashed / "checkpoints").exists()

    resumed = _run(_args(stage, mini_suite, crashed, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from step 6" in resumed.stdout
    a, b = load_file(clean / artifact), load_file(crashed / artifact)
    for key in a:
        assert (a[key] - b[key]).abs().max().item() < 1e-6, key
    assert not (crashed / "checkpoints").exists() or not any((crashed / "checkpoints").rglob("state.json"))

    # the loss log has every step of the interrupted stage exactly once
    log = crashed / ("teachers" if stage == "teach" else "distill") / "log.jsonl"
    desc = fault.split("@")[0]
    steps = [json.loads(line)["step"] for line in log.read_text().splitlines() if json.loads(line)["stage"] == desc]
    assert steps == list(range(1, 11))


def test_finished_stage_is_not_rerun(mini_suite, tmp_path):
    assert _run(_args("teach", mini_suite, tmp_path)).returncode == 0
    again = _run(_args("teach", mini_suite, tmp_path))
    assert "already done" in again.stdout
    forced = _run(_args("teach", mini_suite, tmp_path, "--force"))
    assert "already done" not in forced.stdout
