"""The prompt library on disk: round trip, checksums, backbone and version checks, atomic add."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from clinical_mpt.artifacts import load_artifact
from clinical_mpt.backbone import fingerprint, tiny_random_llama
from clinical_mpt.library import Entry, Library, LibraryError
from clinical_mpt.library.store import sha256_bytes


@pytest.fixture
def lib_copy(tiny_run_and_library, tmp_path) -> Path:
    _, lib = tiny_run_and_library
    return Path(shutil.copytree(lib, tmp_path / "lib"))


def test_round_trip_stores_the_composed_prompt_and_its_description(tiny_run_and_library, tiny_backbone):
    run, root = tiny_run_and_library
    lib = Library.open(root)
    assert lib.names() == ["dose_qa", "drug_mcqa", "med_ner", "problem_nli"]
    assert lib.backbone_name == "tiny-random-llama"
    assert lib.fingerprint == tiny_backbone.fingerprint.to_dict()
    entries = lib.load_all(tiny_backbone.fingerprint)

    meta, _ = load_artifact(run / "distill")
    factors, _ = load_artifact(run / "adapt" / "full" / "dose_qa")
    composed = meta["shared"] * (factors["u"][0] @ factors["v"][0])
    qa = entries["dose_qa"]
    assert torch.equal(qa.prompt, composed) and qa.prompt.dtype == torch.float32
    cfg = qa.config
    assert (cfg["type"], cfg["method"], cfg["rank"], cfg["prompt_length"]) == ("qa", "mpt", 1, 8)
    assert cfg["parameters"] == 8 + 64                            # r (L + d), not L x d
    assert cfg["metrics"]["test"]["n"] == 6 and "f1" in cfg["metrics"]["test"]
    assert cfg["command"].startswith("clinical-mpt run configs/tiny.yaml")
    assert cfg["instruction"] and cfg["created_at"] and cfg["format_version"] == 1
    assert cfg["training"]["examples"] == 16

    teacher, _ = load_artifact(run / "teachers" / "med_ner")
    assert torch.equal(entries["med_ner"].prompt, teacher["prompt"])
    assert entries["med_ner"].config["method"] == "teacher" and entries["med_ner"].parameters == 8 * 64

    manifest = json.loads((root / "manifest.json").read_text())
    for name in lib.names():
        for filename, digest in manifest["entries"][name]["files"].items():
            assert sha256_bytes((root / name / filename).read_bytes()) == digest
        assert set(manifest["entries"][name]["files"]) == {"config.json", "prompt.safetensors"}
    assert manifest["backbone"]["fingerprint"] == tiny_backbone.fingerprint.to_dict()


@pytest.mark.parametrize("filename", ["prompt.safetensors", "config.json"])
def test_a_tampered_file_is_refused_and_nothing_loads(lib_copy, tiny_backbone, filename):
    path = lib_copy / "drug_mcqa" / filename
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))
    lib = Library.open(lib_copy)
    with pytest.raises(LibraryError, match="SHA-256 does not match"):
        lib.load("drug_mcqa")
    with pytest.raises(LibraryError, match="drug_mcqa"):
        lib.load_all(tiny_backbone.fingerprint)                   # no partial load
    problems = lib.verify()
    assert len(problems) == 1 and "drug_mcqa" in problems[0]
    lib.load("dose_qa")                                           # the others are fine


def test_a_missing_file_is_refused(lib_copy):
    (lib_copy / "dose_qa" / "prompt.safetensors").unlink()
    with pytest.raises(LibraryError, match="missing"):
        Library.open(lib_copy).load("dose_qa")


def test_a_library_for_another_backbone_is_refused(lib_copy):
    other = fingerprint(tiny_random_llama(seed=1))
    lib = Library.open(lib_copy)
    with pytest.raises(LibraryError, match="different backbone: embedding_sha256"):
        lib.load_all(other)
    with pytest.raises(LibraryError, match="different backbone"):
        lib.check_backbone(other)
    assert all("different backbone" in p for p in lib.verify(other))


def test_an_entry_from_another_backbone_is_refused_on_add_and_on_load(lib_copy):
    lib = Library.open(lib_copy)
    entry = lib.load("dose_qa")
    entry.config = dict(entry.config, task="alien", backbone=fingerprint(tiny_random_llama(seed=1)).to_dict())
    with pytest.raises(LibraryError, match="different backbone"):
        lib.add(entry)
    assert "alien" not in lib.names() and not (lib_copy / "alien").exists()
    # a config.json edited (and re-checksummed) to claim another backbone is refused too
    cfg_path = lib_copy / "dose_qa" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["backbone"]["hidden_size"] = 128
    cfg_path.write_text(json.dumps(cfg))
    manifest = json.loads((lib_copy / "manifest.json").read_text())
    manifest["entries"]["dose_qa"]["files"]["config.json"] = sha256_bytes(cfg_path.read_bytes())
    (lib_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LibraryError, match="different backbone"):
        Library.open(lib_copy).load("dose_qa")


def test_unknown_format_versions_are_refused(lib_copy):
    manifest = json.loads((lib_copy / "manifest.json").read_text())
    (lib_copy / "manifest.json").write_text(json.dumps(dict(manifest, format_version=99)))
    with pytest.raises(LibraryError, match="unknown library format version 99"):
        Library.open(lib_copy)
    cfg_path = lib_copy / "dose_qa" / "config.json"
    cfg_path.write_text(json.dumps(dict(json.loads(cfg_path.read_text()), format_version=2)))
    manifest["entries"]["dose_qa"]["files"]["config.json"] = sha256_bytes(cfg_path.read_bytes())
    (lib_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LibraryError, match="unknown library format version 2"):
        Library.open(lib_copy).load("dose_qa")


def test_not_a_library(tmp_path):
    with pytest.raises(LibraryError, match="not a prompt library"):
        Library.open(tmp_path)


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def _new_entry(lib: Library, name: str, value: float) -> Entry:
    base = lib.load("dose_qa")
    return Entry(dict(base.config, task=name), torch.full_like(base.prompt, value))


@pytest.mark.parametrize("fail_at", ["rename", "manifest"])
def test_an_interrupted_add_leaves_no_entry_and_no_temp(lib_copy, monkeypatch, fail_at):
    import clinical_mpt.library.store as store

    lib = Library.open(lib_copy)
    before = (lib_copy / "manifest.json").read_bytes()
    if fail_at == "rename":
        def crash(src, dst):
            raise OSError("simulated crash while renaming")
        monkeypatch.setattr(store.os, "replace", crash)
    else:
        def crash(path, text):
            raise OSError("simulated crash while writing the manifest")
        monkeypatch.setattr(store, "atomic_write_text", crash)
    with pytest.raises(OSError, match="simulated crash"):
        lib.add(_new_entry(lib, "new_task", 0.5))
    monkeypatch.undo()
    assert not (lib_copy / "new_task").exists()
    assert _leftovers(lib_copy) == []
    assert (lib_copy / "manifest.json").read_bytes() == before
    assert "new_task" not in Library.open(lib_copy).names() and Library.open(lib_copy).verify() == []


def test_an_interrupted_replace_keeps_the_old_entry(lib_copy, monkeypatch):
    import clinical_mpt.library.store as store

    lib = Library.open(lib_copy)
    old = lib.load("drug_mcqa").prompt.clone()

    def crash(path, text):
        raise OSError("simulated crash while writing the manifest")
    monkeypatch.setattr(store, "atomic_write_text", crash)
    replacement = Entry(dict(lib.load("drug_mcqa").config), torch.zeros_like(old))
    with pytest.raises(OSError):
        lib.add(replacement, replace=True)
    monkeypatch.undo()
    reopened = Library.open(lib_copy)
    assert torch.equal(reopened.load("drug_mcqa").prompt, old) and reopened.verify() == []
    assert _leftovers(lib_copy) == []
    reopened.add(replacement, replace=True)                       # and without the crash it lands
    assert torch.equal(Library.open(lib_copy).load("drug_mcqa").prompt, torch.zeros_like(old))


def test_add_refuses_duplicates_and_bad_names_remove_deletes(lib_copy):
    lib = Library.open(lib_copy)
    with pytest.raises(LibraryError, match="exists"):
        lib.add(lib.load("dose_qa"))
    with pytest.raises(LibraryError, match="invalid task name"):
        lib.add(_new_entry(lib, "../escape", 1.0))
    lib.remove("med_ner")
    assert "med_ner" not in Library.open(lib_copy).names() and not (lib_copy / "med_ner").exists()
    with pytest.raises(LibraryError, match="no entry 'med_ner'"):
        lib.load("med_ner")


def test_verify_reports_stray_folders(lib_copy):
    (lib_copy / "stray").mkdir()
    problems = Library.open(lib_copy).verify()
    assert len(problems) == 1 and "not listed in the manifest" in problems[0]
