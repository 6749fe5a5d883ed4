"""Compatibility with the versions of transformers, torch and DeepSpeed: one leaf module, no project imports.

Every name here papers over an API that moved between versions, or reads a private attribute. The
private ones are checked against the versions they were read from and fail with an error that names
the version and this module, instead of silently doing something else:

    torch      nn.Module._compiled_call_impl     set by nn.Module.compile (torch >= 2.2)
    DeepSpeed  DeepSpeedZeRoOffload.fwd_pre_hook  the top module's step-reset hook (deepspeed >= 0.16)
"""

from __future__ import annotations

import inspect
from contextlib import nullcontext

import torch
from packaging.version import Version

TORCH_COMPILED_CALL = Version("2.2")   # first torch with nn.Module.compile (and _compiled_call_impl)
DEEPSPEED_FWD_PRE_HOOK = Version("0.16")  # oldest DeepSpeed read for DeepSpeedZeRoOffload.fwd_pre_hook


class CompatError(RuntimeError):
    """An installed library lacks an API this module relies on."""


def decoder(model):
    """The transformer body of a *ForCausalLM (returns final-norm hidden states)."""
    return model.get_decoder() if hasattr(model, "get_decoder") else getattr(model, model.base_model_prefix)


def cache_kwarg(model) -> str:
    """Name of the KV-cache argument: `cache` in recent transformers, `past_key_values` before."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def returned_cache(out):
    """The KV cache of a model output (`cache` in recent transformers, `past_key_values` before)."""
    return out.cache if hasattr(out, "cache") else out.past_key_values


def new_cache():
    """An empty full-length DynamicCache. Not the config-aware layout: its sliding-window layers
    (gpt-oss) would keep only window - 1 prompt positions; the model's masks apply the window."""
    from transformers import DynamicCache

    return DynamicCache()


def cache_layers(cache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """[(K, V)] per layer of a DynamicCache (transformers 5 `layers`, or 4.x key_cache/value_cache)."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache))


def keep_logits(n: int, device):
    """HF's `logits_to_keep` for the last n positions (0: all of them). The last position alone is asked
    for as an index tensor, not as the int 1: for an int HF slices hidden[:, -1:, :], a view that torch's
    matmul does not fold into one 2-D product; it expands the LM head over the rows and copies it (28M
    values per row for SmolLM2: half the time of a 128-token prefill on the CPU). Indexing gives a
    contiguous (B, 1, d) and one matrix product, with the same logits."""
    return torch.tensor([-1], device=device) if n == 1 else n


def checkpointing(model) -> bool:
    """Whether gradient (activation) checkpointing is on (transformers 5 name, then the older one)."""
    if hasattr(type(model), "is_activation_checkpointing"):
        return bool(model.is_activation_checkpointing)
    return bool(getattr(model, "is_gradient_checkpointing", False))


def compiled(model) -> bool:
    """Whether the decoder layers were compiled (backbone.compile_layers, i.e. `nn.Module.compile`, which
    keeps the compiled call in the private `_compiled_call_impl`)."""
    if Version(torch.__version__) < TORCH_COMPILED_CALL or not hasattr(torch.nn.Module, "_compiled_call_impl"):
        raise CompatError(f"torch {torch.__version__}: nn.Module has no _compiled_call_impl (read from torch >= "
                          f"{TORCH_COMPILED_CALL}); update clinical_mpt/hf_compat.compiled for this torch")
    layers = getattr(decoder(model), "layers", None)
    return bool(layers) and layers[0]._compiled_call_impl is not None


def eager_generation():
    """A context in which compiled decoder layers (backbone.compile) run eagerly: a generation's KV cache
    grows every step, which would recompile their graph until dynamo's recompile limit."""
    set_stance = getattr(torch.compiler, "set_stance", None)  # torch >= 2.6
    return set_stance("force_eager") if set_stance is not None else nullcontext()


def remove_zero3_step_hook(engine) -> None:
    """Remove the forward pre-hook a DeepSpeed ZeRO-3 engine puts on the model's top module, which resets
    the per-step module trace at every top-level forward (clinical-mpt calls the decoder and the LM head
    directly, so the trace never matches and prefetching only misfires). The hook is DeepSpeed's private
    `fwd_pre_hook` of its parameter offload object (the optimizer's, or the optimizer itself without one)."""
    import deepspeed

    offload = getattr(engine.optimizer, "parameter_offload", engine.optimizer)
    hook = getattr(offload, "fwd_pre_hook", None)
    if Version(deepspeed.__version__) < DEEPSPEED_FWD_PRE_HOOK or hook is None:
        raise CompatError(f"deepspeed {deepspeed.__version__}: its ZeRO-3 engine has no parameter_offload.fwd_pre_hook "
                          f"(read from deepspeed >= {DEEPSPEED_FWD_PRE_HOOK}); install deepspeed>={DEEPSPEED_FWD_PRE_HOOK} "
                          "or update clinical_mpt/hf_compat.remove_zero3_step_hook")
    hook.remove()


def new_static_cache(num_layers: int, max_len: int):
    """A Cache of `num_layers` full-length StaticLayers (transformers >= 5: preallocated (B, kv_heads,
    max_len, head_dim) keys and values written in place at their shared `cumulative_length`). Full length
    on sliding-window layers too, as `new_cache`: the model's masks apply the window."""
    try:
        from transformers.cache_utils import Cache, StaticLayer
    except ImportError as e:  # transformers 4.x: StaticCache without per-layer classes
        raise CompatError("the static-cache decoder needs transformers >= 5 (cache_utils.StaticLayer); "
                          "install transformers>=5 or serve with --decode eager") from e
    return Cache(layers=[StaticLayer(max_cache_len=max_len) for _ in range(num_layers)])
