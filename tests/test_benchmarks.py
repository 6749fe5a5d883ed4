"""Every benchmark script runs on tiny-random-llama and prints one JSON object with its figures (a smoke
test: the figures of a random 2-layer model mean nothing; `make bench` measures the default backbone)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# script -> (fast arguments, keys its JSON must have)
SCRIPTS = {
    "train_step.py": (["--repeats", "1", "--warmup", "1"], ["step_over_forward", "ours_over_peft", "distill_over_pt"]),
    "memory.py": ([], ["pt_over_lora", "pt_over_inference", "pt_checkpointed_over_inference"]),
    "scaling.py": (["--repeats", "1", "--warmup", "1"], ["fit_prompt_length", "fit_input_length"]),
    "inference.py": (["--repeats", "1", "--new-tokens", "2"],
                     ["mixed_vs_single", "prefill", "serving_vs_bare", "resident_100_vs_1", "engine_vs_peft"]),
    "deep.py": (["--repeats", "1", "--warmup", "1", "--new-tokens", "2"],
                ["train_step_over_pt", "train_step_over_lora", "serve_deep_over_input", "cache_miss_deep_over_input"]),
    "serving.py": (["--repeats", "1", "--new-tokens", "4", "--prompt-length", "8", "--input-len", "8", "--rows", "2",
                    "--summary-tokens", "8", "--copy-mb", "16"],
                   ["eager", "fast", "speedup", "floor_tokens_per_s", "fraction_of_floor", "mixed",
                    "continuous_over_static", "identical_tokens"]),
    "profile_step.py": (["--warmup", "1"], ["forward", "backward"]),
    "parallel_processes.py": (["--repeats", "2", "--warmup", "1", "--processes", "1,2", "--input-length", "16",
                               "--prompt-length", "4"], ["processes", "speedup", "most_steps_per_s_at"]),
    "profile_prefill.py": (["--repeats", "1", "--warmup", "1"], ["128", "512"]),
    "profile_serving.py": (["--repeats", "1", "--warmup", "1"], ["served_over_bare", "largest_differences"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_prints_its_json(script):
    args, keys = SCRIPTS[script]
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--backbone", "tiny-random-llama", *args],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert all(k in result for k in keys), sorted(result)


def test_make_bench_runs_every_measuring_script():
    """run_all.py's list names scripts that exist (the profiles are run by hand, not by `make bench`)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from run_all import BENCHMARKS as listed
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert {s for s, _ in listed} == {"train_step.py", "memory.py", "scaling.py", "inference.py", "deep.py", "serving.py"}
    assert all((BENCHMARKS / s).is_file() for s, _ in listed)
