"""Interop with HuggingFace peft's prompt tuning (`PromptTuningConfig`, task_type CAUSAL_LM).

peft saves a prompt-tuning adapter as

    OUT/adapter_config.json         {"peft_type": "PROMPT_TUNING", "task_type": "CAUSAL_LM",
                                     "num_virtual_tokens": L, "token_dim": d, ...}
    OUT/adapter_model.safetensors   {"prompt_embeddings": (L, d)}

and prepends the embeddings to the input exactly as we do, so `PeftModel.from_pretrained(model, OUT)`
reproduces our prompted forward pass. Only safetensors checkpoints are imported: a pickled
`adapter_model.bin` is refused, never unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from clinical_mpt.data.jsonl import write_json
from clinical_mpt.library.entry import Entry, LibraryError, entry_config

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
PEFT_KEY = "prompt_embeddings"


def _peft_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("peft")
    except PackageNotFoundError:
        return None


def peft_adapter_config(num_virtual_tokens: int, token_dim: int, base_model: str | None = None) -> dict:
    """The adapter_config.json peft 0.21 writes for PromptTuningConfig(task_type="CAUSAL_LM");
    num_layers / num_attention_heads stay null and peft fills them from the model on load."""
    return {
        "auto_mapping": None,
        "base_model_name_or_path": base_model,
        "inference_mode": True,
        "modules_to_save": None,
        "num_attention_heads": None,
        "num_layers": None,
        "num_transformer_submodules": 1,
        "num_virtual_tokens": int(num_virtual_tokens),
        "peft_type": "PROMPT_TUNING",
        "peft_version": _peft_version(),
        "prompt_tuning_init": "RANDOM",
        "prompt_tuning_init_text": None,
        "revision": None,
        "task_type": "CAUSAL_LM",
        "token_dim": int(token_dim),
        "tokenizer_kwargs": None,
        "tokenizer_name_or_path": None,
    }


def export_peft(entry: Entry, out: str | Path, base_model: str | None = None) -> Path:
    """Write `entry`'s prompt as a peft prompt-tuning adapter folder; returns the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{ADAPTER_WEIGHTS}.tmp"
    try:
        save_file({PEFT_KEY: entry.prompt.detach().float().contiguous().cpu()}, str(tmp), metadata={"format": "pt"})
        tmp.replace(out / ADAPTER_WEIGHTS)
    finally:
        tmp.unlink(missing_ok=True)
    write_json(out / ADAPTER_CONFIG, peft_adapter_config(entry.prompt_length, entry.prompt.shape[1], base_model))
    return out


def read_peft_prompt(ckpt: str | Path) -> tuple[torch.Tensor, dict]:
    """(prompt (L, d) fp32, adapter config) of a peft prompt-tuning checkpoint folder."""
    ckpt = Path(ckpt)
    cfg_path = ckpt / ADAPTER_CONFIG
    if not cfg_path.is_file():
        raise LibraryError(f"{ckpt}: not a peft adapter folder (no {ADAPTER_CONFIG})")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise LibraryError(f"{cfg_path}: invalid JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise LibraryError(f"{cfg_path}: expected a JSON object (a peft adapter config)")
    if cfg.get("peft_type") != "PROMPT_TUNING":
        raise LibraryError(f"{cfg_path}: peft_type is {cfg.get('peft_type')!r}; only PROMPT_TUNING adapters import")
    if cfg.get("task_type") not in (None, "CAUSAL_LM"):
        raise LibraryError(f"{cfg_path}: task_type is {cfg.get('task_type')!r}; only CAUSAL_LM prompts fit a causal LM")
    if cfg.get("num_transformer_submodules", 1) != 1:
        raise LibraryError(f"{cfg_path}: num_transformer_submodules must be 1 for a causal LM")
    weights = ckpt / ADAPTER_WEIGHTS
    if not weights.is_file():
        pickled = " (adapter_model.bin is a pickle and is never loaded; re-save it with "\
                  "save_pretrained(safe_serialization=True))" if (ckpt / "adapter_model.bin").exists() else ""
        raise LibraryError(f"{ckpt}: no {ADAPTER_WEIGHTS}{pickled}")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise LibraryError(f"{weights}: unreadable safetensors file ({e})") from None
    if PEFT_KEY not in tensors:
        raise LibraryError(f"{weights}: no {PEFT_KEY!r} tensor (found {sorted(tensors)})")
    prompt = tensors[PEFT_KEY].float()
    expected = (cfg.get("num_virtual_tokens"), cfg.get("token_dim"))
    if prompt.ndim != 2 or (expected[0] is not None and prompt.shape[0] != expected[0]) or \
            (expected[1] is not None and prompt.shape[1] != expected[1]):
        raise LibraryError(f"{weights}: prompt shape {tuple(prompt.shape)} does not match "
                           f"num_virtual_tokens x token_dim = {expected[0]} x {expected[1]}")
    return prompt, cfg


def entry_from_peft(ckpt: str | Path, task: str, type_: str, fingerprint: dict, instruction: str | None = None,
                    command: str | None = None) -> Entry:
    """A teacher entry from a peft checkpoint. peft records no backbone fingerprint, so the caller
    supplies the library's one; the prompt width must equal the backbone's hidden size."""
    prompt, cfg = read_peft_prompt(ckpt)
    hidden = fingerprint.get("hidden_size")
    if hidden is not None and prompt.shape[1] != hidden:
        raise LibraryError(f"{ckpt}: prompt width {prompt.shape[1]} differs from the library backbone's "
                           f"hidden size {hidden}; it was trained on another backbone")
    source = {"peft_checkpoint": str(Path(ckpt).resolve()),
              "base_model_name_or_path": cfg.get("base_model_name_or_path"),
              "peft_version": cfg.get("peft_version")}
    config = entry_config(task, type_, instruction, prompt, "teacher", prompt.numel(), fingerprint,
                          training={"imported_from": "peft"}, command=command, source=source)
    return Entry(config, prompt)
