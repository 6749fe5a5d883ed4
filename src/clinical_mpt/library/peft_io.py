"""Interop with HuggingFace peft's prompt tuning (`PromptTuningConfig`) and prefix tuning
(`PrefixTuningConfig`), task_type CAUSAL_LM.

peft saves a prompt-tuning adapter as

    OUT/adapter_config.json         {"peft_type": "PROMPT_TUNING", "task_type": "CAUSAL_LM",
                                     "num_virtual_tokens": L, "token_dim": d, ...}
    OUT/adapter_model.safetensors   {"prompt_embeddings": (L, d)}

and prepends the embeddings to the input exactly as we do, so `PeftModel.from_pretrained(model, OUT)`
reproduces our prompted forward pass. A deep entry is a prefix-tuning adapter (peft 0.21's layout):

    OUT/adapter_config.json         {"peft_type": "PREFIX_TUNING", "num_virtual_tokens": L, "num_layers": layers,
                                     "num_attention_heads": kv_heads, "token_dim": kv_heads·head_dim,
                                     "prefix_projection": false, ...}
    OUT/adapter_model.safetensors   {"prompt_embeddings": (L, layers·2·kv_heads·head_dim)}

(peft rewrites num_attention_heads / token_dim to the kv heads for grouped-query attention, and saves
exactly that; prompts/deep_prompt.py's to_peft_embedding / from_peft_embedding convert the layout).
Only safetensors checkpoints are imported: a pickled `adapter_model.bin` is refused, never unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from clinical_mpt.data.jsonl import write_json
from clinical_mpt.library.entry import Entry, LibraryError, entry_config, geometry_problem, shape_fields

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


def peft_prefix_config(num_virtual_tokens: int, layers: int, kv_heads: int, head_dim: int,
                       base_model: str | None = None) -> dict:
    """The adapter_config.json peft 0.21 writes for PrefixTuningConfig(task_type="CAUSAL_LM") once it has
    filled the model's geometry in (kv heads as num_attention_heads, token_dim = kv_heads·head_dim)."""
    return {
        "auto_mapping": None,
        "base_model_name_or_path": base_model,
        "encoder_hidden_size": int(kv_heads * head_dim),
        "inference_mode": True,
        "init_weights": None,
        "modules_to_save": None,
        "num_attention_heads": int(kv_heads),
        "num_layers": int(layers),
        "num_transformer_submodules": 1,
        "num_virtual_tokens": int(num_virtual_tokens),
        "peft_type": "PREFIX_TUNING",
        "peft_version": _peft_version(),
        "prefix_projection": False,
        "revision": None,
        "task_type": "CAUSAL_LM",
        "token_dim": int(kv_heads * head_dim),
    }


def export_peft(entry: Entry, out: str | Path, base_model: str | None = None) -> Path:
    """Write `entry`'s prompt as a peft prompt-tuning adapter folder (a deep entry: a prefix-tuning
    adapter); returns the folder."""
    from clinical_mpt.prompts.deep_prompt import to_peft_embedding

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prompt = entry.prompt.detach().float().cpu()
    if entry.depth == "deep":
        layers, _, kv_heads, length, head_dim = prompt.shape
        weight, config = to_peft_embedding(prompt), peft_prefix_config(length, layers, kv_heads, head_dim, base_model)
    else:
        weight, config = prompt, peft_adapter_config(entry.prompt_length, prompt.shape[1], base_model)
    tmp = out / f".{ADAPTER_WEIGHTS}.tmp"
    try:
        save_file({PEFT_KEY: weight.contiguous()}, str(tmp), metadata={"format": "pt"})
        tmp.replace(out / ADAPTER_WEIGHTS)
    finally:
        tmp.unlink(missing_ok=True)
    write_json(out / ADAPTER_CONFIG, config)
    return out


