"""`clinical-mpt library add-meta DIR --from-run RUN`: the library ships the run's distilled meta-prompt in
DIR/meta-prompt, pinned by the manifest, checked by `library verify`, and loadable as `adapt.meta_prompt`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from clinical_mpt.library import Library, LibraryError


@pytest.fixture
def shipped(tiny_run_and_library, library_cli, tmp_path) -> Path:
    """A copy of the tiny library that also ships the tiny run's meta-prompt."""
    run, lib = tiny_run_and_library
    lib = Path(shutil.copytree(lib, tmp_path / "lib"))
    assert library_cli(["add-meta", str(lib), "--from-run", str(run)]) == 0
    return lib


def test_add_meta_copies_the_distill_artifact_and_verify_checks_it(tiny_run_and_library, shipped, library_cli,
                                                                   capsys, tiny_backbone):
    from clinical_mpt.artifacts import load_artifact

    run, _ = tiny_run_and_library
    for name in ("config.json", "prompt.safetensors"):
        assert (shipped / "meta-prompt" / name).read_bytes() == (run / "distill" / name).read_bytes()
    record = Library.open(shipped).manifest["meta_prompt"]
    assert record["tasks"] == ["med_ner", "problem_nli"] and record["prompt_length"] == 8
    tensors, _ = load_artifact(shipped / "meta-prompt", tiny_backbone.fingerprint)  # what adapt.meta_prompt loads
    assert torch.equal(tensors["shared"], load_artifact(run / "distill")[0]["shared"])
    capsys.readouterr()
    assert library_cli(["verify", str(shipped), "--backbone", "tiny-random-llama", "--dtype", "float32"]) == 0
    assert "4 entries + the meta-prompt, 0 problems" in capsys.readouterr().out
    assert Library.open(shipped).names() == sorted(["dose_qa", "drug_mcqa", "med_ner", "problem_nli"])


def test_verify_fails_on_a_tampered_meta_prompt(shipped, library_cli, capsys):
    with open(shipped / "meta-prompt" / "prompt.safetensors", "ab") as f:
        f.write(b"\0")
    assert library_cli(["verify", str(shipped)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "meta-prompt/prompt.safetensors: SHA-256 does not match" in out and "add-meta" in out


def test_an_unlisted_meta_prompt_folder_is_a_stray_folder(tiny_run_and_library, library_cli, tmp_path, capsys):
    run, lib = tiny_run_and_library
    lib = Path(shutil.copytree(lib, tmp_path / "lib"))
    shutil.copytree(run / "distill", lib / "meta-prompt")
    assert library_cli(["verify", str(lib)]) == 1
    assert "meta-prompt: folder is not listed in the manifest" in capsys.readouterr().out


def test_add_meta_twice_needs_replace(tiny_run_and_library, shipped, library_cli):
    run, _ = tiny_run_and_library
    with pytest.raises(LibraryError, match="already ships a meta-prompt; pass --replace"):
        library_cli(["add-meta", str(shipped), "--from-run", str(run)])
    assert library_cli(["add-meta", str(shipped), "--from-run", str(run), "--replace"]) == 0
    assert not [p for p in shipped.iterdir() if p.name.startswith(".")], "no temporary folder is left"


def test_add_meta_refuses_a_run_without_a_meta_prompt_and_another_backbone(tiny_run_and_library, library_cli,
                                                                          tmp_path):
    run, lib = tiny_run_and_library
    bare = tmp_path / "bare_run"
    bare.mkdir()
    shutil.copy(run / "config.yaml", bare / "config.yaml")
    with pytest.raises(LibraryError, match="no distilled meta-prompt here"):
        library_cli(["add-meta", str(tmp_path / "lib"), "--from-run", str(bare)])
    other = Path(shutil.copytree(lib, tmp_path / "other"))
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["backbone"]["fingerprint"]["embedding_sha256"] = "f" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LibraryError, match="different backbone"):
        library_cli(["add-meta", str(other), "--from-run", str(run)])
    assert not (other / "meta-prompt").exists()
