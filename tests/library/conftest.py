"""A tiny prompt library built by the real pipeline (`clinical-mpt run` on tiny-random-llama, then
`library add --from-run --teachers`): 2 MPT target entries (qa, mcqa) and 2 teachers (ner, nli)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from one_thread import _one_torch_thread  # noqa: F401  (autouse for this folder)

REPO = Path(__file__).resolve().parents[2]


def run_library_cli(argv: list[str]) -> int:
    """Run `clinical-mpt library ARGV` in-process through the command module."""
    from clinical_mpt.commands import library

    parser = argparse.ArgumentParser()
    library.configure(parser)
    return library.main(parser.parse_args(argv))


def build_tiny_library(suite: Path, base: Path) -> tuple[Path, Path]:
    """(run folder, library folder) under `base`, built once per session (reused if present)."""
    run, lib = base / "tiny_run", base / "tiny_library"
    if not (lib / "manifest.json").is_file():
        cmd = [sys.executable, "-m", "clinical_mpt", "run", "configs/tiny.yaml", f"data.suite={suite}",
               "data.source_tasks=[]", "data.target_tasks=[]", "--out", str(run)]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert run_library_cli(["add", str(lib), "--from-run", str(run), "--teachers"]) == 0
    return run, lib


@pytest.fixture(scope="session")
def tiny_run_and_library(mini_suite, tmp_path_factory) -> tuple[Path, Path]:
    return build_tiny_library(mini_suite, tmp_path_factory.getbasetemp())


@pytest.fixture
def library_cli():
    """`library_cli([...])` runs `clinical-mpt library ...` in-process and returns its exit code."""
    return run_library_cli
