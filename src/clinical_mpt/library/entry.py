"""One library entry: a task's COMPOSED soft prompt (L x d, fp32) and its self-describing config.

    <task>/config.json          what the prompt is for and how it was made (see `entry_config`)
    <task>/prompt.safetensors   {"prompt": (L, d) float32}

An MPT prompt is stored already composed (P* o (u v^T)), so serving needs neither P* nor the
factors; `parameters` still records what the method stores per task (r(L + d) for MPT).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import torch

from clinical_mpt.errors import ArtifactError
from clinical_mpt.tasks.base import TASK_NAME
from clinical_mpt.tasks.registry import TASK_TYPES

FORMAT_VERSION = 1
# The kinds of library entry, not the method table (methods/table.py): "mpt" is a composed MPT prompt
# whichever MPT method trained it, "pt" a prompt-tuning baseline, "teacher" a source-task teacher.
METHODS = ("mpt", "pt", "teacher")
PROMPT_KEY = "prompt"


class LibraryError(ArtifactError):
    """A prompt library (or one of its entries) is missing, corrupt, of another version or backbone."""


def check_name(name: str) -> str:
    """Task names become folder names: letters, digits, '_', '.', '-' only (no paths)."""
    if not isinstance(name, str) or not TASK_NAME.match(name):
        raise LibraryError(f"invalid task name {name!r}: use letters, digits, '_', '.' or '-' "
                           "(at most 100 characters, starting with a letter or digit)")
    return name


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def entry_config(task: str, type_: str, instruction: str | None, prompt: torch.Tensor, method: str,
                 parameters: int, fingerprint: dict, rank: int | None = None, training: dict | None = None,
                 metrics: dict | None = None, command: str | None = None, source: dict | None = None,
                 majority: dict | None = None) -> dict:
    """The config.json of an entry. `instruction` None means the task type's default instruction,
    which is written out so the entry keeps working if that default ever changes. `metrics` and
    `majority` are by split ({"dev": ..., "test": ...}); see library/baseline.py."""
    from clinical_mpt.tasks import get_task_type

    check_name(task)
    if method not in METHODS:
        raise LibraryError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    tt = get_task_type(type_)
    return {
        "format_version": FORMAT_VERSION,
        "task": task,
        "type": type_,
        "instruction": instruction or tt.default_instruction,
        "prompt_length": int(prompt.shape[0]),
        "hidden_size": int(prompt.shape[1]),
        "method": method,
        "rank": rank,
        "parameters": int(parameters),
        "training": training or {},
        "metrics": metrics or {},
        "majority": majority or {},
        "command": command,
        "source": source or {},
        "created_at": now_iso(),
        "backbone": dict(fingerprint),
    }


@dataclass
class Entry:
    """A loaded (or about to be added) library entry."""

    config: dict
    prompt: torch.Tensor  # (L, d) float32

    @property
    def name(self) -> str:
        return self.config["task"]

    @property
    def type(self) -> str:
        return self.config["type"]

    @property
    def instruction(self) -> str | None:
        return self.config.get("instruction")

    @property
    def prompt_length(self) -> int:
        return int(self.prompt.shape[0])

    @property
    def parameters(self) -> int:
        return int(self.config.get("parameters", self.prompt.numel()))


def check_entry(config: dict, prompt: torch.Tensor, where: str) -> None:
    """Raise LibraryError unless config.json and the tensor agree with each other and the format."""
    if config.get("format_version") != FORMAT_VERSION:
        raise LibraryError(f"{where}: unknown library format version {config.get('format_version')!r} "
                           f"(this clinical-mpt reads version {FORMAT_VERSION}); upgrade clinical-mpt "
                           "or rebuild the entry")
    for key in ("task", "type", "method", "prompt_length", "backbone"):
        if key not in config:
            raise LibraryError(f"{where}: config.json is missing {key!r}")
    if not isinstance(config["backbone"], dict):
        raise LibraryError(f"{where}: config.json 'backbone' must be an object (the backbone fingerprint)")
    if not isinstance(config["type"], str) or config["type"] not in TASK_TYPES:
        raise LibraryError(f"{where}: unknown task type {config['type']!r}")
    if prompt.ndim != 2 or prompt.shape[0] != config["prompt_length"]:
        raise LibraryError(f"{where}: prompt has shape {tuple(prompt.shape)} but config.json says "
                           f"prompt_length {config['prompt_length']}")
    if config.get("hidden_size") not in (None, prompt.shape[1]):
        raise LibraryError(f"{where}: prompt width {prompt.shape[1]} differs from hidden_size {config['hidden_size']}")
    if not torch.isfinite(prompt).all():
        raise LibraryError(f"{where}: prompt contains NaN or infinite values")
