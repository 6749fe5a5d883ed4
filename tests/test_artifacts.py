"""Prompt artifacts: config.json + safetensors, checksums, backbone fingerprints, atomic writes."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from clinical_mpt import artifacts
from clinical_mpt.artifacts import FORMAT_VERSION, load_artifact, save_artifact, sha256_file
from clinical_mpt.backbone import Fingerprint
from clinical_mpt.errors import ArtifactError

FP = Fingerprint(architecture="LlamaForCausalLM", hidden_size=8, vocab_size=50, num_parameters=1234,
                 embedding_sha256="ab" * 32)


@pytest.fixture()
def saved(tmp_path):
    tensors = {"shared": torch.randn(4, 8), "u": torch.randn(2, 4, 1), "v": torch.randn(2, 1, 8)}
    save_artifact(tmp_path / "art", tensors, {"kind": "meta-prompt", "tasks": ["a", "b"]}, FP)
    return tmp_path / "art", tensors


def test_round_trip(saved):
    folder, tensors = saved
    loaded, config = load_artifact(folder, FP)
    assert set(loaded) == set(tensors)
    for k, t in tensors.items():
        assert torch.equal(loaded[k], t) and loaded[k].dtype == torch.float32
    assert config["format_version"] == FORMAT_VERSION
    assert config["kind"] == "meta-prompt" and config["tasks"] == ["a", "b"]
    assert config["backbone"] == FP.to_dict()
    assert config["files"] == {"prompt.safetensors": sha256_file(folder / "prompt.safetensors")}


def test_load_without_a_fingerprint_skips_the_backbone_check(saved):
    loaded, _ = load_artifact(saved[0])
    assert set(loaded) == {"shared", "u", "v"}


def test_bf16_and_trainable_tensors_are_saved_as_fp32(tmp_path):
    p = torch.nn.Parameter(torch.randn(3, 8))
    save_artifact(tmp_path, {"prompt": p, "half": torch.randn(2, 2).bfloat16()}, {}, FP)
    loaded, _ = load_artifact(tmp_path, FP)
    assert torch.equal(loaded["prompt"], p.detach())
    assert loaded["half"].dtype == torch.float32


def test_custom_filename(tmp_path):
    save_artifact(tmp_path, {"x": torch.ones(2)}, {"kind": "k"}, FP, filename="weights.safetensors")
    assert (tmp_path / "weights.safetensors").is_file()
    loaded, config = load_artifact(tmp_path, FP, filename="weights.safetensors")
    assert torch.equal(loaded["x"], torch.ones(2)) and "weights.safetensors" in config["files"]
    with pytest.raises(ArtifactError, match="not a prompt artifact"):
        load_artifact(tmp_path, FP)


def test_files_are_self_describing_json_and_safetensors(saved):
    folder, _ = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "prompt.safetensors"]
    json.loads((folder / "config.json").read_text())
    from safetensors.torch import load_file

    assert set(load_file(folder / "prompt.safetensors")) == {"shared", "u", "v"}


@pytest.mark.parametrize("offset", [-1, -40, 20])
def test_a_flipped_byte_is_detected(saved, offset):
    folder, _ = saved
    path = folder / "prompt.safetensors"
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="checksum"):
        load_artifact(folder, FP)


def test_a_truncated_file_is_detected(saved):
    folder, _ = saved
    path = folder / "prompt.safetensors"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ArtifactError):
        load_artifact(folder, FP)


@pytest.mark.parametrize("field, value", [("embedding_sha256", "cd" * 32), ("hidden_size", 16),
                                          ("vocab_size", 51), ("architecture", "GPT2LMHeadModel"),
                                          ("num_parameters", 1)])
def test_another_backbone_is_refused(saved, field, value):
    other = replace(FP, **{field: value})
    with pytest.raises(ArtifactError) as e:
        load_artifact(saved[0], other)
    assert field in str(e.value) and "different backbone" in str(e.value)


@pytest.mark.parametrize("version", [2, 0, None, "1"])
def test_unknown_format_version_is_refused(saved, version):
    folder, _ = saved
    cfg = json.loads((folder / "config.json").read_text())
    if version is None:
        del cfg["format_version"]
    else:
        cfg["format_version"] = version
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ArtifactError, match="format version"):
        load_artifact(folder, FP)


def test_missing_and_broken_files(tmp_path, saved):
    with pytest.raises(ArtifactError, match="not a prompt artifact"):
        load_artifact(tmp_path / "nowhere", FP)
    folder, _ = saved
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="invalid JSON"):
        load_artifact(folder, FP)


def test_no_temporary_files_are_left(tmp_path):
    folder = tmp_path / "a"
    for i in range(3):  # overwriting an artifact also leaves nothing behind
        save_artifact(folder, {"x": torch.full((2,), float(i))}, {"i": i}, FP)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "prompt.safetensors"]
    loaded, config = load_artifact(folder, FP)
    assert loaded["x"].tolist() == [2.0, 2.0] and config["i"] == 2


def test_a_failed_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    def broken_save(tensors, path):
        with open(path, "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(artifacts, "save_file", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_artifact(tmp_path / "a", {"x": torch.ones(2)}, {}, FP)
    assert list((tmp_path / "a").iterdir()) == []
