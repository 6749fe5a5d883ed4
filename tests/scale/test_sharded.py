"""The backbone split over the ranks, through `accelerate launch --config_file configs/accelerate/X.yaml`:
FSDP (fsdp.yaml: FSDP2 over the decoder layers) and DeepSpeed ZeRO-3 (zero3.yaml: every weight
partitioned; skipped, with the reason, where DeepSpeed is not installed). Two CPU processes (gloo)
against one process with the same global batch."""

from __future__ import annotations

import re
import subprocess

import pytest
from scale_helpers import (
    REPO,
    TINY,
    assert_same_training_as_one_process,
    config_launch,
    cpu_launch_env,
    refused_launch,
    sharded_and_single,
    suite_overrides,
)

from clinical_mpt.backbone import tiny_random_llama

# sharding -> (accelerate config, extra overrides): ZeRO-3 runs with gradient checkpointing, so that
# DeepSpeed's gather hooks and the recomputation are tested together
SHARDINGS = {"fsdp": ("fsdp.yaml", ()), "zero3": ("zero3.yaml", ("backbone.gradient_checkpointing=true",))}


def needs(sharding: str) -> None:
    if sharding == "zero3":
        pytest.importorskip("deepspeed", reason="DeepSpeed is not installed (pip install deepspeed)")


@pytest.fixture(scope="module", params=sorted(SHARDINGS))
def sharded_run(request, mini_suite, tmp_path_factory):
    """(sharding, launched out folder, single-process out folder, the launch's stdout)."""
    needs(request.param)
    config, extra = SHARDINGS[request.param]
    return (request.param, *sharded_and_single(config_launch(config), mini_suite,
                                               tmp_path_factory.mktemp(request.param), request.param, *extra))


@pytest.mark.slow
def test_each_rank_holds_half_of_the_weights(sharded_run):
    sharding, _, _, stdout = sharded_run
    # searched in the whole stdout, not line by line: the ranks share the pipe, and a line another rank
    # (or DeepSpeed itself) writes at the same moment may land in front of ours
    if sharding == "fsdp":
        found = re.search(r"FSDP: 2 decoder layers sharded over 2 processes \(([\d,]+) of their ([\d,]+) weights", stdout)
        assert found, stdout[-3000:]
        local, total = (int(n.replace(",", "")) for n in found.groups())
        assert local == total // 2
    else:
        found = re.search(r"DeepSpeed ZeRO-3: ([\d,]+) backbone weights partitioned over 2 processes \(([\d,]+) on this rank\)",
                          stdout)
        assert found, stdout[-3000:]
        total, local = (int(n.replace(",", "")) for n in found.groups())
        assert total == sum(p.numel() for p in tiny_random_llama().parameters())  # tied LM head counted once
        assert total // 2 <= local < total // 2 + 64 * 4  # half of every weight (each partition padded a little)


@pytest.mark.slow
def test_sharded_training_matches_one_process(sharded_run):
    _, launched, single, _ = sharded_run
    assert_same_training_as_one_process(launched, single)


@pytest.mark.slow
@pytest.mark.parametrize("sharding", sorted(SHARDINGS))
def test_weight_baselines_are_refused(sharding, mini_suite, tmp_path):
    needs(sharding)
    proc = refused_launch(config_launch(SHARDINGS[sharding][0]), mini_suite, tmp_path, "lora")
    assert proc.returncode != 0  # each rank exits 2 with one error line (the launcher adds its own report)
    assert "error: methods: lora trains backbone weights and needs an unsharded copy; under FSDP or ZeRO-3" \
        in proc.stderr


@pytest.mark.slow
def test_zero_stage_2_runs_as_plain_data_parallelism(mini_suite, tmp_path):
    """Stages 1-2 partition optimizer state and gradients, which here are the prompts' alone: say so, and run."""
    needs("zero3")
    args = ["evaluate", TINY, *suite_overrides(mini_suite), "backbone.device=cpu", "methods=[zero-shot]"]
    proc = subprocess.run(config_launch("zero3.yaml") + ["--zero_stage", "2", "-m", "clinical_mpt", *args,
                                                         "--out", str(tmp_path)],
                          cwd=REPO, env=cpu_launch_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DeepSpeed ZeRO stage 2 partitions optimizer state and gradients" in proc.stdout
    assert "ZeRO-3:" not in proc.stdout and (tmp_path / "results.json").is_file()
