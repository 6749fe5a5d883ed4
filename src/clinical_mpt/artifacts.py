"""Prompt artifacts on disk: `config.json` (what it is, for which backbone) + `*.safetensors` tensors.

Never pickle: tensors go through safetensors, metadata through JSON. Both are written to temporary
names and renamed, so an interrupted save never leaves a half-written artifact. Loading checks the
backbone fingerprint, so a prompt refuses to load on a backbone it was not trained for.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from clinical_mpt.backbone import Fingerprint
from clinical_mpt.data.jsonl import temp_beside, write_json
from clinical_mpt.errors import ArtifactError

FORMAT_VERSION = 1


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_artifact(folder: Path, tensors: dict[str, torch.Tensor], config: dict, fingerprint: Fingerprint,
                  filename: str = "prompt.safetensors") -> None:
    """Write folder/{filename, config.json}; config records the fingerprint and the tensors' sha256."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(folder / filename)
    try:
        save_file({k: v.detach().float().contiguous().cpu() for k, v in tensors.items()}, tmp)
        digest = sha256_file(Path(tmp))
        os.replace(tmp, folder / filename)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    meta = {"format_version": FORMAT_VERSION, **config, "backbone": fingerprint.to_dict(),
            "files": {filename: digest}}
    write_json(folder / "config.json", meta)


def load_artifact(folder: Path, fingerprint: Fingerprint | None = None,
                  filename: str = "prompt.safetensors") -> tuple[dict[str, torch.Tensor], dict]:
    """Read an artifact, verifying its checksum and (if given) that it was made on this backbone."""
    folder = Path(folder)
    cfg_path, tensor_path = folder / "config.json", folder / filename
    if not cfg_path.is_file() or not tensor_path.is_file():
        raise ArtifactError(f"{folder}: not a prompt artifact (needs config.json and {filename})")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise ArtifactError(f"{cfg_path}: invalid JSON ({e})") from None
    if not isinstance(config, dict) or not isinstance(config.get("files"), dict) \
            or not isinstance(config.get("backbone", {}), dict):
        raise ArtifactError(f"{cfg_path}: expected a JSON object with 'files' and 'backbone' objects")
    if config.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{cfg_path}: unknown format version {config.get('format_version')!r} "
                            f"(this clinical-mpt reads version {FORMAT_VERSION})")
    expected = config["files"].get(filename)
    if expected != sha256_file(tensor_path):
        raise ArtifactError(f"{tensor_path}: checksum does not match config.json (file changed or corrupt)")
    if fingerprint is not None:
        problem = fingerprint.mismatch(config.get("backbone", {}))
        if problem:
            raise ArtifactError(f"{folder}: trained on a different backbone: {problem}")
    try:
        tensors = load_file(tensor_path)
    except (SafetensorError, OSError) as e:
        raise ArtifactError(f"{tensor_path}: unreadable safetensors file ({e})") from None
    return tensors, config
