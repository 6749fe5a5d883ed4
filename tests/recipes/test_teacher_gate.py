"""The teacher-quality gate (teacher_gate.py): the divergence and verdict rules, and the gate run on the
mini suite with tiny-random-llama, whose teachers learn nothing (the NER teacher generates noise, F1 0,
so it is always at or below its majority baseline): warn keeps every teacher, exclude leaves failures
out of distillation (or stops it when none passes), retrain tries once more at half the lr, off scores
nothing. Teachers' dev/test metrics and baselines reach their library entries (`library add --teachers`)."""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import pytest

from clinical_mpt.artifacts import load_artifact
from clinical_mpt.config import dump_config, load_config
from clinical_mpt.errors import ConfigError
from clinical_mpt.teacher_gate import divergence, is_used, used_teachers, verdict

TINY = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
SOURCES = ["med_ner", "problem_nli"]


def _cfg(mini_suite, *extra):
    return load_config(TINY, [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]",
                              "teach.steps=2", "distill.train.steps=2", "adapt.train.steps=2", *extra])


def test_divergence_rule():
    assert divergence(2.0, 1.5) is None                     # the dev loss fell
    assert divergence(2.0, 2.0) is None                     # not above the initial loss
    assert "rose from 2.0000 (initial prompt) to 2.1000" in divergence(2.0, 2.1)
    assert "became nan" in divergence(2.0, math.nan)
    assert "became inf" in divergence(2.0, math.inf)
    assert divergence(math.nan, 5.0) is None                # no initial loss to compare with: only finiteness


def test_verdict_rule():
    assert verdict("f1", 0.5, 0.2, None) == {"passed": True, "why": "dev f1 0.500 is above the majority baseline 0.200"}
    at = verdict("f1", 0.2, 0.2, None)
    assert not at["passed"] and "at or below the majority baseline 0.200" in at["why"]
    diverged = verdict("f1", 0.9, 0.2, "the dev loss became nan")
    assert not diverged["passed"] and diverged["why"] == "loss diverged: the dev loss became nan"


def test_gate_config(tmp_path):
    assert load_config(None).teach.gate == "exclude"
    assert load_config(None, ["teach.gate=off"]).teach.gate == "off"
    with pytest.raises(ConfigError, match="teach.gate: 'drop' is not one of off, warn, exclude, retrain"):
        load_config(None, ["teach.gate=drop"])
    bare = tmp_path / "bare.yaml"
    bare.write_text("teach:\n  gate: off\n")  # YAML 1.1: false
    with pytest.raises(ConfigError, match="teach.gate: YAML read False as a boolean; quote the text"):
        load_config(bare)
    with pytest.raises(ConfigError, match="teach.log_to"):  # the teach section keeps TrainConfig's checks
        load_config(None, ["teach.log_to=[nowhere]"])


def test_which_teachers_distillation_uses():
    failed, passed = {"gate": {"passed": False, "why": "x"}}, {"gate": {"passed": True}}
    assert not is_used("exclude", failed) and not is_used("retrain", failed)
    assert is_used("warn", failed) and is_used("off", failed)
    assert is_used("exclude", passed) and is_used("exclude", {})  # no verdict recorded (gate off): used


@pytest.fixture(scope="module")
def warned(tiny_backbone, mini_suite, tmp_path_factory):
    """A run folder: teachers under `teach.gate: warn` (scored, all used), distillation, adaptation."""
    from clinical_mpt.recipes.adapt import run_adapt
    from clinical_mpt.recipes.distill import run_distill
    from clinical_mpt.recipes.teach import run_teach

    out = tmp_path_factory.mktemp("gated")
    cfg = _cfg(mini_suite, "teach.gate=warn")
    (out / "config.yaml").write_text(f"# clinical-mpt run tiny.yaml --out {out}\n" + dump_config(cfg))
    run_teach(cfg, tiny_backbone, out)
    run_distill(cfg, tiny_backbone, out)
    run_adapt(cfg, tiny_backbone, out)
    return out


