"""`teach --task`: the teachers split over processes. Each share trains only its own teachers with the
stage's key; the stage is marked done (stage.json with every teacher's seconds, gate.json) by the run that
finds every teacher finished, and a teacher trained in a share is reused, not retrained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinical_mpt.config import load_config
from clinical_mpt.errors import ConfigError

TINY = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"


def _cfg(mini_suite):
    return load_config(TINY, [f"data.suite={mini_suite}", "data.source_tasks=[med_ner, problem_nli]",
                              "data.target_tasks=[]", "teach.steps=2", "teach.gate=warn"])


def test_shares_then_the_stage(tiny_backbone, mini_suite, tmp_path):
    from clinical_mpt.recipes.teach import run_teach

    cfg = _cfg(mini_suite)
    teachers = tmp_path / "teachers"
    run_teach(cfg, tiny_backbone, tmp_path, tasks=["problem_nli"])
    assert (teachers / "problem_nli" / "prompt.safetensors").is_file()
    assert not (teachers / "med_ner").exists()
    assert not (teachers / "stage.json").exists() and not (teachers / "gate.json").exists()
    nli = json.loads((teachers / "problem_nli" / "config.json").read_text())
    assert nli["seconds"] > 0

    run_teach(cfg, tiny_backbone, tmp_path, tasks=["med_ner"])  # the last share finishes the stage
    stage = json.loads((teachers / "stage.json").read_text())
    ner = json.loads((teachers / "med_ner" / "config.json").read_text())
    assert stage["tasks"] == ["med_ner", "problem_nli"]
    assert stage["seconds"] == pytest.approx(nli["seconds"] + ner["seconds"], abs=0.11)
    assert [r["task"] for r in json.loads((teachers / "gate.json").read_text())["teachers"]] == ["med_ner",
                                                                                                 "problem_nli"]
    before = (teachers / "problem_nli" / "prompt.safetensors").stat().st_mtime_ns
    run_teach(cfg, tiny_backbone, tmp_path)  # already done: nothing retrained
    assert (teachers / "problem_nli" / "prompt.safetensors").stat().st_mtime_ns == before


def test_a_share_finished_by_a_whole_run(tiny_backbone, mini_suite, tmp_path):
    from clinical_mpt.recipes.teach import run_teach

    cfg = _cfg(mini_suite)
    run_teach(cfg, tiny_backbone, tmp_path, tasks=["med_ner"])
    before = (tmp_path / "teachers" / "med_ner" / "prompt.safetensors").stat().st_mtime_ns
    run_teach(cfg, tiny_backbone, tmp_path)  # trains the rest only
    assert (tmp_path / "teachers" / "med_ner" / "prompt.safetensors").stat().st_mtime_ns == before
    assert json.loads((tmp_path / "teachers" / "stage.json").read_text())["tasks"] == ["med_ner", "problem_nli"]


def test_unknown_task_is_named(tiny_backbone, mini_suite, tmp_path):
    from clinical_mpt.recipes.teach import run_teach

    with pytest.raises(ConfigError, match=r"teach --task nope: not a source task of this run \(med_ner, problem_nli\)"):
        run_teach(_cfg(mini_suite), tiny_backbone, tmp_path, tasks=["nope"])