def read_peft_prompt(ckpt: str | Path) -> tuple[torch.Tensor, dict]:
    """(prompt (L, d) fp32, adapter config) of a peft prompt-tuning checkpoint folder, or of a
    prefix-tuning one (prefix (layers, 2, kv_heads, L, head_dim) fp32)."""
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
    if cfg.get("peft_type") not in ("PROMPT_TUNING", "PREFIX_TUNING"):
        raise LibraryError(f"{cfg_path}: peft_type is {cfg.get('peft_type')!r}; only PROMPT_TUNING and "
                           "PREFIX_TUNING adapters import")
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
    if cfg["peft_type"] == "PREFIX_TUNING":
        return peft_prefix(tensors[PEFT_KEY].float(), cfg, weights), cfg
    prompt = tensors[PEFT_KEY].float()
    expected = (cfg.get("num_virtual_tokens"), cfg.get("token_dim"))
    if prompt.ndim != 2 or (expected[0] is not None and prompt.shape[0] != expected[0]) or \
            (expected[1] is not None and prompt.shape[1] != expected[1]):
        raise LibraryError(f"{weights}: prompt shape {tuple(prompt.shape)} does not match "
                           f"num_virtual_tokens x token_dim = {expected[0]} x {expected[1]}")
    return prompt, cfg


def peft_prefix(weight: torch.Tensor, cfg: dict, weights: Path) -> torch.Tensor:
    """A prefix-tuning adapter's (L, layers·2·kv·hd) embedding -> (layers, 2, kv_heads, L, head_dim),
    after checking it against its config (no projection MLP, the widths it names)."""
    from clinical_mpt.prompts.deep_prompt import from_peft_embedding

    if cfg.get("prefix_projection"):
        raise LibraryError(f"{weights.parent}: prefix_projection is true: the adapter holds an MLP, not the "
                           "key/value prefix itself; save it from an adapter trained with prefix_projection=False")
    fields = {k: cfg.get(k) for k in ("num_virtual_tokens", "num_layers", "num_attention_heads", "token_dim")}
    if not all(isinstance(v, int) and v > 0 for v in fields.values()) or fields["token_dim"] % fields["num_attention_heads"]:
        raise LibraryError(f"{weights.parent}/{ADAPTER_CONFIG}: a prefix-tuning adapter needs positive integers "
                           f"num_virtual_tokens, num_layers, num_attention_heads, token_dim, got {fields}")
    expected = (fields["num_virtual_tokens"], fields["num_layers"] * 2 * fields["token_dim"])
    if weight.ndim != 2 or tuple(weight.shape) != expected:
        raise LibraryError(f"{weights}: prompt_embeddings shape {tuple(weight.shape)} does not match "
                           f"num_virtual_tokens x num_layers·2·token_dim = {expected[0]} x {expected[1]}")
    return from_peft_embedding(weight, fields["num_layers"], fields["num_attention_heads"])


def entry_from_peft(ckpt: str | Path, task: str, type_: str, fingerprint: dict, instruction: str | None = None,
                    command: str | None = None, geometry: tuple[int, int, int] | None = None) -> Entry:
    """A teacher entry from a peft prompt-tuning checkpoint, or a `prefix` entry from a prefix-tuning one.
    peft records no backbone fingerprint, so the caller supplies the library's one; a prompt's width must
    equal the backbone's hidden size, a prefix's geometry the backbone's `geometry` (layers, kv_heads,
    head_dim) when it is known."""
    prompt, cfg = read_peft_prompt(ckpt)
    hidden = fingerprint.get("hidden_size")
    if prompt.ndim == 5:
        problem = geometry_problem(shape_fields(prompt), geometry) if geometry is not None else None
        if problem:
            raise LibraryError(f"{ckpt}: {problem}")
    elif hidden is not None and prompt.shape[1] != hidden:
        raise LibraryError(f"{ckpt}: prompt width {prompt.shape[1]} differs from the library backbone's "
                           f"hidden size {hidden}; it was trained on another backbone")
    source = {"peft_checkpoint": str(Path(ckpt).resolve()),
              "base_model_name_or_path": cfg.get("base_model_name_or_path"),
              "peft_version": cfg.get("peft_version")}
    kind = "prefix" if prompt.ndim == 5 else "teacher"
    config = entry_config(task, type_, instruction, prompt, kind, prompt.numel(), fingerprint,
                          training={"imported_from": "peft"}, command=command, source=source)
    return Entry(config, prompt)
