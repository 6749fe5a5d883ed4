"""The attention geometry a deep library entry must fit: (layers, kv_heads, head_dim) of a backbone.

A deep entry is keys and values for every attention layer of one backbone, so besides the backbone
fingerprint (which pins the embedding space) its prefix must have that backbone's layer count, kv heads
and head width. `model_geometry` reads them from a loaded model; `named_geometry` from a backbone's
name without loading any weights (its config only), for `library import`.
"""

from __future__ import annotations

from clinical_mpt.prompts.deep_prompt import kv_geometry


def model_geometry(model) -> tuple[int, int, int]:
    """(layers, kv_heads, head_dim) of a loaded HF causal LM."""
    return kv_geometry(model.config)


def named_geometry(name: str) -> tuple[int, int, int] | None:
    """(layers, kv_heads, head_dim) of backbone `name` from its config alone, or None when the name is
    neither tiny-random-llama, a built-in shape nor a local model folder (then it is checked at serving)."""
    from clinical_mpt.backbone_shapes import resolve_backbone
    from clinical_mpt.errors import ConfigError

    if name == "tiny-random-llama":
        from clinical_mpt.backbone import tiny_llama_config

        return kv_geometry(tiny_llama_config())
    try:
        shape = resolve_backbone(name)
    except ConfigError:
        return None
    return shape.num_layers, shape.num_kv_heads, shape.head_dim
