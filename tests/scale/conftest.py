"""Fixtures of the scale-out tests (helpers in scale_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scale_helpers import ARCHITECTURES, build_tiny_model


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """A local HF folder per backbone family: {"llama": DIR, "qwen2": DIR, "gpt_oss": DIR}."""
    base = tmp_path_factory.mktemp("tiny_models")
    return {arch: build_tiny_model(arch, base / arch) for arch in ARCHITECTURES}


@pytest.fixture(autouse=True)
def _one_thread():
    """In-process work single-threaded too (see scale_helpers); restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
