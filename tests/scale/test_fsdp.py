"""FSDP through `accelerate launch --config_file configs/accelerate/fsdp.yaml`: two CPU processes (gloo)
with the decoder layers sharded (FSDP2), against one process with the same global batch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from scale_helpers import REPO, TINY, cli_env, launched_and_single, suite_overrides
from test_ddp import BATCH, free_port

FSDP_CONFIG = str(REPO / "configs" / "accelerate" / "fsdp.yaml")


def fsdp_launch(processes: int = 2) -> list[str]:
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", FSDP_CONFIG,
            "--num_processes", str(processes), "--main_process_port", str(free_port())]


def fsdp_env() -> dict:
    return cli_env(ACCELERATE_USE_CPU="1", CUDA_VISIBLE_DEVICES="")


@pytest.fixture(scope="module")
def both_runs(mini_suite, tmp_path_factory):
    args = ["run", TINY, *suite_overrides(mini_suite), *BATCH, "distill.teacher_cache=disk", "backbone.device=cpu",
            "protocol.shots=[1]", "protocol.seeds=[0]", "methods=[mpt,pt]"]
    return launched_and_single(fsdp_launch(), fsdp_env(), args, tmp_path_factory.mktemp("fsdp"), "fsdp")


@pytest.mark.slow
def test_the_layers_are_sharded(both_runs):
    _, _, stdout = both_runs
    line = next(x for x in stdout.splitlines() if x.startswith("FSDP:"))
    assert "2 decoder layers sharded over 2 processes" in line
    local, total = (int(n.replace(",", "")) for n in line.split("(")[1].split(" weights")[0].split(" of their "))
    assert local == total // 2


@pytest.mark.slow
def test_sharded_training_matches_one_process(both_runs):
    fsdp, single, _ = both_runs
    folders = [("teachers", "med_ner"), ("teachers", "problem_nli"), ("distill",), ("adapt", "full", "dose_qa"),
               ("adapt", "k1-s0", "drug_mcqa"), ("targets", "pt", "full", "dose_qa")]
    for parts in folders:
        a, b = load_file(fsdp.joinpath(*parts, "prompt.safetensors")), load_file(single.joinpath(*parts, "prompt.safetensors"))
        assert a.keys() == b.keys()
        for k in a:
            assert torch.allclose(a[k], b[k], atol=2e-5, rtol=1e-4), (parts, k, (a[k] - b[k]).abs().max())
    ra, rb = (json.loads((d / "results.json").read_text())["methods"] for d in (fsdp, single))
    for method in ("mpt", "pt"):  # every rank generated every row: the same predictions as one process
        assert {t: v["score"] for t, v in ra[method]["tasks"].items()} == \
            {t: v["score"] for t, v in rb[method]["tasks"].items()}
    assert (fsdp / "eval/mpt/full/dose_qa/predictions.jsonl").read_text() == \
        (single / "eval/mpt/full/dose_qa/predictions.jsonl").read_text()


@pytest.mark.slow
def test_weight_baselines_are_refused_under_fsdp(mini_suite, tmp_path):
    args = ["evaluate", TINY, *suite_overrides(mini_suite), "backbone.device=cpu", "methods=[lora]"]
    proc = subprocess.run(fsdp_launch() + ["-m", "clinical_mpt", *args, "--out", str(tmp_path)], cwd=REPO,
                          env=fsdp_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0  # each rank exits 2 with one error line (the launcher adds its own report)
    assert "error: methods: lora trains backbone weights and needs an unsharded copy" in proc.stderr
