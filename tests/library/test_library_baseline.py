"""Entries carry their task's majority baseline; `library add` warns at or below it, `--min-score`
refuses, `library list` and the server's task list flag it."""

from __future__ import annotations

import json
import shutil

import pytest

from clinical_mpt.library import Library
from clinical_mpt.library.baseline import baseline_status, refusal, warning
from clinical_mpt.library.entry import LibraryError


def config(type_="nli", metrics=None, majority=None):
    return {"task": "t", "type": type_, "metrics": metrics or {}, "majority": majority or {}}


MAJ = {"test": {"answer": "neutral", "metric": "macro_f1", "score": 0.2}}


def test_status_compares_the_primary_metric_on_the_same_split():
    assert baseline_status(config(metrics={"test": {"macro_f1": 0.5}}, majority=MAJ)) == {
        "split": "test", "metric": "macro_f1", "score": 0.5, "majority": 0.2, "below": False}
    assert baseline_status(config(metrics={"test": {"macro_f1": 0.2}}, majority=MAJ))["below"] is True  # at = below
    assert baseline_status(config(metrics={"dev": {"macro_f1": 0.9}}, majority=MAJ)) is None  # no common split
    assert baseline_status(config(metrics={"test": {"accuracy": 0.9}}, majority=MAJ)) is None  # not the primary


def test_refusal_reasons():
    good = config(metrics={"test": {"macro_f1": 0.5}}, majority=MAJ)
    assert refusal(good, 0.4) is None
    assert "below --min-score 0.6" in refusal(good, 0.6)
    low = config(metrics={"test": {"macro_f1": 0.1}}, majority=MAJ)
    assert "at or below the majority baseline 0.200" in refusal(low, 0.0)
    assert "no recorded score" in refusal(config(), 0.0)
    assert refusal(config(metrics={"dev": {"macro_f1": 0.7}}), 0.5) is None  # no baseline: the threshold alone
    assert warning(good) is None
    assert "always answering 'neutral'" in warning(config(metrics={"test": {"macro_f1": 0.1}}, majority=MAJ))


def test_entries_from_a_run_record_the_majority_baseline(tiny_run_and_library):
    _, lib = tiny_run_and_library
    lib = Library.open(lib)
    for name in lib.names():
        majority = lib.entry_config(name)["majority"]
        assert set(majority) == {"dev", "test"}, name  # teachers (source tasks) included
        assert all(0.0 <= row["score"] <= 1.0 and row["metric"] for row in majority.values())
    assert lib.entry_config("drug_mcqa")["majority"]["test"]["answer"] in "ABCD"


@pytest.fixture
def scored_run(tiny_run_and_library, tmp_path):
    """A copy of the tiny run whose mcqa target scored 0 (below its majority) and qa target 1."""
    run = shutil.copytree(tiny_run_and_library[0], tmp_path / "run")
    scores = {"drug_mcqa": {"accuracy": 0.0, "n": 6}, "dose_qa": {"f1": 1.0, "exact_match": 1.0, "n": 6}}
    for task, metrics in scores.items():
        path = run / "eval" / "mpt" / "full" / task / "metrics.json"
        path.write_text(json.dumps({"metrics": metrics}))
    return run


def test_add_warns_at_or_below_the_baseline_and_list_flags_it(scored_run, library_cli, tmp_path, capsys):
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(scored_run)]) == 0
    err = capsys.readouterr().err
    assert "warning: drug_mcqa: test accuracy 0.000 is at or below the majority baseline" in err
    assert "dose_qa" not in err
    assert library_cli(["list", str(lib)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert "AT/BELOW BASELINE" in lines["drug_mcqa"] and "majority" in lines["drug_mcqa"]
    assert "AT/BELOW BASELINE" not in lines["dose_qa"] and "majority" in lines["dose_qa"]


def test_min_score_refuses_below_baseline_and_unscored_entries(scored_run, library_cli, tmp_path, capsys):
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(scored_run), "--teachers", "--min-score", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "refused drug_mcqa: test accuracy 0.000 is at or below the majority baseline" in err
    assert "refused med_ner: no recorded score" in err  # the teachers were never scored
    assert Library.open(lib).names() == ["dose_qa"]
    assert library_cli(["add", str(tmp_path / "lib2"), "--from-run", str(scored_run), "--tasks", "dose_qa",
                        "--min-score", "1.5"]) == 1
    assert "below --min-score 1.5" in capsys.readouterr().err
    assert not (tmp_path / "lib2").exists()  # nothing to add: no library is created


def test_server_task_list_flags_below_baseline(scored_run, library_cli, tmp_path):
    from clinical_mpt.serve.engine import TaskPrompt

    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(scored_run), "--teachers"]) == 0
    entries = Library.open(lib).load_all()
    info = {name: TaskPrompt.from_entry(e).info() for name, e in entries.items()}
    assert info["drug_mcqa"]["below_baseline"] is True
    assert info["dose_qa"]["below_baseline"] is False
    assert info["med_ner"]["below_baseline"] is None  # no score: unknown


def test_method_teacher_adds_the_teachers_alone_even_before_the_targets_are_adapted(scored_run, library_cli,
                                                                                    tmp_path):
    shutil.rmtree(scored_run / "adapt")  # a run whose targets are not adapted yet
    with pytest.raises(LibraryError, match="no adapted prompts"):
        library_cli(["add", str(tmp_path / "x"), "--from-run", str(scored_run), "--teachers"])
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(scored_run), "--method", "teacher"]) == 0
    lib = Library.open(lib)
    assert lib.names() == sorted(t.name for t in (scored_run / "teachers").iterdir() if t.is_dir())
    assert {lib.entry_config(n)["method"] for n in lib.names()} == {"teacher"}
    assert all(set(lib.entry_config(n)["majority"]) == {"dev", "test"} for n in lib.names())


def test_method_teacher_adds_only_the_named_tasks(scored_run, library_cli, tmp_path):
    teachers = sorted(t.name for t in (scored_run / "teachers").iterdir() if t.is_dir())
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(scored_run), "--method", "teacher",
                        "--tasks", teachers[0]]) == 0
    assert Library.open(lib).names() == [teachers[0]]
    with pytest.raises(LibraryError, match="no teacher prompts for nope"):
        library_cli(["add", str(tmp_path / "y"), "--from-run", str(scored_run), "--method", "teacher",
                     "--tasks", "nope"])


def test_add_records_no_baseline_for_data_the_run_was_not_run_on(tiny_run_and_library, library_cli, tmp_path, capsys):
    """A suite regenerated after the run: its majority would be of other data than the entry's scores."""
    import yaml

    from clinical_mpt.data.identity import check_data, used_specs
    from clinical_mpt.data.suite import load_suite

    run = shutil.copytree(tiny_run_and_library[0], tmp_path / "run")
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    suite = shutil.copytree(cfg["data"]["suite"], tmp_path / "suite")
    check_data(run, suite, used_specs(load_suite(suite), [], []))    # what the run read
    cfg["data"]["suite"] = str(suite)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    test = suite / "target" / "drug_mcqa" / "test.jsonl"
    test.write_text(test.read_text().replace("Which", "Which one", 1))
    assert "Which one" in test.read_text()
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(run)]) == 0
    assert "now holds other data for drug_mcqa" in capsys.readouterr().err
    entries = Library.open(lib)
    assert entries.entry_config("drug_mcqa")["majority"] == {}
    assert set(entries.entry_config("dose_qa")["majority"]) == {"dev", "test"}
