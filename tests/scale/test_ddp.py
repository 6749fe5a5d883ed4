"""Data-parallel training through `accelerate launch`: two CPU processes (gloo) against one process
with the same global batch. Every rank samples the same global batch and runs its slice; only the
prompt gradients are averaged, so the ranks stay identical and match the single process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from scale_helpers import (
    BATCH,
    REPO,
    TINY,
    assert_same_prompts,
    cli_env,
    cpu_launch_env,
    free_port,
    launched_and_single,
    suite_overrides,
)


def accelerate_launch(processes: int = 2) -> list[str]:
    """`accelerate launch` for CPU processes (gloo); --multi_gpu picks the multi-process launcher and
    ACCELERATE_USE_CPU (in cpu_launch_env) keeps it on the CPU."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(free_port())]


@pytest.fixture(scope="module")
def both_runs(mini_suite, tmp_path_factory):
    """`clinical-mpt run` on 2 processes and on 1, same config and global batch; started together."""
    args = ["run", TINY, *suite_overrides(mini_suite), *BATCH, "distill.teacher_cache=disk", "backbone.device=cpu"]
    return launched_and_single(accelerate_launch(), cpu_launch_env(), args, tmp_path_factory.mktemp("ddp"), "ddp")


@pytest.mark.slow
def test_two_processes_match_one_process(both_runs):
    ddp, single, _ = both_runs
    assert_same_prompts(ddp, single, [("teachers", "med_ner"), ("teachers", "problem_nli"), ("distill",),
                                      ("adapt", "full", "dose_qa"), ("adapt", "full", "drug_mcqa")])
    results = json.loads((ddp / "results.json").read_text())
    assert set(results["methods"]["mpt"]["tasks"]) == {"dose_qa", "drug_mcqa"}


@pytest.mark.slow
def test_only_rank_zero_writes_and_logs_match(both_runs):
    ddp, single, stdout = both_runs
    for log in ("teachers/log.jsonl", "distill/log.jsonl"):
        rows_ddp = [json.loads(line) for line in (ddp / log).read_text().splitlines()]
        rows_one = [json.loads(line) for line in (single / log).read_text().splitlines()]
        assert [(r["stage"], r["step"]) for r in rows_ddp] == [(r["stage"], r["step"]) for r in rows_one]
        for r, s in zip(rows_ddp, rows_one):  # the logged loss is the global batch's (all ranks averaged)
            assert r["loss"] == pytest.approx(s["loss"], rel=1e-4, abs=1e-5)
    assert sorted(p.name for p in (ddp / "distill" / "teacher_cache").iterdir()) == \
        ["med_ner.safetensors", "problem_nli.safetensors"]  # one per task, split over the two ranks
    assert stdout.count("wrote ") >= 1 and not list(ddp.rglob("*.tmp"))


@pytest.mark.slow
def test_ranks_hold_identical_prompts(mini_suite, tmp_path):
    """Each rank's own copy after training (rank 1 even starts from a different prompt)."""
    worker = str(REPO / "tests" / "scale" / "ddp_worker.py")
    launched = subprocess.run(accelerate_launch() + [worker, str(mini_suite), str(tmp_path / "ddp"), "6"],
                              cwd=REPO, env=cpu_launch_env(), capture_output=True, text=True, timeout=180)
    assert launched.returncode == 0, launched.stderr[-4000:]
    alone = subprocess.run([sys.executable, worker, str(mini_suite), str(tmp_path / "one"), "6"], cwd=REPO,
                           env=cli_env(), capture_output=True, text=True, timeout=180)
    assert alone.returncode == 0, alone.stderr[-3000:]
    r0, r1 = load_file(tmp_path / "ddp" / "rank0.safetensors"), load_file(tmp_path / "ddp" / "rank1.safetensors")
    one = load_file(tmp_path / "one" / "rank0.safetensors")
    assert torch.equal(r0["prompt"], r1["prompt"]) and torch.equal(r0["losses"], r1["losses"])
    assert torch.allclose(r0["prompt"], one["prompt"], atol=1e-5, rtol=1e-4)
    assert torch.allclose(r0["losses"], one["losses"], rtol=1e-5) and r0["losses"].numel() == 5


@pytest.mark.slow
def test_the_launcher_option_starts_the_processes(mini_suite, tmp_path):
    """`--launcher accelerate --num-processes 2` with no accelerate config: two ranks (gloo on the CPU)."""
    from scale_helpers import run_cli

    proc = run_cli("run", TINY, *suite_overrides(mini_suite), *BATCH, "backbone.device=cpu", "--out", tmp_path,
                   "--launcher", "accelerate", "--num-processes", "2", env=cli_env(CUDA_VISIBLE_DEVICES=""))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--multi_gpu --num_processes 2" in proc.stdout
    assert proc.stdout.count("backbone tiny-random-llama:") == 2  # one line per rank
    assert (tmp_path / "results.json").is_file()
