"""`clinical-mpt library list|show|add|remove|verify` and where the default library is found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import clinical_mpt
from clinical_mpt.library import ENV_VAR, Library, LibraryError, default_library_path, resolve_library


def test_list_show_verify(tiny_run_and_library, library_cli, capsys):
    _, lib = tiny_run_and_library
    assert library_cli(["list", str(lib)]) == 0
    out = capsys.readouterr().out
    assert "4 tasks on backbone 'tiny-random-llama'" in out
    assert "dose_qa" in out and "test f1" in out and "teacher" in out
    assert library_cli(["show", str(lib), "drug_mcqa"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["task"] == "drug_mcqa" and shown["type"] == "mcqa"
    assert library_cli(["verify", str(lib), "--backbone", "tiny-random-llama", "--dtype", "float32"]) == 0
    assert "4 entries, 0 problems" in capsys.readouterr().out


def test_verify_fails_on_a_tampered_library(tiny_run_and_library, library_cli, tmp_path, capsys):
    lib = Path(shutil.copytree(tiny_run_and_library[1], tmp_path / "lib"))
    with open(lib / "dose_qa" / "prompt.safetensors", "ab") as f:
        f.write(b"\0")
    assert library_cli(["verify", str(lib)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "dose_qa" in out and "1 problems" in out


def test_add_selected_tasks_then_remove(tiny_run_and_library, library_cli, tmp_path):
    run, _ = tiny_run_and_library
    lib = tmp_path / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(run), "--tasks", "drug_mcqa"]) == 0
    assert Library.open(lib).names() == ["drug_mcqa"]
    with pytest.raises(LibraryError, match="exists"):
        library_cli(["add", str(lib), "--from-run", str(run), "--tasks", "drug_mcqa"])
    assert library_cli(["add", str(lib), "--from-run", str(run), "--tasks", "drug_mcqa", "--replace"]) == 0
    cfg = Library.open(lib).entry_config("drug_mcqa")
    assert "--tasks drug_mcqa" in cfg["source"]["added_with"]
    assert library_cli(["remove", str(lib), "drug_mcqa"]) == 0
    assert Library.open(lib).names() == []


def test_add_names_what_is_missing(tiny_run_and_library, library_cli, tmp_path):
    run, _ = tiny_run_and_library
    with pytest.raises(LibraryError, match="no adapted prompts for nope; available: dose_qa, drug_mcqa"):
        library_cli(["add", str(tmp_path / "lib"), "--from-run", str(run), "--tasks", "nope"])
    with pytest.raises(LibraryError, match="found: full"):
        library_cli(["add", str(tmp_path / "lib"), "--from-run", str(run), "--variant", "k16-s0"])
    with pytest.raises(LibraryError, match="not a run folder"):
        library_cli(["add", str(tmp_path / "lib"), "--from-run", str(tmp_path)])
    assert not (tmp_path / "lib").exists()


def test_default_library_location(monkeypatch, tmp_path, tiny_run_and_library):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_library_path() == Path(clinical_mpt.__file__).resolve().parents[2] / "libraries" / "default"
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere"))
    assert default_library_path() == tmp_path / "nowhere"
    with pytest.raises(LibraryError, match=f"no prompt library at .*nowhere.*{ENV_VAR}"):
        resolve_library(None)
    with pytest.raises(LibraryError, match="from --library"):
        resolve_library(tmp_path)
    monkeypatch.setenv(ENV_VAR, str(tiny_run_and_library[1]))
    assert resolve_library(None) == tiny_run_and_library[1]
