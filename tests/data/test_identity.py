"""OUT/data.json: a run folder remembers the data its work was trained on, and refuses other data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from clinical_mpt.cli import main
from clinical_mpt.data.identity import DATA_FILE, check_data, task_checksum, used_specs
from clinical_mpt.data.suite import load_suite
from clinical_mpt.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def suite(mini_suite, tmp_path) -> Path:
    return Path(shutil.copytree(mini_suite, tmp_path / "suite"))


def _specs(folder: Path, sources=(), targets=()) -> list[dict]:
    return used_specs(load_suite(folder), list(sources), list(targets))


def test_first_run_records_then_same_data_passes(suite, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    check_data(out, suite, _specs(suite))
    record = json.loads((out / DATA_FILE).read_text())
    assert record["suite"] == str(suite) and sorted(record["tasks"]) == ["dose_qa", "drug_mcqa", "med_ner", "problem_nli"]
    dose_qa = next(s for s in _specs(suite) if s["name"] == "dose_qa")
    assert record["tasks"]["dose_qa"] == task_checksum(suite, dose_qa)
    check_data(out, suite, _specs(suite))   # unchanged: no error
    moved = Path(shutil.copytree(suite, tmp_path / "moved"))
    check_data(out, moved, _specs(moved))   # same bytes elsewhere: still the same data
    assert json.loads((out / DATA_FILE).read_text())["suite"] == str(moved)


def test_changed_split_or_instruction_is_refused(suite, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    check_data(out, suite, _specs(suite))
    test = suite / "target" / "dose_qa" / "test.jsonl"
    test.write_text(test.read_text().replace("mg", "mcg", 1))
    with pytest.raises(ConfigError, match="now holds other data for dose_qa "):
        check_data(out, suite, _specs(suite))


def test_only_the_tasks_a_config_reads_count(suite, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    specs = _specs(suite, ["med_ner", "not_in_this_suite"], ["dose_qa"])
    assert [s["name"] for s in specs] == ["med_ner", "dose_qa"]
    check_data(out, suite, specs)
    other = suite / "target" / "drug_mcqa" / "train.jsonl"   # a task this config does not read
    other.write_text(other.read_text() + other.read_text().splitlines()[0] + "\n")
    check_data(out, suite, _specs(suite, ["med_ner"], ["dose_qa"]))
    check_data(out, suite, _specs(suite, [], ["drug_mcqa"]))   # a task new to OUT joins the record
    assert "drug_mcqa" in json.loads((out / DATA_FILE).read_text())["tasks"]
    with pytest.raises(ConfigError, match="drug_mcqa"):
        other.write_text(other.read_text() + other.read_text().splitlines()[0] + "\n")
        check_data(out, suite, _specs(suite, [], ["drug_mcqa"]))
    spec_file = suite / "suite.json"
    suite_json = json.loads(spec_file.read_text())
    for t in suite_json["tasks"]:
        t["instruction"] = "Answer." if t["name"] == "dose_qa" else t.get("instruction")
    spec_file.write_text(json.dumps(suite_json))
    with pytest.raises(ConfigError):
        check_data(out, suite, _specs(suite, ["med_ner"], ["dose_qa"]))


def test_the_cli_refuses_a_regenerated_suite_in_the_same_out(suite, tmp_path, capsys):
    out = tmp_path / "out"
    args = [f"data.suite={suite}", "data.source_tasks=[]", "data.target_tasks=[]", "--out", str(out)]
    assert main(["evaluate", str(ROOT / "configs" / "tiny.yaml"), *args]) == 2    # no P* yet, but data.json written
    assert (out / DATA_FILE).is_file()
    config_before = (out / "config.yaml").read_text()
    dev = suite / "source" / "med_ner" / "dev.jsonl"
    dev.write_text(dev.read_text().replace("aspirin", "asprin"))
    capsys.readouterr()
    assert main(["evaluate", str(ROOT / "configs" / "tiny.yaml"), *args, "eval.batch_size=3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "other data for med_ner" in err and "Traceback" not in err
    assert (out / "config.yaml").read_text() == config_before   # refused before the run's config was rewritten


def test_sources_count_only_when_the_run_reads_them(suite):
    assert [s["name"] for s in used_specs(load_suite(suite), None, [])] == ["dose_qa", "drug_mcqa"]
    from clinical_mpt.config import load_config
    from clinical_mpt.recipes.common import reads_sources

    tiny = ROOT / "configs" / "tiny.yaml"
    assert reads_sources(load_config(tiny), ["mpt"]) and reads_sources(load_config(tiny), ["deep-mpt"])
    assert not reads_sources(load_config(tiny), ["pt", "lora", "prefix"])
    given = load_config(tiny, ["adapt.meta_prompt=libraries/default"])
    assert not reads_sources(given, ["mpt"]) and reads_sources(given, ["mpt", "deep-mpt"])


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"tasks": [1]}'])
def test_an_unreadable_record_is_a_clear_error(suite, tmp_path, text):
    (tmp_path / DATA_FILE).write_text(text)
    with pytest.raises(ConfigError, match="delete it"):
        check_data(tmp_path, suite, _specs(suite))


def test_sweep_checks_the_data_of_its_folder(suite, tmp_path, capsys):
    from clinical_mpt.config import load_config
    from clinical_mpt.recipes.common import check_run_data

    cfg = load_config(ROOT / "configs" / "tiny.yaml", [f"data.suite={suite}", "data.source_tasks=[]", "data.target_tasks=[]"])
    out = tmp_path / "run"
    out.mkdir()
    check_run_data(cfg, out, ["pt"], ["dose_qa"])
    assert list(json.loads((out / DATA_FILE).read_text())["tasks"]) == ["dose_qa"]   # pt reads no source task
    test = suite / "target" / "dose_qa" / "test.jsonl"
    test.write_text(test.read_text().replace("mg", "mcg", 1))
    with pytest.raises(ConfigError, match="dose_qa"):
        check_run_data(cfg, out, ["pt"], ["dose_qa"])
    sweep = ["sweep", str(ROOT / "configs" / "tiny.yaml"), f"data.suite={suite}", "data.source_tasks=[]",
             "data.target_tasks=[]", "--method", "pt", "--lr", "0.1", "--task", "dose_qa", "--out", str(out)]
    capsys.readouterr()
    assert main(sweep) == 2    # the sweep command itself refuses, before the backbone loads
    assert "now holds other data for dose_qa" in capsys.readouterr().err
