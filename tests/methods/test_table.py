"""The method table is the one list of methods: every other list derives from it, a name the table
lacks fails here, result keys follow each row's own config section, and a new method is one module
plus one row (the toy method of toy_method.py, run through fit_or_load and evaluate)."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest
import torch
import toy_method

from clinical_mpt import protocol
from clinical_mpt.config import METHODS, load_config, to_dict
from clinical_mpt.errors import ConfigError
from clinical_mpt.methods.table import NEEDS_META_PROMPT, ROWS, TABLE, TRAINABLE
from clinical_mpt.protocol import Setting, method_key, parse_setting, with_lr

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "src" / "clinical_mpt"
TINY = ROOT / "configs" / "tiny.yaml"
# Files whose method-name lists are other concepts, documented where they are defined; each may name,
# besides table methods, only these extras.
OTHER_CONCEPTS = {
    "methods/table.py": set(),          # the table itself
    "roi.py": set(),                    # roi.METHODS: the ROI calculator's cost comparison of four families
    "library/entry.py": {"teacher"},    # entry.METHODS: library entry kinds (what prompt an entry holds)
    "commands/library.py": {"teacher", "teacher-deep"},  # `library add --method`: what a run folder provides
}


def _method_lists(path: Path):
    """(line, names) of each list / tuple / set literal of strings in `path` naming two or more methods."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            names = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if sum(n in TABLE for n in names) >= 2:
                yield node.lineno, names


def test_no_hand_kept_method_list_outside_the_table():
    found = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        for line, names in _method_lists(path):
            if rel not in OTHER_CONCEPTS:
                found.append(f"{rel}:{line} {names}: derive it from methods/table.py")
            elif set(names) - set(TABLE) - OTHER_CONCEPTS[rel]:
                found.append(f"{rel}:{line} names {sorted(set(names) - set(TABLE))}, which the table lacks")
    assert not found, "\n".join(found)


