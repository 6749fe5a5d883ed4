"""Fixtures: a hand-written results.json (7 methods, 5 target tasks of 4 types, k = 0/4/16 with two
seeds) and a few training logs, in the layout `clinical-mpt run` writes (tests/report/fixtures/run)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

FIXTURE_RUN = Path(__file__).parent / "fixtures" / "run"


@pytest.fixture
def results() -> dict:
    return copy.deepcopy(json.loads((FIXTURE_RUN / "results.json").read_text()))


@pytest.fixture
def fixture_run() -> Path:
    """The read-only fixture run folder (never write into it)."""
    return FIXTURE_RUN


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A writable copy of the fixture run folder."""
    return Path(shutil.copytree(FIXTURE_RUN, tmp_path / "run"))
