"""Fixtures for the reliability tests: the tiny prompt library (built once per session by the real
pipeline, the same folder tests/serve and tests/library use), local backbone folders (a "lively" one
whose generations depend on the input, and one with other embeddings), one torch thread."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from reliability_helpers import REPO, save_backbone_folder

from one_thread import _one_torch_thread  # noqa: F401  (autouse for this folder)


def _serve_conftest():
    """tests/serve/conftest.py as a module (its `build_tiny_library` is reused, not copied)."""
    spec = importlib.util.spec_from_file_location("serve_conftest_for_reliability", REPO / "tests/serve/conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_library(mini_suite, tmp_path_factory) -> Path:
    """Read-only: 2 MPT targets (dose_qa, drug_mcqa) and 2 teachers (med_ner, problem_nli)."""
    return _serve_conftest().build_tiny_library(mini_suite, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def lively_folder(tmp_path_factory) -> Path:
    return save_backbone_folder(tmp_path_factory.mktemp("lively_backbone"), scale=10.0)


@pytest.fixture(scope="session")
def other_backbone_folder(tmp_path_factory) -> Path:
    """Same architecture and sizes as tiny-random-llama, other random embeddings (seed 1)."""
    return save_backbone_folder(tmp_path_factory.mktemp("other_backbone"), seed=1)
