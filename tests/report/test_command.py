"""`clinical-mpt report DIR [--out OUT_DIR]`: what it writes, and its errors (exit 2 through the CLI)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import pytest

from clinical_mpt import cli
from clinical_mpt.commands import report as command
from clinical_mpt.errors import ArtifactError, ClinicalMPTError, DataError
from clinical_mpt.report import tables

OUTPUTS = {"report.md", "results.csv", "plot_tasks.png", "plot_fewshot.png", "plot_loss.png"}


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.configure(parser)
    return parser.parse_args(list(argv))


def test_writes_into_out(fixture_run, tmp_path, capsys):
    out = tmp_path / "report"
    assert command.main(args(str(fixture_run), "--out", str(out))) == 0
    assert {p.name for p in out.iterdir()} == OUTPUTS  # nothing else, no temporary files left
    text = (out / "report.md").read_text()
    assert "| MPT (u, v)" in text and "](plot_fewshot.png)" in text and "1 unreadable log line(s)" in text
    assert (out / "results.csv").read_text().count("\n") == 1 + 46
    assert "wrote" in capsys.readouterr().out


def test_defaults_to_the_run_folder_and_overwrites(run_dir):
    command.main(args(str(run_dir)))
    assert OUTPUTS <= {p.name for p in run_dir.iterdir()}
    (run_dir / "report.md").write_text("old")
    command.main(args(str(run_dir), "--no-plots"))
    assert (run_dir / "report.md").read_text().startswith("# Results: fixture-study")
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]


def test_no_plots(fixture_run, tmp_path):
    out = tmp_path / "report"
    command.main(args(str(fixture_run), "--out", str(out), "--no-plots"))
    assert {p.name for p in out.iterdir()} == {"report.md", "results.csv"}
    assert ".png" not in (out / "report.md").read_text()


def test_no_logs_no_kshot(run_dir, tmp_path):
    for sub in ("teachers", "distill", "adapt", "targets"):
        for p in sorted((run_dir / sub).rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    results = json.loads((run_dir / "results.json").read_text())
    for m in results["methods"].values():
        m["shots"] = {}
    (run_dir / "results.json").write_text(json.dumps(results))
    out = tmp_path / "report"
    command.main(args(str(run_dir), "--out", str(out)))
    assert {p.name for p in out.iterdir()} == {"report.md", "results.csv", "plot_tasks.png"}
    text = (out / "report.md").read_text()
    assert "No k-shot results" in text and "No training logs" in text


def test_missing_run_folder_and_file(tmp_path):
    with pytest.raises(ArtifactError, match="no such run folder"):
        command.main(args(str(tmp_path / "nope")))
    with pytest.raises(ArtifactError, match="results.json: not found; run `clinical-mpt run"):
        command.main(args(str(tmp_path)))


@pytest.mark.parametrize("text, error, message", [
    ('{"methods": {', DataError, r"results.json:1: invalid JSON"),
    ("[1, 2]", ArtifactError, "the top level must be a JSON object"),
    ('{"name": "x"}', ArtifactError, "methods is missing"),
    ('{"methods": {}}', ArtifactError, "methods must be a non-empty object"),
])
def test_malformed_results(tmp_path, text, error, message):
    (tmp_path / "results.json").write_text(text)
    with pytest.raises(error, match=message):
        command.main(args(str(tmp_path)))
    assert not (tmp_path / "report.md").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["methods"]["mpt"]["tasks"]["med_ner"].pop("score"), "methods.mpt.tasks.med_ner.score is missing"),
    (lambda r: r["methods"]["pt"].update(trainable_fraction="1%"), "methods.pt.trainable_fraction must be a finite number"),
    (lambda r: r["methods"]["mpt"]["tasks"]["med_ner"].update(score=float("nan")),
     "methods.mpt.tasks.med_ner.score must be a finite number"),
    (lambda r: r["methods"]["lora"]["shots"]["4"]["tasks"]["dose_qa"].update(scores=[]),
     "methods.lora.shots.4.tasks.dose_qa.scores must be a non-empty list"),
    (lambda r: r["methods"]["lora"]["shots"].update(four={}), "methods.lora.shots.four must be keyed by a number"),
    (lambda r: r["methods"]["full"].update(average="high"), "methods.full.average must be a finite number or null"),
])
def test_wrong_layout_names_the_key(run_dir, results, edit, message):
    edit(results)
    (run_dir / "results.json").write_text(json.dumps(results))
    with pytest.raises(ArtifactError, match=message):
        command.main(args(str(run_dir)))


def test_a_method_without_average_is_reported_with_the_average_missing(run_dir, results):
    """`average` may be null or absent (e.g. a hand-merged results.json): the cell shows as missing."""
    del results["methods"]["pt"]["average"]
    (run_dir / "results.json").write_text(json.dumps(results))
    command.main(args(str(run_dir), "--no-plots"))
    row = next(line for line in (run_dir / "report.md").read_text().splitlines() if line.startswith("| Prompt tuning"))
    cells = [c.strip() for c in row.strip("| ").split("|")]
    assert cells[1:6] == ["0.600", "0.550", "0.700", "0.500", "0.400"] and cells[6] == tables.MISSING


def test_the_header_shows_descriptive_fields_as_the_file_has_them(run_dir, results):
    """backbone / config / seconds only describe the run and are not checked: odd values are shown, not fatal."""
    results["backbone"].update(architecture=True, num_parameters="135M", embedding_sha256=12345, hidden_size=None)
    results["config"]["protocol"].update(shots=16, seeds="0-1")
    results["seconds"] = "long"
    (run_dir / "results.json").write_text(json.dumps(results))
    command.main(args(str(run_dir), "--no-plots"))
    text = (run_dir / "report.md").read_text()
    assert "(True, 135M parameters, vocabulary 49152)" in text and "`12345…`" in text
    assert "k = 16 (seeds 0-1)" in text and "**Run time:** ?" in text


def test_cli_exit_code_2(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no such run folder" in err and "Traceback" not in err
    assert issubclass(ArtifactError, ClinicalMPTError)


@pytest.mark.skipif("report" not in cli.COMMANDS, reason="`report` is not registered in clinical_mpt.cli.COMMANDS yet")
def test_real_cli(fixture_run, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    missing = subprocess.run([sys.executable, "-m", "clinical_mpt", "report", str(tmp_path / "missing")],
                             capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr
    ok = subprocess.run([sys.executable, "-m", "clinical_mpt", "report", str(fixture_run), "--out", str(tmp_path / "r"),
                         "--no-plots"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "r" / "report.md").is_file()


@pytest.mark.parametrize("edit, where", [
    (lambda r: r["methods"]["mpt"]["tasks"]["med_ner"].update(ci95=[0.9, 0.1]), "methods.mpt.tasks.med_ner.ci95"),
    (lambda r: r["methods"]["mpt"].update(average_ci95=[0.1]), "methods.mpt.average_ci95"),
    (lambda r: r.update(paired={}), "paired must be a list"),
    (lambda r: r.update(paired=[{"a": "mpt", "b": "pt", "setting": "full", "delta": 0.1}]), "paired[0].ci95"),
    (lambda r: r.update(paired=[{"a": "mpt", "b": "pt", "setting": "full", "delta": True, "ci95": [0, 1]}]),
     "paired[0].delta"),
])
def test_intervals_and_paired_entries_are_checked(results, tmp_path, edit, where):
    from clinical_mpt.report.load import check_results

    edit(results)
    with pytest.raises(ArtifactError, match=re.escape(where)):
        check_results(results, tmp_path / "results.json")