def test_the_scan_catches_a_hand_kept_list(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('KNOWN = ("mpt", "pt", "prefix")\n')
    assert list(_method_lists(module)) == [(1, ["mpt", "pt", "prefix"])]


def test_the_consoles_roi_methods_are_the_calculators():
    from clinical_mpt.roi import METHODS as ROI_METHODS

    js = (PKG / "serve" / "console" / "roi.js").read_text(encoding="utf-8")
    names = re.search(r"const ROI_METHODS = \[([^\]]*)\]", js).group(1)
    assert tuple(re.findall(r'"([^"]+)"', names)) == ROI_METHODS
    assert set(ROI_METHODS) <= set(TABLE)


def test_derived_lists_are_the_table():
    from clinical_mpt.library.entry import METHODS as ENTRY_KINDS
    from clinical_mpt.recipes.sweep import configure
    from clinical_mpt.report.tables import METHOD_LABELS, METHOD_ORDER

    assert METHODS == tuple(TABLE) == tuple(r.name for r in ROWS)
    assert NEEDS_META_PROMPT == {"mpt", "mpt-vectors", "mpt-full-prompt", "deep-mpt", "deep-mpt-full-prompt"}
    assert {r.name for r in ROWS if r.meta_prompt == "input"} == {"mpt", "mpt-vectors", "mpt-full-prompt"}
    assert set(TRAINABLE) == set(TABLE) - {"zero-shot"}
    assert set(METHOD_ORDER) == set(METHOD_LABELS) == set(TABLE)
    assert set(ENTRY_KINDS) - {"teacher"} <= set(TABLE)
    parser = argparse.ArgumentParser()
    configure(parser)
    method_help = next(a.help for a in parser._actions if a.dest == "method")
    assert method_help == ", ".join(TRAINABLE)
    for r in ROWS:  # every row names a real fit function, and dotted paths that exist in the config
        assert callable(r.fit())
        cfg_dict = to_dict(load_config(TINY))
        for path in filter(None, (r.section, r.train, *r.lr_fields)):
            protocol.section(cfg_dict, path)


def test_a_config_naming_a_method_the_table_lacks_is_refused():
    with pytest.raises(ConfigError, match="unknown method 'adapter'"):
        load_config(TINY, ["methods=[mpt,adapter]"])


@pytest.mark.parametrize("method", TRAINABLE)
def test_every_learning_rate_field_changes_its_methods_keys(method):
    base = load_config(TINY)
    for field in TABLE[method].lr_fields:
        changed = with_lr(base, method, 12.5, (field,))
        assert method_key(changed, method) != method_key(base, method), field
        setting = Setting(None, 0)
        assert protocol.artifact_key(changed, method, setting, 0) != protocol.artifact_key(base, method, setting, 0)


def test_a_method_whose_section_is_not_named_after_it_keys_on_that_section(monkeypatch):
    """The hazard the table fixes: such a method used to hash {} and reuse stale metrics."""
    monkeypatch.setitem(TABLE, "toy", toy_method.ROW)
    base = load_config(TINY)
    assert method_key(load_config(TINY, ["baselines.pt.lr=9"]), "toy") != method_key(base, "toy")
    assert method_key(load_config(TINY, ["baselines.pt.steps=9"]), "toy") != method_key(base, "toy")
    assert method_key(load_config(TINY, ["baselines.lora.rank=3"]), "toy") == method_key(base, "toy")


def test_with_lr_and_with_target_steps_follow_the_rows():
    cfg = load_config(TINY)
    assert with_lr(cfg, "lora", 0.5).baselines.lora.train.lr == 0.5
    assert with_lr(cfg, "mpt-full-prompt", 0.5).adapt.train.lr == 0.5
    with pytest.raises(ConfigError, match="trains nothing"):
        with_lr(cfg, "zero-shot", 0.5)
    short = protocol.with_target_steps(cfg, 3)
    assert [short.adapt.train.steps, short.baselines.pt.steps, short.baselines.lora.train.steps,
            short.baselines.full.steps] == [3, 3, 3, 3]
    assert short.teach.steps == cfg.teach.steps and short.distill.train.steps == cfg.distill.train.steps


def test_setting_names_parse_back():
    for setting in (Setting(None, 0), Setting(0, 0), Setting(16, 3)):
        parsed = parse_setting(setting.name)
        assert parsed.shots == setting.shots and parsed.name == setting.name
    assert [parse_setting(n) for n in ("k", "k4", "k-s1", "other", "k0-s1")] == [None] * 5
    assert protocol.parse_variant("k4-s1-metaprompt") == (Setting(4, 1), True)


def test_runs_of_a_config():
    cfg = load_config(TINY, ["methods=[mpt,pt,zero-shot]", "protocol.shots=[0,2]", "protocol.seeds=[0,1]"])
    assert [(m, s.name) for m, s in protocol.runs(cfg)] == [
        ("mpt", "full"), ("mpt", "k0"), ("mpt", "k2-s0"), ("mpt", "k2-s1"),
        ("pt", "full"), ("pt", "k2-s0"), ("pt", "k2-s1"), ("zero-shot", "full")]


def test_backbone_training_methods_refuse_a_sharded_backbone(monkeypatch):
    from clinical_mpt import sharding
    from clinical_mpt.recipes.fit import check_unsharded

    monkeypatch.setattr(sharding, "sharded", lambda model: True)
    for r in ROWS:
        if r.trains_backbone:
            with pytest.raises(ConfigError, match=f"{r.name} trains backbone weights"):
                check_unsharded(r.name, None)
        else:
            check_unsharded(r.name, None)


def test_a_toy_method_is_one_module_and_one_row(monkeypatch, tiny_backbone, mini_suite, tmp_path):
    from clinical_mpt.artifacts import load_artifact
    from clinical_mpt.data.suite import load_suite, select_tasks
    from clinical_mpt.recipes.evaluate import run_evaluate
    from clinical_mpt.recipes.fit import fit_or_load, method_context

    monkeypatch.setitem(TABLE, "toy", toy_method.ROW)
    cfg = load_config(TINY, [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]",
                             "methods=[toy,zero-shot]", "baselines.pt.steps=2", "protocol.shots=[2]"])
    results = run_evaluate(cfg, tiny_backbone, tmp_path)
    toy, d = results["methods"]["toy"], tiny_backbone.model.config.hidden_size
    assert set(toy["tasks"]) == {"dose_qa", "drug_mcqa"} and set(toy["shots"]) == {"2"}
    assert toy["trainable_parameters"] == toy_method.LENGTH * d
    initial = tiny_backbone.model.get_input_embeddings().weight[:toy_method.LENGTH].float()
    folder = tmp_path / "targets" / "toy" / "full"
    for task in ("dose_qa", "drug_mcqa"):
        tensors, art = load_artifact(folder / task, tiny_backbone.fingerprint)
        assert tensors["prompt"].shape == (toy_method.LENGTH, d) and not torch.equal(tensors["prompt"], initial)
        assert art["method"] == "toy" and art["toy"] is True and art["trainable_parameters"] == toy_method.LENGTH * d
    # fit_or_load reloads the saved prompt through the row's load_prompt instead of training again
    log = (folder / "log.jsonl").read_text()
    ctx = method_context(cfg, tiny_backbone, tmp_path, need_meta=False)
    spec = select_tasks(load_suite(mini_suite), "target", ["dose_qa"])[0]
    fitted = fit_or_load(ctx, "toy", spec, Setting(None, cfg.seed), cfg.seed)
    assert torch.equal(fitted.prompt, load_artifact(folder / "dose_qa")[0]["prompt"])
    assert (folder / "log.jsonl").read_text() == log


