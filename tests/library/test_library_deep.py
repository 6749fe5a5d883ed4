"""Deep library entries: `library add --from-run --method prefix|deep-mpt` stores the composed key/value
prefix with its kind and geometry, loading checks the geometry against the backbone, and peft's
prefix-tuning format round-trips (peft itself loads the export and gives our deep forward's logits)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from clinical_mpt.artifacts import load_artifact
from clinical_mpt.backbone import tiny_random_llama
from clinical_mpt.deep_modeling import deep_logits
from clinical_mpt.library import Library, LibraryError
from clinical_mpt.library.geometry import model_geometry
from clinical_mpt.library.peft_io import entry_from_peft, export_peft
from clinical_mpt.prompts.deep_prompt import from_rows


@pytest.fixture
def deep_lib(deep_run, library_cli, tmp_path) -> Path:
    lib = tmp_path / "deep_lib"
    assert library_cli(["add", str(lib), "--from-run", str(deep_run), "--method", "prefix"]) == 0
    return lib


def test_a_prefix_entry_stores_the_trained_prefix_and_its_kind(deep_lib, deep_run, tiny_backbone, library_cli, capsys):
    lib = Library.open(deep_lib)
    entry = lib.load("dose_qa", tiny_backbone.fingerprint, model_geometry(tiny_backbone.model))
    trained, _ = load_artifact(deep_run / "targets" / "prefix" / "full" / "dose_qa")
    assert torch.equal(entry.prompt, trained["prefix"])
    assert entry.prompt.shape == (2, 2, 2, 8, 16) and entry.depth == "deep" and entry.prompt_length == 8
    c = entry.config
    assert (c["method"], c["depth"], c["prompt_length"], c["layers"], c["kv_heads"], c["head_dim"]) == \
        ("prefix", "deep", 8, 2, 2, 16)
    assert c["parameters"] == entry.prompt.numel() and c["metrics"] == {"test": {"f1": 0.25, "n": 6}}
    assert lib.manifest["entries"]["dose_qa"]["depth"] == "deep"
    assert set(load_file(deep_lib / "dose_qa" / "prompt.safetensors")) == {"prefix"}
    capsys.readouterr()
    assert library_cli(["list", str(deep_lib)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("dose_qa"))
    assert line.split()[:5] == ["dose_qa", "qa", "prefix", "deep", "8"] and "test f1 0.250" in line
    assert library_cli(["show", str(deep_lib), "drug_mcqa"]) == 0
    assert json.loads(capsys.readouterr().out)["depth"] == "deep"
    assert library_cli(["verify", str(deep_lib), "--backbone", "tiny-random-llama", "--dtype", "float32"]) == 0


def test_a_deep_mpt_entry_is_the_composed_prefix(deep_run, library_cli, tmp_path):
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(deep_run), "--method", "deep-mpt", "--tasks", "drug_mcqa"]) == 0
    entry = Library.open(lib).load("drug_mcqa")
    factors, cfg = load_artifact(deep_run / "targets" / "deep-mpt" / "full" / "drug_mcqa")
    meta, _ = load_artifact(deep_run / "distill-deep")
    by_hand = from_rows(meta["shared"] * (factors["u"][0] @ factors["v"][0]), kv_heads=2)   # P*_l o (u_l v_l^T)
    assert torch.allclose(entry.prompt, by_hand, atol=1e-6)
    layers, length, dim = meta["shared"].shape
    assert entry.config["method"] == "deep-mpt" and entry.config["rank"] == 1
    assert entry.config["parameters"] == layers * (length + dim) == cfg["task_parameters"]
    assert entry.config["training"]["trained_as"] == "deep-mpt"


def test_a_deep_mpt_full_prompt_entry_composes_with_its_own_trained_p_star(deep_run, library_cli, tmp_path):
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(deep_run), "--method", "deep-mpt-full-prompt",
                        "--tasks", "dose_qa"]) == 0
    entry = Library.open(lib).load("dose_qa")
    trained, _ = load_artifact(deep_run / "targets" / "deep-mpt-full-prompt" / "full" / "dose_qa")
    meta, _ = load_artifact(deep_run / "distill-deep")
    assert not torch.equal(trained["shared"], meta["shared"])                          # it did train P*
    by_hand = from_rows(trained["shared"] * (trained["u"][0] @ trained["v"][0]), kv_heads=2)
    assert torch.allclose(entry.prompt, by_hand, atol=1e-6)
    assert entry.config["method"] == "deep-mpt" and entry.config["training"]["trained_as"] == "deep-mpt-full-prompt"


def test_a_prefix_of_another_geometry_is_refused(deep_lib, tiny_backbone):
    lib = Library.open(deep_lib)
    with pytest.raises(LibraryError, match=r"dose_qa: its prefix has layers = 2 but the backbone has 3"):
        lib.load("dose_qa", geometry=(3, 2, 16))
    with pytest.raises(LibraryError, match="kv_heads = 2 but the backbone has 4"):
        lib.load_all(geometry=(2, 4, 16))
    assert any("head_dim = 16 but the backbone has 8" in p for p in lib.verify(geometry=(2, 2, 8)))
    assert lib.verify(tiny_backbone.fingerprint, model_geometry(tiny_backbone.model)) == []


def test_a_prefix_that_disagrees_with_its_config_is_refused(deep_lib):
    lib = Library.open(deep_lib)
    entry = lib.load("dose_qa")
    entry.config = dict(entry.config, task="bad", kv_heads=1)
    with pytest.raises(LibraryError, match=r"prefix has shape \(2, 2, 2, 8, 16\) but config.json says"):
        lib.add(entry)
    entry.config = dict(entry.config, kv_heads=2, depth="input")
    with pytest.raises(LibraryError, match="prompt has shape"):
        lib.add(entry)
    assert "bad" not in Library.open(deep_lib).names()


def _saved_tiny_llama(folder: Path) -> Path:
    tiny_random_llama().save_pretrained(folder)
    return folder


def test_export_is_what_peft_saves_and_peft_gives_our_logits(deep_lib, tiny_backbone, tmp_path):
    from peft import PeftModel, PrefixTuningConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    entry = Library.open(deep_lib).load("dose_qa")
    out = export_peft(entry, tmp_path / "adapter")
    ref = get_peft_model(tiny_random_llama(), PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=8))
    ref.save_pretrained(tmp_path / "ref")
    ours_cfg = json.loads((out / "adapter_config.json").read_text())
    ref_cfg = json.loads((tmp_path / "ref" / "adapter_config.json").read_text())
    assert ours_cfg == ref_cfg
    ours_t, ref_t = load_file(out / "adapter_model.safetensors"), load_file(tmp_path / "ref" / "adapter_model.safetensors")
    assert list(ours_t) == list(ref_t) == ["prompt_embeddings"]
    assert ours_t["prompt_embeddings"].shape == ref_t["prompt_embeddings"].shape == (8, 2 * 2 * 2 * 16)

    base = AutoModelForCausalLM.from_pretrained(_saved_tiny_llama(tmp_path / "tiny_llama"))
    peft_model = PeftModel.from_pretrained(base, str(out)).eval()
    ids = torch.tensor([[5, 80, 81, 99, 120, 33], [7, 8, 9, 10, 11, 12]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        theirs = peft_model(input_ids=ids, attention_mask=mask).logits                    # (B, T, V)
    ours = deep_logits(tiny_backbone.model, entry.prompt.expand(2, *entry.prompt.shape), ids, mask)
    assert theirs.shape == ours.shape == (2, 6, 259)
    assert (theirs - ours).abs().max().item() <= 1e-5
    bare = tiny_backbone.model(input_ids=ids, attention_mask=mask).logits
    assert (bare - ours).abs().max().item() > 1e-3, "the prefix must change the logits"


def test_import_round_trip_via_the_cli(deep_lib, tmp_path, library_cli):
    assert library_cli(["export", str(deep_lib), "drug_mcqa", "--peft", str(tmp_path / "adapter")]) == 0
    assert library_cli(["import", str(deep_lib), "--peft", str(tmp_path / "adapter"), "--task", "mcqa_copy",
                        "--type", "mcqa"]) == 0
    lib = Library.open(deep_lib)
    copy = lib.load("mcqa_copy")
    assert torch.equal(copy.prompt, lib.load("drug_mcqa").prompt)
    assert copy.config["method"] == "prefix" and copy.config["depth"] == "deep"
    assert copy.config["source"]["peft_checkpoint"] and lib.verify() == []


def test_import_refuses_other_geometries_and_projected_prefixes(deep_lib, tmp_path):
    lib = Library.open(deep_lib)
    out = export_peft(lib.load("dose_qa"), tmp_path / "adapter")
    three = Path(shutil.copytree(out, tmp_path / "three_layers"))
    cfg = json.loads((out / "adapter_config.json").read_text())
    (three / "adapter_config.json").write_text(json.dumps(dict(cfg, num_layers=3)))
    save_file({"prompt_embeddings": torch.zeros(8, 3 * 2 * 32)}, str(three / "adapter_model.safetensors"))
    with pytest.raises(LibraryError, match="layers = 3 but the backbone has 2"):
        entry_from_peft(three, "x", "qa", lib.fingerprint, geometry=(2, 2, 16))
    (three / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(LibraryError, match="does not match num_virtual_tokens x num_layers"):
        entry_from_peft(three, "x", "qa", lib.fingerprint, geometry=(2, 2, 16))
    projected = Path(shutil.copytree(out, tmp_path / "projected"))
    (projected / "adapter_config.json").write_text(json.dumps(dict(cfg, prefix_projection=True)))
    with pytest.raises(LibraryError, match="prefix_projection"):
        entry_from_peft(projected, "x", "qa", lib.fingerprint, geometry=(2, 2, 16))


def test_teacher_deep_adds_the_deep_teachers_as_their_prefixes(deep_run, library_cli, tmp_path):
    """A run's deep teachers (here: a copy of the fixture run whose single-task deep prompts stand in as
    its teachers-deep/, the same artifact kind) become teacher entries holding their key/value prefix."""
    deep_run = shutil.copytree(deep_run, tmp_path / "run")
    shutil.copytree(deep_run / "targets" / "prefix" / "full", deep_run / "teachers-deep")
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(deep_run), "--method", "teacher-deep"]) == 0
    lib = Library.open(lib)
    names = sorted(p.name for p in (deep_run / "teachers-deep").iterdir() if p.is_dir())
    assert lib.names() == names
    for name in names:
        tensors, _ = load_artifact(deep_run / "teachers-deep" / name)
        entry = lib.load(name)
        assert entry.config["method"] == "teacher" and torch.equal(entry.prompt, tensors["prefix"])


def test_teacher_deep_adds_only_the_named_tasks_and_never_the_input_teachers(deep_run, library_cli, tmp_path):
    deep_run = shutil.copytree(deep_run, tmp_path / "run")
    shutil.copytree(deep_run / "targets" / "prefix" / "full", deep_run / "teachers-deep")
    shutil.copytree(deep_run / "targets" / "prefix" / "full", deep_run / "teachers")  # input teachers, same names
    first = sorted(p.name for p in (deep_run / "teachers-deep").iterdir() if p.is_dir())[0]
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(deep_run), "--method", "teacher-deep",
                        "--tasks", first, "--teachers"]) == 0  # --teachers adds nothing more: no name clash
    assert Library.open(lib).names() == [first]
