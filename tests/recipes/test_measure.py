"""results.json carries intervals, paired deltas, the majority row and the classification mode
(a real `clinical-mpt run` on the mini suite and tiny-random-llama)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
TARGETS = ["dose_qa", "drug_mcqa"]


@pytest.fixture(scope="module")
def results(mini_suite, tmp_path_factory):
    from clinical_mpt.cli import main

    out = tmp_path_factory.mktemp("measured")
    argv = ["run", str(TINY), f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]",
            "teach.steps=2", "distill.train.steps=2", "adapt.train.steps=2", "baselines.pt.steps=2",
            "methods=[mpt,pt]", "protocol.shots=[2]", "protocol.seeds=[0,1]", "--out", str(out)]
    assert main(argv) == 0
    return json.loads((out / "results.json").read_text()), out


def inside(ci, value):
    return ci[0] - 1e-9 <= value <= ci[1] + 1e-9


def test_every_task_and_average_has_an_interval(results):
    res, _ = results
    for name, m in res["methods"].items():
        for t in TARGETS:
            task = m["tasks"][t]
            assert task["metrics"]["n"] == 6  # the whole test split
            assert inside(task["ci95"], task["score"])
        assert inside(m["average_ci95"], m["average"])
        shot = m["shots"]["2"]
        assert inside(shot["ci95"], shot["average"])
        for t in TARGETS:
            assert inside(shot["tasks"][t]["ci95"], shot["tasks"][t]["score"])


def test_paired_deltas_at_full_data_and_k_shot(results):
    res, _ = results
    paired = {(p["a"], p["b"], p["setting"]): p for p in res["paired"]}
    assert set(paired) == {("mpt", "pt", "full"), ("mpt", "pt", "k2")}
    full = paired[("mpt", "pt", "full")]
    assert full["delta"] == pytest.approx(res["methods"]["mpt"]["average"] - res["methods"]["pt"]["average"])
    assert inside(full["ci95"], full["delta"]) and full["seeds"] == 1 and full["tasks"] == 2
    k2 = paired[("mpt", "pt", "k2")]
    assert k2["delta"] == pytest.approx(res["methods"]["mpt"]["shots"]["2"]["average"]
                                        - res["methods"]["pt"]["shots"]["2"]["average"])
    assert k2["seeds"] == 2


def test_majority_row_and_classification_mode(results):
    res, out = results
    assert res["classification"] == "rank"
    assert res["bootstrap"]["resamples"] == 1000
    assert "majority" not in res["methods"]
    majority = res["majority"]  # laid out as a method, so the report shows it as a row
    maj = majority["tasks"]
    assert set(maj) == set(TARGETS) and majority["trainable_parameters"] == 0 and majority["shots"] == {}
    assert maj["drug_mcqa"]["metric"] == "accuracy" and maj["drug_mcqa"]["answer"] in "ABCD"
    assert maj["drug_mcqa"]["metrics"]["n"] == 6
    assert majority["average"] == pytest.approx((maj["dose_qa"]["score"] + maj["drug_mcqa"]["score"]) / 2)
    record = json.loads((out / "eval" / "pt" / "full" / "drug_mcqa" / "metrics.json").read_text())
    assert record["classification"] == "rank"
    pred = json.loads((out / "eval" / "pt" / "full" / "drug_mcqa" / "predictions.jsonl").read_text().splitlines()[0])
    assert set(pred["option_logprobs"]) == {"A", "B", "C", "D"}
    qa = json.loads((out / "eval" / "pt" / "full" / "dose_qa" / "metrics.json").read_text())
    assert qa["classification"] == "generate"  # generation tasks are never ranked


def test_classification_mode_is_checked():
    from clinical_mpt.config import load_config
    from clinical_mpt.errors import ConfigError

    assert load_config(TINY, []).eval.classification == "rank"
    assert load_config(TINY, ["eval.classification=generate"]).eval.classification == "generate"
    with pytest.raises(ConfigError, match="classification"):
        load_config(TINY, ["eval.classification=vote"])


def test_the_report_reads_the_measured_results(results):
    from clinical_mpt.report.load import load_results
    from clinical_mpt.report.markdown import render_report

    text = render_report(load_results(results[1]), {})
    assert "majority" in text.lower()


def test_intervals_use_only_this_runs_settings(results, mini_suite, tmp_path):
    """Rerun with one seed in a copy of the folder: the k-shot interval and pairing ignore the
    predictions of seed 1 still on disk."""
    import shutil

    from clinical_mpt.cli import main

    out = shutil.copytree(results[1], tmp_path / "again")
    argv = ["run", str(TINY), f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]",
            "teach.steps=2", "distill.train.steps=2", "adapt.train.steps=2", "baselines.pt.steps=2",
            "methods=[mpt,pt]", "protocol.shots=[2]", "protocol.seeds=[0]", "--out", str(out)]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert (out / "eval" / "mpt" / "k2-s1" / "dose_qa" / "predictions.jsonl").is_file()
    k2 = next(p for p in res["paired"] if p["setting"] == "k2")
    assert k2["seeds"] == 1
    shot = res["methods"]["mpt"]["shots"]["2"]
    assert shot["std"] == 0.0 and inside(shot["ci95"], shot["average"])


def test_every_meta_prompt_method_is_paired_with_every_reference_the_run_has():
    """deep-mpt and mpt against pt, lora and prefix (the deep methods' single-task counterpart);
    references and methods without a meta-prompt are never the `a` side."""
    from clinical_mpt.recipes.measure import paired_entries

    scores = {"mpt": 0.5, "deep-mpt": 0.6, "pt": 0.4, "lora": 0.9, "prefix": 0.7, "zero-shot": 0.0}
    cells = {(m, "full", "t"): (lambda idx, v=v: v) for m, v in scores.items()}  # a constant metric per method
    methods = {m: {"shots": {}} for m in scores}
    paired = {(p["a"], p["b"]): p for p in paired_entries(methods, cells, {"t": 5})}
    assert set(paired) == {(a, b) for a in ("mpt", "deep-mpt") for b in ("pt", "lora", "prefix")}
    assert paired[("deep-mpt", "prefix")]["delta"] == pytest.approx(-0.1)
    assert paired[("deep-mpt", "prefix")]["ci95"] == pytest.approx([-0.1, -0.1])