def test_teachers_record_scores_baselines_losses_and_verdicts(warned):
    gate_json = json.loads((warned / "teachers" / "gate.json").read_text())
    assert gate_json["mode"] == "warn" and [r["task"] for r in gate_json["teachers"]] == SOURCES
    for name, row in zip(SOURCES, gate_json["teachers"]):
        _, cfg = load_artifact(warned / "teachers" / name)
        metric = cfg["majority"]["dev"]["metric"]
        assert set(cfg["metrics"]) == {"dev", "test"} and set(cfg["majority"]) == {"dev", "test"}
        assert cfg["metrics"]["dev"]["n"] == 4 and cfg["metrics"]["test"]["n"] == 6  # the mini suite's splits
        score, base = cfg["metrics"]["dev"][metric], cfg["majority"]["dev"]["score"]
        loss = cfg["dev_loss"]
        expected = score > base and divergence(loss["initial"], loss["final"]) is None
        assert cfg["gate"]["passed"] is expected and cfg["gate"]["mode"] == "warn" and cfg["gate"]["attempts"] == 1
        assert row == {"task": name, "metric": metric, "dev_score": score, "majority": base, "dev_loss": loss,
                       "passed": expected, "why": cfg["gate"]["why"], "attempts": 1}
    ner = json.loads((warned / "teachers" / "med_ner" / "config.json").read_text())
    assert ner["metrics"]["dev"]["f1"] == 0.0 and not ner["gate"]["passed"]  # a random model's NER: noise
    assert "at or below the majority baseline" in ner["gate"]["why"]


def test_warn_distils_from_every_teacher(warned):
    _, meta_cfg = load_artifact(warned / "distill")
    assert meta_cfg["tasks"] == SOURCES and meta_cfg["excluded_teachers"] == []


def _set_verdicts(run: Path, passed: dict, teachers: str = "teachers") -> None:
    for name, ok in passed.items():
        path = run / teachers / name / "config.json"
        cfg = json.loads(path.read_text())
        cfg["gate"] = {**cfg["gate"], "passed": ok, "why": "test verdict"}
        path.write_text(json.dumps(cfg))


def test_exclude_distils_from_the_passing_teachers_only(warned, tiny_backbone, mini_suite, tmp_path):
    from clinical_mpt.recipes.distill import run_distill

    run = Path(shutil.copytree(warned, tmp_path / "run"))
    _set_verdicts(run, {"med_ner": False, "problem_nli": True})
    run_distill(_cfg(mini_suite, "teach.gate=exclude"), tiny_backbone, run, force=True)
    meta, meta_cfg = load_artifact(run / "distill")
    assert meta_cfg["tasks"] == ["problem_nli"] and meta["u"].shape[0] == 1
    assert meta_cfg["excluded_teachers"] == [{"task": "med_ner", "why": "test verdict"}]
    _set_verdicts(run, {"problem_nli": False})
    with pytest.raises(ConfigError, match="no teacher passed the teacher-quality gate.*gate.json.*teach.gate=warn"):
        run_distill(_cfg(mini_suite, "teach.gate=exclude"), tiny_backbone, run, force=True)


def test_retrain_tries_once_more_at_half_the_lr_then_excludes(tiny_backbone, mini_suite, tmp_path, capsys):
    from clinical_mpt.recipes.distill import run_distill
    from clinical_mpt.recipes.teach import run_teach

    cfg = _cfg(mini_suite, "teach.gate=retrain", "data.source_tasks=[med_ner]")
    run_teach(cfg, tiny_backbone, tmp_path)
    _, ner = load_artifact(tmp_path / "teachers" / "med_ner")
    assert not ner["gate"]["passed"] and ner["gate"]["attempts"] == 2 and ner["gate"]["lr"] == cfg.teach.lr / 2
    out = capsys.readouterr().out
    assert "med_ner failed" in out and "retraining at lr 0.15" in out and "med_ner FAILED" in out
    assert "no teacher passed" in out
    assert used_teachers("retrain", tmp_path / "teachers", [{"name": "med_ner"}])[0] == []
    with pytest.raises(ConfigError, match="no teacher passed"):
        run_distill(cfg, tiny_backbone, tmp_path)


