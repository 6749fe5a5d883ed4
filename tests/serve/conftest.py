"""Fixtures for the engine and server tests: the tiny library (built once per session by the real
pipeline, shared with tests/library), and a "lively" tiny backbone whose generations depend on the
prompt and the input (the plain random tiny model answers ':' to everything)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from one_thread import _one_torch_thread  # noqa: F401  (autouse for this folder)

REPO = Path(__file__).resolve().parents[2]


def build_tiny_library(suite: Path, base: Path) -> Path:
    """Same as tests/library/conftest.py: `clinical-mpt run` on the mini suite, then `library add`."""
    from clinical_mpt.commands import library

    run, lib = base / "tiny_run", base / "tiny_library"
    if not (lib / "manifest.json").is_file():
        cmd = [sys.executable, "-m", "clinical_mpt", "run", "configs/tiny.yaml", f"data.suite={suite}",
               "data.source_tasks=[]", "data.target_tasks=[]", "--out", str(run)]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))
        assert proc.returncode == 0, proc.stderr[-3000:]
        parser = argparse.ArgumentParser()
        library.configure(parser)
        assert library.main(parser.parse_args(["add", str(lib), "--from-run", str(run), "--teachers"])) == 0
    return lib


@pytest.fixture(scope="session")
def tiny_library(mini_suite, tmp_path_factory) -> Path:
    return build_tiny_library(mini_suite, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def lively_backbone():
    """tiny-random-llama with its attention and MLP output weights scaled x10 (same fingerprint)."""
    from clinical_mpt.backbone import load_backbone

    backbone = load_backbone("tiny-random-llama", "float32")
    with torch.no_grad():
        for name, p in backbone.model.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight", "q_proj.weight", "k_proj.weight")):
                p.mul_(10)
    return backbone
