"""Helpers shared by the reliability tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from live_server import LiveServer, free_port  # noqa: F401  (re-exported for the reliability tests)

REPO = Path(__file__).resolve().parents[2]


def run_cli(args: list, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m clinical_mpt ARGS` from the repository root, one torch thread, offline."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "clinical_mpt", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def save_backbone_folder(folder: Path, seed: int = 0, scale: float = 1.0) -> Path:
    """tiny-random-llama (seeded) saved as a local HF folder (safetensors). `scale` multiplies the
    attention and MLP output weights: x10 makes generations depend on the input (the plain tiny
    model answers ':' to everything) while keeping the backbone fingerprint (embeddings unchanged)."""
    from clinical_mpt.backbone import tiny_random_llama, tiny_tokenizer

    model = tiny_random_llama(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight", "q_proj.weight", "k_proj.weight")):
                p.mul_(scale)
    model.save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return folder