def test_artifact_folders_come_from_the_rows(monkeypatch, tmp_path):
    import dataclasses

    assert protocol.artifact_dir(tmp_path, "mpt-vectors", Setting(4, 1)) == tmp_path / "adapt" / "k4-s1"
    full = Setting(None, 0)
    assert protocol.artifact_dir(tmp_path, "mpt-full-prompt", full) == tmp_path / "adapt" / "full-metaprompt"
    assert protocol.artifact_dir(tmp_path, "pt", Setting(0, 0)) == tmp_path / "targets" / "pt" / "k0"
    # a new method that starts from P* keeps its own folder instead of overwriting the MPT prompts
    monkeypatch.setitem(TABLE, "toy", dataclasses.replace(toy_method.ROW, meta_prompt="input"))
    assert protocol.artifact_dir(tmp_path, "toy", Setting(None, 0)) == tmp_path / "targets" / "toy" / "full"
    assert protocol.adapt_method(False) == "mpt" and protocol.adapt_method(True) == "mpt-full-prompt"


@pytest.mark.parametrize("method", sorted(m for m in TABLE if TABLE[m].trains))
@pytest.mark.parametrize("setting", [Setting(None, None), Setting(0, None), Setting(16, 2)])
def test_artifact_run_inverts_artifact_dir(tmp_path, method, setting):
    folder = protocol.artifact_dir(tmp_path, method, setting)
    owner = protocol.artifact_run(tmp_path, folder)
    assert owner == (TABLE[method].artifact_owner if TABLE[method].artifacts == "targets"
                     else protocol.adapt_method(TABLE[method].trains_meta_prompt), setting)
    assert protocol.artifact_dir(tmp_path, *owner) == folder
    assert protocol.artifact_run(tmp_path, folder / "med_ner") == owner   # one task's folder
    assert protocol.artifact_run(tmp_path, folder / "med_ner" / "x") is None


def test_artifact_run_is_none_for_other_folders(tmp_path):
    for rel in ("teachers/med_ner", "distill", "eval/pt/full/t1", "targets/nope/full/t1", "targets/pt/k16/t1",
                "adapt/fulll/t1", "adapt"):
        assert protocol.artifact_run(tmp_path, tmp_path / rel) is None, rel
