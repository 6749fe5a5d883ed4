"""`library score`: entries scored on a split of a config's suite, as evaluation scores them, and the
scores (with the majority baseline on the same examples) recorded in each entry."""

from __future__ import annotations

import json
import shutil

import pytest

from clinical_mpt.library import Library
from clinical_mpt.library.store import LibraryError


def _score(library_cli, lib, suite, *extra) -> int:
    return library_cli(["score", str(lib), "configs/tiny.yaml", f"data.suite={suite}", *extra])


def test_scoring_the_test_split_reproduces_the_runs_own_evaluation(tiny_run_and_library, mini_suite, library_cli,
                                                                   tmp_path):
    """The target entries' recorded test metrics came from the run's evaluation; scoring the entries
    again on the same split, with the same config, gives the same numbers (one decoder, same prompt)."""
    run, lib = tiny_run_and_library
    lib = shutil.copytree(lib, tmp_path / "lib")
    targets = ["dose_qa", "drug_mcqa"]
    assert _score(library_cli, lib, mini_suite, "--split", "test", "--tasks", ",".join(targets)) == 0
    for task in targets:
        ran = json.loads((run / "eval" / "mpt" / "full" / task / "metrics.json").read_text())
        scored = Library.open(lib).entry_config(task)["metrics"]["test"]
        assert scored == pytest.approx(ran.get("metrics", ran)), task


def test_dev_scores_and_baseline_are_recorded_beside_the_test_ones(tiny_run_and_library, mini_suite, library_cli,
                                                                   tmp_path, capsys):
    _, original = tiny_run_and_library
    before = Library.open(original)
    lib = shutil.copytree(original, tmp_path / "lib")
    assert _score(library_cli, lib, mini_suite) == 0  # every entry, dev split
    captured = capsys.readouterr()
    out = captured.out
    opened = Library.open(lib)
    assert opened.verify() == []  # rewritten through the store: checksums match
    for name in opened.names():
        config = opened.entry_config(name)
        dev, majority = config["metrics"]["dev"], config["majority"]["dev"]
        assert dev["n"] == 4 and 0.0 <= majority["score"] <= 1.0, name  # the mini suite's 4 dev examples
        assert majority["metric"] in dev and f"{name:<28}dev {majority['metric']} {dev[majority['metric']]:.3f}" in out
        assert config["metrics"].get("test") == before.entry_config(name)["metrics"].get("test"), name  # kept
        assert "library score" in config["source"]["scored_dev_with"]
        assert opened.load(name).prompt.equal(before.load(name).prompt), name  # the prompt itself untouched
        below = dev[majority["metric"]] <= majority["score"]  # warned on the scored split, even where test has numbers
        assert (f"warning: {name}: dev {majority['metric']}" in captured.err) == below, name


def test_a_task_the_suite_lacks_is_refused_before_the_backbone_loads(tiny_run_and_library, mini_suite, library_cli,
                                                                    tmp_path):
    _, lib = tiny_run_and_library
    suite = shutil.copytree(mini_suite, tmp_path / "suite")
    meta = json.loads((suite / "suite.json").read_text())
    meta["tasks"] = [t for t in meta["tasks"] if t["name"] != "dose_qa"]
    (suite / "suite.json").write_text(json.dumps(meta))
    with pytest.raises(LibraryError, match="the suite has no task dose_qa"):
        _score(library_cli, lib, suite)