def test_deep_teachers_are_gated_like_input_ones(tiny_backbone, mini_suite, tmp_path, capsys):
    """Deep teachers (teachers-deep/) go through the same gate: scored with their prefix in the cache,
    retrained at half of `deep.teach_lr`, recorded in teachers-deep/gate.json, excluded from the deep
    distillation."""
    from clinical_mpt.artifacts import load_artifact as load
    from clinical_mpt.data.suite import load_suite, select_tasks
    from clinical_mpt.recipes.distill import run_distill
    from clinical_mpt.recipes.teach import encoded_split, fresh_teacher, prompt_dev_loss, run_teach
    from clinical_mpt.teacher_gate import score_split

    cfg = _cfg(mini_suite, "teach.gate=retrain", "deep.teach_lr=0.02")
    run_teach(cfg, tiny_backbone, tmp_path, depth="deep")
    gate_json = json.loads((tmp_path / "teachers-deep" / "gate.json").read_text())
    assert gate_json["mode"] == "retrain" and [r["task"] for r in gate_json["teachers"]] == SOURCES
    assert not (tmp_path / "teachers").exists()  # the input teachers were not trained
    _, ner = load(tmp_path / "teachers-deep" / "med_ner")
    assert not ner["gate"]["passed"] and ner["gate"]["attempts"] == 2 and ner["gate"]["lr"] == 0.01
    assert ner["metrics"]["dev"]["f1"] == 0.0 and set(ner["majority"]) == {"dev", "test"}
    assert "med_ner failed" in capsys.readouterr().out  # then "retraining at lr 0.01"
    log = [json.loads(line) for line in (tmp_path / "teachers-deep" / "log.jsonl").read_text().splitlines()]
    firsts = [r["lr"] for r in log if r.get("stage") == "teach-deep med_ner" and r.get("step") == 1]
    assert len(firsts) == 2 and math.isclose(firsts[1], firsts[0] / 2)  # the retry really trained at half the rate
    ner_spec = select_tasks(load_suite(mini_suite), "source", ["med_ner"])[0]
    ner_dev = encoded_split(cfg, tiny_backbone.tokenizer, ner_spec, "dev")
    start = prompt_dev_loss(tiny_backbone, fresh_teacher(tiny_backbone, cfg, "deep"), ner_dev, cfg, "deep")
    assert ner["dev_loss"]["initial"] == round(start, 6)  # the deep start, through the KV cache
    tensors, nli = load(tmp_path / "teachers-deep" / "problem_nli")
    spec = select_tasks(load_suite(mini_suite), "source", ["problem_nli"])[0]
    dev = encoded_split(cfg, tiny_backbone.tokenizer, spec, "dev")
    assert nli["metrics"]["dev"] == score_split(tiny_backbone, None, dev, cfg, prefix=tensors["prefix"])
    _set_verdicts(tmp_path, {"problem_nli": False}, "teachers-deep")
    with pytest.raises(ConfigError, match="no teacher passed.*teachers-deep/gate.json"):
        run_distill(cfg, tiny_backbone, tmp_path, depth="deep")
    _set_verdicts(tmp_path, {"problem_nli": True}, "teachers-deep")
    run_distill(cfg, tiny_backbone, tmp_path, depth="deep")
    _, meta_cfg = load(tmp_path / "distill-deep")
    assert meta_cfg["tasks"] == ["problem_nli"]
    assert meta_cfg["excluded_teachers"] == [{"task": "med_ner", "why": ner["gate"]["why"]}]


def test_off_scores_nothing_and_keeps_every_teacher(tiny_backbone, mini_suite, tmp_path):
    from clinical_mpt.recipes.teach import run_teach

    run_teach(_cfg(mini_suite, "teach.gate=off"), tiny_backbone, tmp_path)
    assert not (tmp_path / "teachers" / "gate.json").exists()
    for name in SOURCES:
        _, cfg = load_artifact(tmp_path / "teachers" / name)
        assert "gate" not in cfg and "metrics" not in cfg
    specs = [{"name": n} for n in SOURCES]
    assert used_teachers("exclude", tmp_path / "teachers", specs) == (specs, [])


def _library(argv: list[str]) -> int:
    from clinical_mpt.commands import library

    parser = argparse.ArgumentParser()
    library.configure(parser)
    return library.main(parser.parse_args(argv))


def test_library_entries_of_teachers_carry_their_gate_metrics(warned, tmp_path, capsys):
    from clinical_mpt.library import Library

    lib = tmp_path / "lib"
    assert _library(["add", str(lib), "--from-run", str(warned), "--teachers"]) == 0
    opened = Library.open(lib)
    for name in SOURCES:
        entry, teacher = opened.entry_config(name), json.loads((warned / "teachers" / name / "config.json").read_text())
        assert entry["metrics"] == teacher["metrics"] and set(entry["majority"]) == {"dev", "test"}
        assert entry["training"]["gate"] == teacher["gate"]
    assert "med_ner: test f1 0.000 is at or below the majority baseline" in capsys.readouterr().err
    assert _library(["add", str(tmp_path / "lib2"), "--from-run", str(warned), "--teachers", "--min-score", "0"]) == 1
    assert "refused med_ner: test f1 0.000 is at or below the majority baseline" in capsys.readouterr().err
