"""Where a run's meta-prompt P* comes from: its own distill stage (OUT/distill), or an existing distill
artifact named by `adapt.meta_prompt` (e.g. the one a library ships in libraries/default/meta-prompt).

    adapt.meta_prompt: ""                           teach -> distill -> adapt, P* from OUT/distill
    adapt.meta_prompt: libraries/default/meta-prompt    adapt only; teach and distill are skipped

A given artifact is identified by the SHA-256 of its tensors (recorded in its config.json), so results
and target prompts made from it are keyed by which P* they started from, not by the path or by the
teach/distill settings of the config. Torch-free: `--dry-run` and the config keys use it.

    DIR/config.json          {"kind": "meta-prompt", "tasks", "prompt_length", "rank", "backbone", "files", ...}
    DIR/prompt.safetensors   {"shared" (L, d), "u" (K, L, r), "v" (K, r, d)}   (recipes/distill.py)
"""

from __future__ import annotations

import json
from pathlib import Path

from clinical_mpt.errors import ConfigError

TENSORS = "prompt.safetensors"
META_KEYS = {"shared", "u", "v"}
FIX = "point adapt.meta_prompt at a distill artifact folder (RUN/distill or a library's meta-prompt/), " \
      "or set adapt.meta_prompt: \"\" to distil one in this run"


def given(cfg) -> bool:
    """Whether the config starts from an existing meta-prompt instead of its own distill stage."""
    return bool(cfg.adapt.meta_prompt)


def meta_prompt_dir(cfg, out: Path) -> Path:
    """The folder P* is loaded from: `adapt.meta_prompt` when set, else this run's OUT/distill."""
    return Path(cfg.adapt.meta_prompt) if given(cfg) else Path(out) / "distill"


def read_meta_config(folder: str | Path) -> dict:
    """config.json of a meta-prompt artifact, checked to be one; ConfigError naming the folder and the fix."""
    folder = Path(folder)
    path = folder / "config.json"
    if not folder.is_dir():
        raise ConfigError(f"adapt.meta_prompt: {folder} does not exist; {FIX}")
    if not path.is_file() or not (folder / TENSORS).is_file():
        raise ConfigError(f"adapt.meta_prompt: {folder} is not a prompt artifact (needs config.json and {TENSORS}); "
                          f"{FIX}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"adapt.meta_prompt: {path}: invalid JSON ({e}); {FIX}") from None
    if not isinstance(meta, dict) or meta.get("kind") != "meta-prompt":
        kind = meta.get("kind") if isinstance(meta, dict) else None
        raise ConfigError(f"adapt.meta_prompt: {folder} holds a {kind!r} artifact, not a distilled meta-prompt "
                          f"(kind 'meta-prompt'); {FIX}")
    if not isinstance(meta.get("files"), dict) or not isinstance(meta["files"].get(TENSORS), str):
        raise ConfigError(f"adapt.meta_prompt: {path} records no checksum of {TENSORS}; {FIX}")
    return meta


def identity(folder: str | Path) -> str:
    """What keys depend on: "sha256:<checksum of the artifact's tensors>" (as its config.json records it;
    loading verifies the file against it)."""
    return "sha256:" + read_meta_config(folder)["files"][TENSORS]


def check_compatible(cfg, meta: dict, folder: Path) -> None:
    """The run's prompt shape must be the artifact's (pt trains beside MPT with the same L)."""
    for field, have in (("length", cfg.prompt.length), ("rank", cfg.prompt.rank)):
        want = meta.get("prompt_length" if field == "length" else "rank")
        if want is not None and want != have:
            raise ConfigError(f"prompt.{field}: {have}, but the meta-prompt in {folder} has {field} {want}; "
                              f"set prompt.{field}: {want}")
