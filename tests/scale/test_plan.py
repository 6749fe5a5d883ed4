"""The study's configs (configs/paper/) and `--dry-run`: the plan, parameter counts and memory estimate
come from the config alone (the weights folders do not exist here), and the numbers quoted in each
config's comment block are the ones the dry run prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scale_helpers import REPO

from clinical_mpt.cli import main
from clinical_mpt.config import load_config

PAPER = sorted((REPO / "configs" / "paper").glob("*.yaml"))
EXPECTED = {"llama31-8b": ("LlamaForCausalLM", "8.03B"), "meditron3-8b": ("LlamaForCausalLM", "8.03B"),
            "gptoss-20b": ("GptOssForCausalLM", "20.91B")}


def _dry_run(capsys, config, *extra) -> str:
    assert main(["run", str(config), "--dry-run", *extra]) == 0
    return capsys.readouterr().out


def test_the_three_paper_configs_exist():
    assert sorted(p.stem for p in PAPER) == sorted(EXPECTED)


@pytest.mark.parametrize("config", PAPER, ids=lambda p: p.stem)
def test_paper_config_is_the_studys_setting(config):
    cfg = load_config(config)
    assert len(cfg.data.source_tasks) == 21 and len(set(cfg.data.source_tasks)) == 21
    assert len(cfg.data.target_tasks) == 10 and not set(cfg.data.source_tasks) & set(cfg.data.target_tasks)
    assert cfg.prompt.length == 100 and cfg.prompt.rank == 1
    assert not Path(cfg.backbone.name).is_absolute() and cfg.backbone.shape   # a local placeholder, not a hub id
    assert config.read_text().startswith(f"# clinical-mpt run configs/paper/{config.name}")


@pytest.mark.parametrize("config", PAPER, ids=lambda p: p.stem)
def test_dry_run_prints_the_plan_without_loading_weights(config, capsys, tmp_path):
    out_dir = tmp_path / "never"
    cfg = load_config(config)
    assert not Path(cfg.backbone.name).exists()                      # nothing to load, and nothing is
    text = _dry_run(capsys, config, "--out", str(out_dir))
    arch, params = EXPECTED[config.stem]
    assert f"{arch}, {params} parameters" in text
    assert "21 source, 10 target" in text and "L=100" in text and "rank 1" in text
    for stage in ("1. teach", "2. distill", "3. adapt", "4. evaluate"):
        assert stage in text
    assert not out_dir.exists()
    # the comment block quotes the dry run's numbers
    quoted = re.search(r"#\s+training\s+([\d.]+ GB)", config.read_text()).group(1)
    printed = re.search(r"  training\s+([\d.]+ GB)", text).group(1)
    assert quoted == printed


def test_more_processes_need_less_memory_each(capsys):
    config = REPO / "configs" / "paper" / "llama31-8b.yaml"

    def training_gb(*extra) -> float:
        return float(re.search(r"  training\s+([\d.]+) GB", _dry_run(capsys, config, *extra)).group(1))

    one, eight = training_gb(), training_gb("--num-processes", "8")
    checkpointed = training_gb("backbone.gradient_checkpointing=true")
    assert 16.1 < eight < one and 16.1 < checkpointed < one


def test_fsdp_divides_the_layer_weights_over_the_processes(capsys):
    from clinical_mpt.backbone_shapes import builtin_shape

    config = REPO / "configs" / "paper" / "gptoss-20b.yaml"
    fsdp = ["--accelerate-config", str(REPO / "configs" / "accelerate" / "fsdp.yaml")]
    text = _dry_run(capsys, config, "--num-processes", "4", *fsdp)
    assert "FSDP: the decoder layers are sharded" in text
    weights = float(re.search(r"weights ([\d.]+) GB", text).group(1))
    s = builtin_shape("gpt-oss-20b")
    embeddings = s.embedding_parameters * (1 if s.tie_word_embeddings else 2)
    layers = s.total_parameters - embeddings
    expected = 2 * (embeddings + layers / 4 + layers / s.num_layers) / 1e9  # bf16; one layer gathered
    assert weights == pytest.approx(expected, abs=0.06)
    ddp = float(re.search(r"weights ([\d.]+) GB", _dry_run(capsys, config, "--num-processes", "4")).group(1))
    assert ddp == pytest.approx(2 * s.total_parameters / 1e9, abs=0.06) and weights < ddp / 2


def test_zero3_divides_every_weight_over_the_processes(capsys, tmp_path):
    from clinical_mpt.backbone_shapes import builtin_shape

    config = REPO / "configs" / "paper" / "gptoss-20b.yaml"
    text = _dry_run(capsys, config, "--num-processes", "4", "--accelerate-config",
                    str(REPO / "configs" / "accelerate" / "zero3.yaml"))
    assert "DeepSpeed ZeRO-3: every weight is partitioned" in text
    weights = float(re.search(r"weights ([\d.]+) GB", text).group(1))
    s = builtin_shape("gpt-oss-20b")
    embeddings = s.embedding_parameters * (1 if s.tie_word_embeddings else 2)
    layer = (s.total_parameters - embeddings) / s.num_layers
    assert weights == pytest.approx(2 * (s.total_parameters / 4 + max(layer, s.embedding_parameters)) / 1e9, abs=0.06)
    # a deepspeed_config_file decides the stage; stage 2 leaves the backbone whole on every rank
    ds_json = tmp_path / "ds.json"
    ds_json.write_text('{"zero_optimization": {"stage": 2}}')
    (tmp_path / "z2.yaml").write_text(f"distributed_type: DEEPSPEED\ndeepspeed_config:\n  deepspeed_config_file: {ds_json}\n")
    text = _dry_run(capsys, config, "--num-processes", "4", "--accelerate-config", str(tmp_path / "z2.yaml"))
    assert "data-parallel: every rank holds the backbone" in text
    assert main(["run", str(config), "--dry-run", "--accelerate-config", str(tmp_path / "missing.yaml")]) == 2
    assert "--accelerate-config" in capsys.readouterr().err


def test_dry_run_needs_a_shape_when_the_weights_are_elsewhere(capsys):
    config = REPO / "configs" / "paper" / "llama31-8b.yaml"
    assert main(["run", str(config), "--dry-run", "backbone.shape="]) == 2
    assert "backbone.shape" in capsys.readouterr().err


def test_dry_run_reads_a_local_model_folder(tiny_models, capsys):
    text = _dry_run(capsys, REPO / "configs" / "tiny.yaml", f"backbone.name={tiny_models['gpt_oss']}")
    assert "GptOssForCausalLM" in text and "config.json" in text


def test_launcher_reruns_the_command_under_accelerate(monkeypatch):
    import subprocess

    calls = []
    monkeypatch.setattr(subprocess, "call", lambda cmd, env=None: calls.append(cmd) or 0)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["teach", "configs/tiny.yaml", "teach.steps=3", "--out", "runs/x", "--resume", "--launcher",
                 "accelerate", "--accelerate-config", "configs/accelerate/ddp.yaml", "--num-processes", "4"]) == 0
    (cmd,) = calls
    assert cmd[1:] == ["-m", "accelerate.commands.launch", "--config_file", "configs/accelerate/ddp.yaml",
                       "--num_processes", "4", "-m", "clinical_mpt", "teach", "configs/tiny.yaml", "teach.steps=3",
                       "--out", "runs/x", "--resume"]
    calls.clear()  # a share of the teachers stays a share under the launch
    assert main(["teach", "configs/tiny.yaml", "--depth", "deep", "--task", "med_ner", "--task", "concept_ner",
                 "--launcher", "accelerate", "--num-processes", "2"]) == 0
    assert calls[0][-6:] == ["--depth", "deep", "--task", "med_ner", "--task", "concept_ner"]


def test_the_plans_stages_follow_the_methods():
    from clinical_mpt.recipes.plan import plan_stages

    tiny = REPO / "configs" / "tiny.yaml"
    both = load_config(tiny, ["methods=[mpt,deep-mpt,prefix]"])
    assert plan_stages(both) == ["teach", "distill", "teach-deep", "distill-deep", "adapt", "evaluate"]
    assert plan_stages(load_config(tiny, ["methods=[deep-mpt-full-prompt]"])) == ["teach-deep", "distill-deep",
                                                                                   "evaluate"]
    assert plan_stages(load_config(tiny, ["methods=[pt,lora]"])) == ["evaluate"]
    # the adapt stage trains one MPT row (u, v only unless adapt.train_meta_prompt): without that row it
    # is skipped, and evaluation trains mpt-full-prompt itself (no unused u, v-only prompts)
    assert plan_stages(load_config(tiny, ["methods=[mpt-full-prompt,pt]"])) == ["teach", "distill", "evaluate"]
    assert plan_stages(load_config(tiny, ["methods=[mpt-full-prompt]", "adapt.train_meta_prompt=true"])) == [
        "teach", "distill", "adapt", "evaluate"]
    assert "adapt" in plan_stages(load_config(tiny, ["methods=[mpt-vectors]"]))  # evaluates mpt's prompts as is
    # the stage trains full data; a k-shot-only protocol never evaluates what it would train
    assert "adapt" not in plan_stages(load_config(tiny, ["methods=[mpt]", "protocol.full_data=false",
                                                         "protocol.shots=[4]"]))
    assert plan_stages(both, "teach") == ["teach", "teach-deep"]
    assert plan_stages(both, "distill", "deep") == ["distill-deep"]
    assert plan_stages(load_config(tiny, ["methods=[pt]"]), "teach") == ["teach"]
