"""Helpers of the scale-out tests: tiny random models of each backbone family of the study, saved as
local HF folders (config + safetensors + tokenizer; nothing downloaded), and a CLI runner.

CLINICAL_MPT_TEST_DEVICE=cuda (benchmarks/gpu.sh) runs the end-to-end tests on the GPU in bf16; the
default is the CPU in fp32. Subprocesses run single-threaded: on a small shared CPU, two torch
threads per process fight over the cores and a step is many times slower.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
TINY = "configs/tiny.yaml"
VOCAB = 259  # clinical_mpt.backbone.tiny_tokenizer(): 3 specials + 256 bytes
CHAT_TEMPLATE = "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"


def target_device() -> str:
    return os.environ.get("CLINICAL_MPT_TEST_DEVICE", "cpu")


def device_overrides() -> list[str]:
    """CLI overrides that put a tiny run on the test device (bf16 on CUDA)."""
    dev = target_device()
    return [f"backbone.device={dev}"] + (["backbone.dtype=bfloat16"] if dev.startswith("cuda") else [])


def cli_env(**extra) -> dict:
    return dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1",
                TOKENIZERS_PARALLELISM="false", **extra)


def run_cli(*args, env: dict | None = None, timeout: int = 240, launcher: list[str] | None = None):
    """`python -m clinical_mpt ARGS` (or `LAUNCHER -m clinical_mpt ARGS`) from the repo root."""
    cmd = (launcher or [sys.executable]) + ["-m", "clinical_mpt", *map(str, args)]
    return subprocess.run(cmd, cwd=REPO, env=env or cli_env(), capture_output=True, text=True, timeout=timeout)


BATCH = ["teach.batch_size=5", "distill.train.batch_size=5", "adapt.train.batch_size=5"]  # uneven 2 + 3 shards


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_launch_env() -> dict:
    """The environment of a CPU launch (gloo): ACCELERATE_USE_CPU, and no GPU visible."""
    return cli_env(ACCELERATE_USE_CPU="1", CUDA_VISIBLE_DEVICES="")


def config_launch(config: str, processes: int = 2) -> list[str]:
    """`accelerate launch --config_file configs/accelerate/CONFIG` with `processes` processes, on a free port."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
            str(REPO / "configs" / "accelerate" / config), "--num_processes", str(processes),
            "--main_process_port", str(free_port())]


def sharded_and_single(launcher: list[str], suite: Path, base: Path, name: str, *extra: str):
    """A 2-stage-complete `run` (teachers, distill, adapt, mpt + pt, 1-shot) under a sharding launch and
    in one process (see launched_and_single)."""
    args = ["run", TINY, *suite_overrides(suite), *BATCH, "distill.teacher_cache=disk", "backbone.device=cpu",
            *extra, "protocol.shots=[1]", "protocol.seeds=[0]", "methods=[mpt,pt]"]
    return launched_and_single(launcher, cpu_launch_env(), args, base, name)


def refused_launch(launcher: list[str], suite: Path, out: Path, method: str):
    """`evaluate` of a weight-training method under a sharding launch (it must be refused)."""
    args = ["evaluate", TINY, *suite_overrides(suite), "backbone.device=cpu", f"methods=[{method}]"]
    return subprocess.run(launcher + ["-m", "clinical_mpt", *args, "--out", str(out)], cwd=REPO,
                          env=cpu_launch_env(), capture_output=True, text=True, timeout=300)


def launched_and_single(launcher: list[str], env: dict, args: list, base: Path, name: str):
    """`LAUNCHER -m clinical_mpt ARGS --out BASE/NAME` and the same in one process (--out BASE/single),
    started together -> (launched out folder, single out folder, the launch's stdout)."""
    launched = subprocess.Popen(launcher + ["-m", "clinical_mpt", *map(str, args), "--out", str(base / name)],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    single = run_cli(*args, "--out", base / "single")
    out, err = launched.communicate(timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    assert launched.returncode == 0, (out + err)[-4000:]
    return base / name, base / "single", out


def assert_same_prompts(launched: Path, single: Path, folders: list[tuple[str, ...]]) -> None:
    """Each folder's prompt.safetensors holds the same tensors in both runs (within 2e-5)."""
    from safetensors.torch import load_file

    for parts in folders:
        a, b = (load_file(d.joinpath(*parts, "prompt.safetensors")) for d in (launched, single))
        assert a.keys() == b.keys()
        for k in a:
            assert torch.allclose(a[k], b[k], atol=2e-5, rtol=1e-4), (parts, k, (a[k] - b[k]).abs().max())


def assert_same_training_as_one_process(launched: Path, single: Path) -> None:
    """A sharded launch (FSDP, ZeRO-3) trained every prompt as one process did, and - every rank having
    generated every row - scored and predicted exactly as it did."""
    import json

    assert_same_prompts(launched, single, [("teachers", "med_ner"), ("teachers", "problem_nli"), ("distill",),
                                           ("adapt", "full", "dose_qa"), ("adapt", "k1-s0", "drug_mcqa"),
                                           ("targets", "pt", "full", "dose_qa")])
    ra, rb = (json.loads((d / "results.json").read_text())["methods"] for d in (launched, single))
    for method in ("mpt", "pt"):
        assert {t: v["score"] for t, v in ra[method]["tasks"].items()} == \
            {t: v["score"] for t, v in rb[method]["tasks"].items()}
    assert (launched / "eval/mpt/full/dose_qa/predictions.jsonl").read_text() == \
        (single / "eval/mpt/full/dose_qa/predictions.jsonl").read_text()


def suite_overrides(suite: Path) -> list[str]:
    return [f"data.suite={suite}", "data.source_tasks=[]", "data.target_tasks=[]"]


def _config(arch: str):
    """A tiny config of each family: 2 layers, d = 64, vocab of the byte tokenizer."""
    from transformers import GptOssConfig, LlamaConfig, Qwen2Config

    common = dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    if arch == "llama":
        return LlamaConfig(intermediate_size=128, max_position_embeddings=2048, tie_word_embeddings=True, **common)
    if arch == "qwen2":
        return Qwen2Config(intermediate_size=128, max_position_embeddings=2048, tie_word_embeddings=True, **common)
    if arch == "gpt_oss":  # MoE, attention sinks, a sliding window (8) shorter than prompt + text
        return GptOssConfig(intermediate_size=64, head_dim=16, num_local_experts=4, num_experts_per_tok=2,
                            sliding_window=8, layer_types=["sliding_attention", "full_attention"],
                            max_position_embeddings=131072, tie_word_embeddings=False, **common)
    raise ValueError(arch)


ARCHITECTURES = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "gpt_oss": "GptOssForCausalLM"}


def build_tiny_model(arch: str, folder: Path, seed: int = 0) -> Path:
    """Save a seeded random model of `arch` and a tokenizer into `folder` (a local HF model folder).

    Tokenizers differ as real ones do: llama has a pad token, qwen2 none (eos doubles as pad), gpt-oss
    a chat template (never applied: prompts and task templates go in as plain text).
    """
    from transformers import AutoModelForCausalLM

    from clinical_mpt.backbone import tiny_tokenizer

    config = _config(arch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    tok = tiny_tokenizer()
    if arch == "qwen2":
        tok.pad_token = None
    if arch == "gpt_oss":
        tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(folder)
    return folder
