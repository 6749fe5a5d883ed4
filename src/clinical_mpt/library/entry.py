"""One library entry: a task's COMPOSED soft prompt (fp32) and its self-describing config.

    <task>/config.json          what the prompt is for and how it was made (see `entry_config`)
    <task>/prompt.safetensors   {"prompt": (L, d) float32}                            depth "input"
                                {"prefix": (layers, 2, kv_heads, L, head_dim) float32}  depth "deep"

An MPT prompt is stored already composed (P* o (u v^T)), so serving needs neither P* nor the
factors; `parameters` still records what the method stores per task (r(L + d) for MPT). A deep entry
(`prefix`, `deep-mpt`) likewise stores its composed per-layer key/value prefix (DeepMPTPrompt composes
P*_l o (u_l v_l^T)): the engine puts it straight into the KV cache. Its config.json records
`"depth": "deep"` and the geometry (`layers`, `kv_heads`, `head_dim`) a backbone must have to read it.
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
# "prefix" a single-task deep prompt, "deep-mpt" a composed deep MPT prefix (deep-mpt or deep-mpt-full-prompt).
METHODS = ("mpt", "pt", "prefix", "deep-mpt", "teacher")
PROMPT_KEY = "prompt"   # the tensor of an input-level entry (L, d)
PREFIX_KEY = "prefix"   # the tensor of a deep entry (layers, 2, kv_heads, L, head_dim)
DEPTHS = ("input", "deep")


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


def depth_of(prompt: torch.Tensor) -> str:
    """'deep' for a (layers, 2, kv_heads, L, head_dim) prefix, 'input' for an (L, d) prompt."""
    return "deep" if prompt.ndim == 5 else "input"


def shape_fields(prompt: torch.Tensor) -> dict:
    """The config.json fields that describe the tensor: depth, prompt_length and its widths."""
    if depth_of(prompt) == "deep":
        layers, _, kv_heads, length, head_dim = prompt.shape
        return {"depth": "deep", "prompt_length": int(length), "layers": int(layers), "kv_heads": int(kv_heads),
                "head_dim": int(head_dim)}
    return {"depth": "input", "prompt_length": int(prompt.shape[0]), "hidden_size": int(prompt.shape[1])}


def tensor_key(config: dict) -> str:
    """The safetensors key an entry's tensor is stored under (by its config's depth)."""
    return PREFIX_KEY if config.get("depth", "input") == "deep" else PROMPT_KEY


def geometry_problem(config: dict, geometry: tuple[int, int, int]) -> str | None:
    """Why a deep entry does not fit a backbone of `geometry` (layers, kv_heads, head_dim), or None
    (always None for an input-level entry: its width is checked against the hidden size)."""
    if config.get("depth", "input") != "deep":
        return None
    for name, want in zip(("layers", "kv_heads", "head_dim"), geometry):
        if config.get(name) != want:
            return (f"its prefix has {name} = {config.get(name)!r} but the backbone has {want}: a deep prompt "
                    "is keys and values for one backbone's attention layers; serve it with the backbone it "
                    "was trained on")
    return None


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
        **shape_fields(prompt),
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
    prompt: torch.Tensor  # (L, d) float32, or a deep entry's prefix (layers, 2, kv_heads, L, head_dim)

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
    def depth(self) -> str:
        return depth_of(self.prompt)

    @property
    def prompt_length(self) -> int:
        return int(self.prompt.shape[3] if self.depth == "deep" else self.prompt.shape[0])

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
    depth = config.get("depth", "input")
    if depth not in DEPTHS:
        raise LibraryError(f"{where}: config.json 'depth' is {depth!r}; expected one of {', '.join(DEPTHS)}")
    if depth == "deep":
        check_deep_shape(config, prompt, where)
    elif prompt.ndim != 2 or prompt.shape[0] != config["prompt_length"]:
        raise LibraryError(f"{where}: prompt has shape {tuple(prompt.shape)} but config.json says "
                           f"prompt_length {config['prompt_length']}")
    elif config.get("hidden_size") not in (None, prompt.shape[1]):
        raise LibraryError(f"{where}: prompt width {prompt.shape[1]} differs from hidden_size {config['hidden_size']}")
    if not torch.isfinite(prompt).all():
        raise LibraryError(f"{where}: prompt contains NaN or infinite values")


def check_deep_shape(config: dict, prefix: torch.Tensor, where: str) -> None:
    """A deep entry's tensor must be (layers, 2, kv_heads, prompt_length, head_dim) as config.json says."""
    want = tuple(config.get(k) for k in ("layers", "kv_heads", "prompt_length", "head_dim"))
    got = (prefix.shape[0], prefix.shape[2], prefix.shape[3], prefix.shape[4]) if prefix.ndim == 5 else None
    if prefix.ndim != 5 or prefix.shape[1] != 2 or got != want:
        raise LibraryError(f"{where}: prefix has shape {tuple(prefix.shape)} but config.json says (layers, 2, "
                           f"kv_heads, prompt_length, head_dim) = ({want[0]}, 2, {want[1]}, {want[2]}, {want[3]})")
