"""End to end through the real CLI on the mini suite and tiny-random-llama: `run`, the four stages one by
one, user errors (exit 2, one `error:` line, no traceback) and `--help`."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clinical_mpt.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
TINY = "configs/tiny.yaml"
SOURCES, TARGETS = ["med_ner", "problem_nli"], ["dose_qa", "drug_mcqa"]
RECIPES = ["teach", "distill", "adapt", "evaluate", "run"]


def _cli(*args, timeout=120) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "clinical_mpt", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _suite_args(mini_suite) -> list[str]:
    return [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]"]


@pytest.fixture(scope="module")
def run_out(mini_suite, tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e")
    proc = _cli("run", TINY, *_suite_args(mini_suite), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def _check_artifact(folder: Path) -> dict:
    assert (folder / "prompt.safetensors").is_file(), folder
    return json.loads((folder / "config.json").read_text())


def _check_log(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows and all(math.isfinite(r["loss"]) for r in rows)
    return rows


def test_run_writes_results(run_out):
    out, proc = run_out
    assert "Traceback" not in proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["backbone"]["name"] == "tiny-random-llama"
    mpt = results["methods"]["mpt"]
    assert mpt["trainable_parameters"] == 8 + 64                       # u, v of one task: L + d
    assert mpt["trainable_fraction"] == pytest.approx(72 / results["backbone"]["num_parameters"])
    assert set(mpt["tasks"]) == set(TARGETS)
    for name, entry in mpt["tasks"].items():
        assert {"metric", "score"} <= set(entry)
        assert 0.0 <= entry["score"] <= 1.0
    assert mpt["tasks"]["dose_qa"]["metric"] == "f1" and mpt["tasks"]["drug_mcqa"]["metric"] == "accuracy"
    assert mpt["average"] == pytest.approx(sum(t["score"] for t in mpt["tasks"].values()) / 2)
    assert (out / "config.yaml").read_text().startswith("# clinical-mpt run")
    recorded = [json.loads((out / s / "stage.json").read_text())["seconds"] for s in ("teachers", "distill")]
    recorded += [json.loads(p.read_text())["seconds"] for p in out.glob("eval/*/*/*/metrics.json")]
    assert results["compute_seconds"] == pytest.approx(sum(recorded), abs=0.051)


def test_the_resolved_config_reloads(run_out, mini_suite):
    from clinical_mpt.config import load_config

    out, _ = run_out
    resolved = load_config(out / "config.yaml")
    assert resolved == load_config(ROOT / TINY, _suite_args(mini_suite) + [f"out={out}"])
    assert resolved.data.suite == str(mini_suite) and resolved.out == str(out)


def test_every_stage_writes_artifacts_and_a_log(run_out):
    out, _ = run_out
    for name in SOURCES:
        cfg = _check_artifact(out / "teachers" / name)
        assert cfg["kind"] == "teacher" and cfg["task"] == name
    assert {r["stage"] for r in _check_log(out / "teachers" / "log.jsonl")} == {f"teach {n}" for n in SOURCES}
    cfg = _check_artifact(out / "distill")
    assert cfg["tasks"] == SOURCES and cfg["backbone"]["architecture"] == "LlamaForCausalLM"
    assert {"lm", "kl", "mse"} <= set(_check_log(out / "distill" / "log.jsonl")[-1])
    for name in TARGETS:
        cfg = _check_artifact(out / "adapt" / "full" / name)
        assert cfg["task"] == name and cfg["train_examples"] == 16
        preds = (out / "eval" / "mpt" / "full" / name / "predictions.jsonl").read_text().splitlines()
        assert len(preds) == 6 and all("generation" in json.loads(p) for p in preds)
    assert {r["stage"] for r in _check_log(out / "adapt" / "full" / "log.jsonl")} == {f"adapt {n}" for n in TARGETS}


def test_stages_run_one_by_one(mini_suite, tmp_path, capsys):
    common = [str(ROOT / TINY), *_suite_args(mini_suite), "--out", str(tmp_path)]
    assert main(["teach", *common]) == 0
    assert all((tmp_path / "teachers" / n / "prompt.safetensors").is_file() for n in SOURCES)
    assert not (tmp_path / "distill").exists()
    assert main(["distill", *common]) == 0
    assert (tmp_path / "distill" / "prompt.safetensors").is_file() and not (tmp_path / "adapt").exists()
    assert main(["adapt", *common]) == 0
    assert all((tmp_path / "adapt" / "full" / n / "prompt.safetensors").is_file() for n in TARGETS)
    assert not (tmp_path / "results.json").exists()
    assert main(["evaluate", *common]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["methods"]["mpt"]["tasks"]) == set(TARGETS)
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("stage, missing", [("distill", "teachers"), ("adapt", "distill"), ("evaluate", "distill")])
def test_a_stage_without_its_inputs_is_a_clean_error(mini_suite, tmp_path, capsys, stage, missing):
    assert main([stage, str(ROOT / TINY), *_suite_args(mini_suite), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and missing in err and "Traceback" not in err


def test_a_bad_config_key_exits_2_with_one_error_line(mini_suite, tmp_path):
    proc = _cli("run", TINY, *_suite_args(mini_suite), "teach.stepz=3", "--out", str(tmp_path))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "teach.stepz" in lines[0] and "steps" in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_bad_values_and_files_exit_2(tmp_path, capsys):
    assert main(["teach", str(ROOT / TINY), "prompt.length=0", "--out", str(tmp_path)]) == 2
    assert "prompt.length" in capsys.readouterr().err
    assert main(["teach", str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_overrides_may_follow_options_and_unknown_options_are_refused(mini_suite, tmp_path, capsys):
    assert main(["teach", str(ROOT / TINY), "--out", str(tmp_path), *_suite_args(mini_suite), "teach.steps=1",
                 "data.source_tasks=[med_ner]"]) == 0
    assert (tmp_path / "teachers" / "med_ner").is_dir() and not (tmp_path / "teachers" / "problem_nli").exists()
    rows = [json.loads(line) for line in (tmp_path / "teachers" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1]
    with pytest.raises(SystemExit) as e:
        main(["teach", str(ROOT / TINY), "--bogus"])
    assert e.value.code == 2 and "--bogus" in capsys.readouterr().err


def test_top_level_help_lists_every_command():
    proc = _cli("--help", timeout=60)
    assert proc.returncode == 0
    for name in COMMANDS:
        assert name in proc.stdout


@pytest.mark.parametrize("command", RECIPES)
def test_recipe_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert f"clinical-mpt {command}" in text
    for word in ("CONFIG", "KEY=VALUE", "--out", "--force"):
        assert word in text


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in RECIPES])
def test_other_commands_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert f"clinical-mpt {command}" in capsys.readouterr().out


def test_recipe_help_does_not_import_torch():
    code = ("import sys\nfrom clinical_mpt.cli import main\n"
            "try:\n    main(['teach', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'LIGHT')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().endswith("LIGHT")
