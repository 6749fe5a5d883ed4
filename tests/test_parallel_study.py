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


def test_rows_sharing_artifacts_are_one_job_and_a_given_p_star_is_not_distilled(mini_suite, tmp_path):
    jobs = {j.name: j for j in _script().plan(str(TINY), _overrides(
        mini_suite, tmp_path, "methods=[mpt,mpt-vectors,pt]", f"adapt.meta_prompt={tmp_path / 'pstar'}"), shares=2)}
    assert sorted(jobs) == ["mpt+mpt-vectors-full", "pt-full"]  # mpt-vectors evaluates mpt's adapt/ prompts
    assert jobs["mpt+mpt-vectors-full"].needs == [] and "methods=[mpt,mpt-vectors]" in jobs["mpt+mpt-vectors-full"].commands[0]
    assert jobs["mpt+mpt-vectors-full"].rows == [("mpt", "full"), ("mpt-vectors", "full")]


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
    assert not (out / "results.json").exists()  # each job's one-row file is gone; run writes the study's
    assert "methods:\n- pt\n- mpt-full-prompt" in (out / "config.yaml").read_text().replace("  - ", "- ")
    made = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.name in ("prompt.safetensors", "metrics.json")}
    assert len(made) == 2 + 1 + 2 + 2  # two teachers, P*, two target prompts, two scores
    after = _run(["-m", "clinical_mpt", "run", str(TINY), *over], timeout=600)
    assert after.returncode == 0, after.stderr
    assert "teach: already done" in after.stdout and "distill: already done" in after.stdout
    assert {p: p.stat().st_mtime_ns for p in made} == made  # nothing trained or scored again
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


def _job(module, name, code: str, needs=(), priority=0):
    return module.Job(name, [[sys.executable, "-c", code]], list(needs), priority, rows=[(name, "full")])


def test_a_failed_job_skips_what_needs_it(tmp_path):
    m = _script()
    jobs = [_job(m, "a", "import sys; sys.exit(3)"), _job(m, "b", "pass", ["a"]), _job(m, "c", "pass")]
    m.schedule(jobs, tmp_path, max_jobs=2, deadline=float("inf"), env=dict(os.environ), poll=0.05)
    assert [j.state for j in jobs] == ["failed", "skipped", "done"]
    report = m.summary(jobs, 1.0)
    assert report["finished_rows"] == ["c full"] and report["missing_rows"] == ["a full", "b full"]


def test_the_deadline_stops_running_jobs_and_starts_none(tmp_path):
    m = _script()
    jobs = [_job(m, "slow", "import time; time.sleep(60)"), _job(m, "later", "pass", priority=5)]
    m.schedule(jobs, tmp_path, max_jobs=1, deadline=__import__("time").time() + 1.0, env=dict(os.environ), poll=0.05)
    assert [j.state for j in jobs] == ["stopped", "skipped"]
    assert jobs[0].proc.poll() is not None  # the process is gone, not orphaned


def _artifact(folder: Path, size: int) -> None:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "prompt.safetensors").write_bytes(b"x" * size)


def test_pack_leaves_out_only_tensors_nothing_will_read(tmp_path):
    m = _script()
    run = tmp_path / "study"
    _artifact(run / "teachers" / "med_ner", 10)                      # input teacher: kept
    _artifact(run / "teachers-deep" / "med_ner", m.BIG + 1)          # used up: distill-deep done
    (run / "distill-deep").mkdir()
    (run / "distill-deep" / "stage.json").write_text("{}")
    _artifact(run / "targets" / "pt" / "full" / "t1", 10)            # small, scored: kept whole
    _artifact(run / "targets" / "pt" / "k16-s0" / "t1", 10)          # k-shot, scored: tensor left out
    _artifact(run / "targets" / "prefix" / "full" / "t1", m.BIG + 1)  # large, not scored: whole folder out
    _artifact(run / "adapt" / "k16-s1-metaprompt" / "t1", 10)        # k-shot, not scored: whole folder out
    _artifact(run / "adapt" / "k16-s0-metaprompt" / "t1", 10)        # k-shot, scored: tensor left out
    _artifact(run / "adapt" / "k16-s0" / "t1", 10)                   # not scored (mpt's row): whole folder out
    for row in ("pt/full/t1", "pt/k16-s0/t1", "mpt-full-prompt/k16-s0/t1", "mpt-full-prompt/k16-s0/t2"):
        (run / "eval" / row).mkdir(parents=True)
        (run / "eval" / row / "metrics.json").write_text("{}")
    (run / "checkpoints" / "x").mkdir(parents=True)
    (run / "checkpoints" / "x" / "state.safetensors").write_text("x")
    kept = {str(p.relative_to(run)) for p in m.packed_files(run)}
    assert kept == {"teachers/med_ner/config.json", "teachers/med_ner/prompt.safetensors",
                    "teachers-deep/med_ner/config.json", "distill-deep/stage.json",
                    "targets/pt/full/t1/config.json", "targets/pt/full/t1/prompt.safetensors",
                    "targets/pt/k16-s0/t1/config.json", "adapt/k16-s0-metaprompt/t1/config.json",
                    "eval/pt/full/t1/metrics.json", "eval/pt/k16-s0/t1/metrics.json",
                    "eval/mpt-full-prompt/k16-s0/t1/metrics.json", "eval/mpt-full-prompt/k16-s0/t2/metrics.json"}
    parts = m.pack(run, tmp_path / "dest", part_bytes=64)
    assert len(parts) > 1 and all(p.stat().st_size <= 64 for p in parts)
    whole = tmp_path / "whole.tar.gz"
    whole.write_bytes(b"".join(p.read_bytes() for p in parts))
    import tarfile

    with tarfile.open(whole) as tar:
        assert len(tar.getnames()) == len(kept)
