"""scripts/parallel_study.py: a study config as many processes at once. The job graph (teacher shares,
each depth's distillation after its shares, MPT rows after their depth's P*, baselines at once, full data
before the k-shot draws), then a real run on the mini suite with tiny-random-llama: every row finishes,
and `clinical-mpt run` afterwards reuses every stage and result by key; at a deadline the jobs still
running are stopped and parallel.json names the rows that did not finish."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "parallel_study.py"
TINY = ROOT / "configs" / "tiny.yaml"


def _script():
    spec = importlib.util.spec_from_file_location("parallel_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _overrides(suite: Path, out: Path, *extra: str) -> list[str]:
    return [f"data.suite={suite}", "data.source_tasks=[]", "data.target_tasks=[dose_qa]", f"out={out}",
            "teach.steps=2", "distill.train.steps=2", "adapt.train.steps=2", "adapt.deep.steps=2",
            "baselines.pt.steps=2", *extra]


def test_the_job_graph(mini_suite, tmp_path):
    jobs = {j.name: j for j in _script().plan(str(TINY), _overrides(
        mini_suite, tmp_path, "methods=[zero-shot,pt,mpt-full-prompt,deep-mpt-full-prompt]", "protocol.shots=[4]",
        "protocol.seeds=[0,1]", "protocol.shot_methods=[pt,mpt-full-prompt]"), shares=2)}
    assert sorted(jobs) == sorted([
        "teach-input-0", "teach-input-1", "distill-input", "teach-deep-0", "teach-deep-1", "distill-deep",
        "zero-shot-full", "pt-full", "mpt-full-prompt-full", "deep-mpt-full-prompt-full",
        "pt-k4-s0", "pt-k4-s1", "mpt-full-prompt-k4-s0", "mpt-full-prompt-k4-s1"])
    assert jobs["teach-input-0"].commands[0][-4:] == ["--depth", "input", "--task", "med_ner"]
    assert jobs["teach-input-1"].commands[0][-2:] == ["--task", "problem_nli"]
    assert jobs["distill-deep"].needs == ["teach-deep-0", "teach-deep-1"]
    assert [c[3] for c in jobs["distill-deep"].commands] == ["teach", "distill"]
    assert jobs["mpt-full-prompt-k4-s1"].needs == ["distill-input"]
    assert jobs["deep-mpt-full-prompt-full"].needs == ["distill-deep"]
    assert jobs["pt-full"].needs == [] and jobs["zero-shot-full"].needs == []
    assert jobs["pt-k4-s1"].commands[0][-4:] == ["protocol.full_data=false", "protocol.shots=[4]",
                                                 "protocol.seeds=[1]", "protocol.shot_methods=[pt]"]
    order = [jobs[n].priority for n in ("teach-deep-0", "distill-deep", "pt-full", "pt-k4-s0", "pt-k4-s1")]
    assert order == sorted(order) and len(set(order)) == 5
    assert jobs["pt-k4-s1"].rows == [("pt", "k4-s1")]


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, **kw)


@pytest.mark.slow
def test_a_parallel_run_is_reused_by_run(mini_suite, tmp_path):
    out = tmp_path / "run"
    over = _overrides(mini_suite, out, "methods=[pt,mpt-full-prompt]")
    done = _run([str(SCRIPT), str(TINY), *over, "--jobs", "3", "--shares", "2"], timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "parallel.json").read_text())
    assert report["finished_rows"] == ["mpt-full-prompt full", "pt full"] and report["missing_rows"] == []
    assert {j["state"] for j in report["jobs"]} == {"done"}
    assert json.loads((out / "teachers" / "stage.json").read_text())["tasks"] == ["med_ner", "problem_nli"]
    after = _run(["-m", "clinical_mpt", "run", str(TINY), *over], timeout=600)
    assert after.returncode == 0, after.stderr
    assert "teach: already done" in after.stdout and "distill: already done" in after.stdout
    assert "step/s" not in after.stderr  # nothing trained again
    assert set(json.loads((out / "results.json").read_text())["methods"]) == {"pt", "mpt-full-prompt"}


def test_the_deadline_stops_and_names_what_is_missing(mini_suite, tmp_path):
    out = tmp_path / "run"
    done = _run([str(SCRIPT), str(TINY), *_overrides(mini_suite, out, "methods=[pt,mpt]"), "--deadline", "0.5",
                 "--jobs", "2"], timeout=120)
    assert done.returncode == 1
    report = json.loads((out / "parallel.json").read_text())
    assert report["finished_rows"] == [] and report["missing_rows"] == ["mpt full", "pt full"]
    states = {j["name"]: j["state"] for j in report["jobs"]}
    assert states["teach-input-0"] == "stopped" and states["mpt-full"] == "skipped"
    assert "deadline: stopped the jobs still running" in done.stdout
