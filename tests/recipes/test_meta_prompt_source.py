"""Starting target adaptation from an existing distilled meta-prompt (`adapt.meta_prompt`): `run` skips
teach and distill, adapts from the given P* and scores exactly what a run that distils the same P* scores;
keys follow the artifact's checksum; the errors name the folder and the fix. Mini suite, tiny-random-llama."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from clinical_mpt.config import load_config
from clinical_mpt.errors import ConfigError

TINY = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
BASE = ["data.source_tasks=[]", "data.target_tasks=[]", "teach.steps=2", "distill.train.steps=2",
        "adapt.train.steps=3", "baselines.pt.steps=2", "methods=[mpt,pt]", "protocol.shots=[4]"]


def _argv(mini_suite, out: Path, *extra) -> list[str]:
    return ["run", str(TINY), f"data.suite={mini_suite}", *BASE, *extra, "--out", str(out)]


@pytest.fixture(scope="module")
def two_runs(mini_suite, tmp_path_factory):
    """(a run that distils its own P*, a run adapting from that run's distill folder, the second's stdout)."""
    import contextlib
    import io

    from clinical_mpt.cli import main

    base = tmp_path_factory.mktemp("meta_source")
    own, given = base / "own", base / "given"
    assert main(_argv(mini_suite, own)) == 0
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(_argv(mini_suite, given, f"adapt.meta_prompt={own / 'distill'}")) == 0
    return own, given, buf.getvalue()


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def test_a_given_meta_prompt_skips_teach_and_distill(two_runs):
    _, given, stdout = two_runs
    assert "teach, distill: skipped" in stdout
    assert "distilled from 2 source tasks, L = 8, sha256:" in stdout
    assert not (given / "teachers").exists() and not (given / "distill").exists()
    assert sorted(p.name for p in (given / "adapt").iterdir()) == ["full", "k4-s0"]


def test_without_the_u_v_row_no_u_v_prompts_are_trained(two_runs, mini_suite, tmp_path, capsys):
    """methods [mpt-full-prompt]: the adapt stage (which trains the u, v-only row) is skipped; evaluation
    trains the P*, u, v prompts, and nothing else lands in adapt/."""
    from clinical_mpt.cli import main

    own, _, _ = two_runs
    out = tmp_path / "full-prompt-only"
    argv = _argv(mini_suite, out, f"adapt.meta_prompt={own / 'distill'}", "methods=[mpt-full-prompt]",
                 "protocol.shots=[]")
    assert main(argv) == 0
    assert "adapt: " not in capsys.readouterr().out
    assert sorted(p.name for p in (out / "adapt").iterdir()) == ["full-metaprompt"]
    assert set(_results(out)["methods"]) == {"mpt-full-prompt"}


def test_adapting_from_a_given_meta_prompt_scores_what_distilling_it_scores(two_runs):
    own, given, _ = two_runs
    a, b = _results(own)["methods"], _results(given)["methods"]
    for method in ("mpt", "pt"):
        assert {t: v["score"] for t, v in a[method]["tasks"].items()} == \
               {t: v["score"] for t, v in b[method]["tasks"].items()}, method
        assert a[method]["shots"]["4"]["tasks"]["dose_qa"]["scores"] == b[method]["shots"]["4"]["tasks"]["dose_qa"]["scores"]
    assert _results(given)["paired"], "mpt - pt is paired when P* is given too"
    shipped = _results(given)["meta_prompt"]
    assert shipped["path"] == str(own / "distill") and shipped["tasks"] == ["med_ner", "problem_nli"]
    assert shipped["identity"].startswith("sha256:") and "meta_prompt" not in _results(own)


def test_the_adapted_prompts_are_those_of_the_run_that_distilled(two_runs, tiny_backbone):
    import torch

    from clinical_mpt.artifacts import load_artifact

    own, given, _ = two_runs
    for variant in ("full", "k4-s0"):
        for task in ("dose_qa", "drug_mcqa"):
            a, _ = load_artifact(own / "adapt" / variant / task, tiny_backbone.fingerprint)
            b, _ = load_artifact(given / "adapt" / variant / task, tiny_backbone.fingerprint)
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), (variant, task)
            u0 = load_artifact(own / "distill")[0]["u"].mean(0, keepdim=True)
            assert not torch.equal(a["u"], u0), "adaptation trained u"


def _cfg(mini_suite, *extra):
    return load_config(TINY, [f"data.suite={mini_suite}", *BASE, *extra])


def test_keys_follow_the_artifact_not_the_teach_and_distill_settings(two_runs, mini_suite, tmp_path):
    from clinical_mpt.protocol import Setting, artifact_key, method_key

    own, _, _ = two_runs
    meta = own / "distill"
    given = _cfg(mini_suite, f"adapt.meta_prompt={meta}")
    assert method_key(given, "mpt") != method_key(_cfg(mini_suite), "mpt")
    changed = _cfg(mini_suite, f"adapt.meta_prompt={meta}", "teach.steps=9", "distill.lambda=0.5")
    assert method_key(changed, "mpt") == method_key(given, "mpt")
    assert artifact_key(changed, "mpt", Setting(None, 0), 0) == artifact_key(given, "mpt", Setting(None, 0), 0)
    moved = shutil.copytree(meta, tmp_path / "elsewhere")  # the same P* in another folder: the same keys
    assert method_key(_cfg(mini_suite, f"adapt.meta_prompt={moved}"), "mpt") == method_key(given, "mpt")
    other = json.loads((moved / "config.json").read_text())  # another P* (another checksum): other keys
    other["files"]["prompt.safetensors"] = "0" * 64
    (moved / "config.json").write_text(json.dumps(other))
    assert method_key(_cfg(mini_suite, f"adapt.meta_prompt={moved}"), "mpt") != method_key(given, "mpt")
    assert method_key(changed, "pt") == method_key(_cfg(mini_suite), "pt"), "pt never depends on P*"


def _run_error(mini_suite, tmp_path, capsys, folder) -> str:
    from clinical_mpt.cli import main

    assert main(_argv(mini_suite, tmp_path / "out", f"adapt.meta_prompt={folder}")) != 0
    return capsys.readouterr().err


def test_a_missing_folder_is_named_with_the_fix(mini_suite, tmp_path, capsys):
    err = _run_error(mini_suite, tmp_path, capsys, tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in err and "does not exist" in err and "adapt.meta_prompt" in err


def test_a_teacher_prompt_is_not_a_meta_prompt(two_runs, mini_suite, tmp_path, capsys):
    teacher = two_runs[0] / "teachers" / "med_ner"
    err = _run_error(mini_suite, tmp_path, capsys, teacher)
    assert str(teacher) in err and "not a distilled meta-prompt" in err and "RUN/distill" in err


def test_a_meta_prompt_of_another_backbone_is_refused(two_runs, mini_suite, tmp_path, tiny_backbone):
    from clinical_mpt.recipes.fit import method_context

    foreign = shutil.copytree(two_runs[0] / "distill", tmp_path / "foreign")
    meta = json.loads((foreign / "config.json").read_text())
    meta["backbone"]["embedding_sha256"] = "f" * 64
    (foreign / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="different backbone") as e:
        method_context(_cfg(mini_suite, f"adapt.meta_prompt={foreign}"), tiny_backbone, tmp_path)
    assert str(foreign) in str(e.value) and "distilled on backbone" in str(e.value)


def test_the_prompt_length_must_be_the_meta_prompts(two_runs, mini_suite, tmp_path, tiny_backbone):
    from clinical_mpt.recipes.fit import method_context

    cfg = _cfg(mini_suite, f"adapt.meta_prompt={two_runs[0] / 'distill'}", "prompt.length=5")
    with pytest.raises(ConfigError, match=r"prompt.length: 5, .* has length 8; set prompt.length: 8"):
        method_context(cfg, tiny_backbone, tmp_path)


def test_the_dry_run_plan_leaves_out_teach_and_distill(mini_suite):
    from clinical_mpt.recipes.plan import build_plan, format_plan

    cfg = _cfg(mini_suite, "adapt.meta_prompt=libraries/default/meta-prompt")
    plan = build_plan(cfg, "run")
    assert plan["stages"] == ["adapt", "evaluate"]
    assert "teach, distill skipped" in format_plan(plan, cfg)
    assert build_plan(_cfg(mini_suite), "run")["stages"] == ["teach", "distill", "adapt", "evaluate"]


def test_print_table_prints_the_paired_deltas(capsys):
    from clinical_mpt.recipes.evaluate import print_table

    method = {"trainable_fraction": 0.001, "tasks": {"t": {"score": 0.5}}, "average": 0.5, "shots": {}}
    paired = [{"a": "mpt", "b": "pt", "setting": "full", "delta": 0.123, "ci95": [0.05, 0.2], "tasks": 3, "seeds": 1},
              {"a": "mpt", "b": "pt", "setting": "k16", "delta": -0.01, "ci95": [-0.08, 0.06], "tasks": 3, "seeds": 2}]
    print_table({"methods": {"mpt": method, "pt": method}, "paired": paired})
    out = capsys.readouterr().out
    assert "mpt - pt" in out and "+0.123  [+0.050, +0.200]  3 tasks x 1 seed: mpt higher" in out
    assert "-0.010  [-0.080, +0.060]" in out and "3 tasks x 2 seeds: the interval includes 0" in out
    print_table({"methods": {"mpt": method}})
    assert "paired" not in capsys.readouterr().out


def test_print_table_says_how_many_seeds_a_k_shot_average_holds_and_keeps_long_names_apart(capsys):
    from clinical_mpt.recipes.evaluate import print_table

    def method(scores):
        shot = {"tasks": {"t": {"score": 0.4, "std": 0.0, "scores": scores}}, "average": 0.4, "std": 0.05,
                "ci95": [0.3, 0.5]}
        return {"trainable_fraction": 0.001, "tasks": {"t": {"score": 0.5}}, "average": 0.5, "shots": {"16": shot}}

    paired = [{"a": "mpt-full-prompt", "b": "prefix", "setting": "full", "delta": 0.1, "ci95": [0.05, 0.2],
               "tasks": 1, "seeds": 1}]
    print_table({"methods": {"pt": method([0.4]), "lora": method([0.35, 0.45])}, "paired": paired})
    lines = capsys.readouterr().out.splitlines()
    shots = [line for line in lines if "16-shot" in line]
    assert shots[0].endswith("average 0.400 (1 seed)  [0.300, 0.500]")
    assert shots[1].endswith("average 0.400 +- 0.050 over 2 seeds  [0.300, 0.500]")
    assert any("mpt-full-prompt - prefix  full" in line for line in lines)


def test_library_add_reads_the_given_meta_prompt_of_a_run(two_runs):
    import torch

    from clinical_mpt.library.from_run import prompts_from_run, run_meta_dir

    own, given, _ = two_runs
    assert run_meta_dir(given) == own / "distill" and run_meta_dir(own) == own / "distill"
    a = {e.name: e.prompt for e in prompts_from_run(own).entries}
    b = {e.name: e.prompt for e in prompts_from_run(given).entries}
    assert a.keys() == b.keys() == {"dose_qa", "drug_mcqa"}
    assert all(torch.equal(a[t], b[t]) for t in a)


def test_the_demo_config_adapts_a_given_meta_prompt_and_prints_the_paired_delta(two_runs, mini_suite, tmp_path,
                                                                                capsys):
    """configs/demo.yaml (make demo's main job) as it is, on the tiny backbone and the mini suite."""
    from clinical_mpt.cli import main

    demo = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"
    argv = ["run", str(demo), "backbone.name=tiny-random-llama", "backbone.dtype=float32", f"data.suite={mini_suite}",
            "data.target_tasks=[]", "prompt.length=8", f"adapt.meta_prompt={two_runs[0] / 'distill'}",
            "adapt.train.steps=4", "adapt.train.eval_every=2", "baselines.pt.steps=4", "baselines.pt.eval_every=2",
            "protocol.shot_steps=2", "--out", str(tmp_path / "demo")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "teach, distill: skipped" in out
    results = _results(tmp_path / "demo")
    assert {(p["a"], p["b"], p["setting"]) for p in results["paired"]} == {("mpt-full-prompt", "pt", "full"),
                                                                             ("mpt-full-prompt", "pt", "k16")}
    assert [p["seeds"] for p in results["paired"] if p["setting"] == "k16"] == [2]
    assert "paired difference of averages" in out and "mpt-full-prompt - pt" in out
