"""Training checkpoints that survive a SIGKILL at any instant.

A checkpoint is `DIR/ckpt-<step>.safetensors` (trainable tensors, optimizer moments, torch RNG) plus
`DIR/state.json` (step, optimizer hyper-parameters, scheduler, sampler and Python RNG state, and the
sha256 of the tensor file). The tensor file is written first under a new name, then `state.json` is
atomically replaced to point at it, then older tensor files are removed: whatever instant the
process dies, `state.json` names a complete tensor file. Nothing is pickled.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from clinical_mpt.artifacts import sha256_file
from clinical_mpt.data.jsonl import write_json
from clinical_mpt.errors import ArtifactError


def save_checkpoint(folder: Path, step: int, params: list[torch.Tensor], optimizer, scheduler,
                    sampler_state: dict | None, extra: tuple[dict, dict] | None = None) -> None:
    """`extra` = (tensors, JSON state) of other training state (early stopping's best parameters),
    read back by `load_extra`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"param.{i}": p.detach().cpu().contiguous() for i, p in enumerate(params)}
    extra_tensors, extra_state = extra if extra is not None else ({}, None)
    tensors |= {f"extra.{k}": v.detach().cpu().contiguous() for k, v in extra_tensors.items()}
    opt = optimizer.state_dict()
    for idx, st in opt["state"].items():
        for name, value in st.items():
            tensors[f"opt.{idx}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    name = f"ckpt-{step}.safetensors"
    tmp = folder / f".{name}.tmp"
    try:
        save_file(tensors, tmp)
        tmp.replace(folder / name)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write leaves no temporary file behind
    write_json(folder / "state.json", {
        "step": step, "tensors": name, "sha256": sha256_file(folder / name),
        "param_groups": opt["param_groups"], "opt_keys": {str(k): sorted(v) for k, v in opt["state"].items()},
        "scheduler": scheduler.state_dict(), "sampler": sampler_state, "extra": extra_state,
    })
    for old in folder.glob("ckpt-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def load_checkpoint(folder: Path, params: list[torch.Tensor], optimizer, scheduler) -> tuple[int, dict | None]:
    """Restore params, optimizer, scheduler and torch RNG in place; -> (step, sampler state).
    ArtifactError when the checkpoint is unreadable, corrupt, or does not fit this training (e.g. the
    config changed between the crash and the resume)."""
    folder = Path(folder)
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ArtifactError(f"{folder}/state.json: unreadable checkpoint ({e})") from None
    name = state.get("tensors") if isinstance(state, dict) else None
    if not isinstance(name, str) or not re.fullmatch(r"ckpt-\d+\.safetensors", name):
        raise ArtifactError(f"{folder}/state.json: not a checkpoint state; delete {folder} to start over")
    path = folder / name
    if not path.is_file() or sha256_file(path) != state.get("sha256"):
        raise ArtifactError(f"{path}: checkpoint tensors missing or corrupt; delete {folder} to start over")
    try:
        return _restore(state, load_file(path), params, optimizer, scheduler)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError, SafetensorError) as e:
        raise ArtifactError(f"{folder}: the checkpoint does not fit this training ({type(e).__name__}: {e}); "
                            f"resume with the config it was made with, or delete {folder} to start over") from e


def _restore(state: dict, tensors: dict, params: list[torch.Tensor], optimizer, scheduler) -> tuple[int, dict | None]:
    with torch.no_grad():
        for i, p in enumerate(params):
            p.copy_(tensors[f"param.{i}"])
    opt_state = {int(k): {name: tensors[f"opt.{k}.{name}"] for name in names}
                 for k, names in state["opt_keys"].items()}
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    if not isinstance(state["step"], int) or not isinstance(state.get("sampler"), (dict, type(None))):
        raise ValueError("'step' must be an integer and 'sampler' an object")
    return state["step"], state.get("sampler")


def load_extra(folder: Path) -> tuple[dict, dict | None]:
    """The (tensors, JSON state) saved as `extra` with the checkpoint that `load_checkpoint` restored
    (({}, None) when none was saved)."""
    folder = Path(folder)
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    tensors = load_file(folder / state["tensors"])
    return {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}, state.get("extra")


def has_checkpoint(folder: Path | None) -> bool:
    return folder is not None and (Path(folder) / "state.json").is_file()
