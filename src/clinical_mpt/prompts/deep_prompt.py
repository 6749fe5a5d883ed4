"""A deep prompt (P-Tuning v2): learned keys and values for L virtual positions at every layer.

    prefix: (layers, 2, kv_heads, L, head_dim)      [:, 0] keys, [:, 1] values, fp32 parameters

It is placed in the attention cache ahead of the text, which the frozen model reads through its own
`past_key_values`/`cache` argument (a transformers DynamicCache built from the tensors): nothing in
the model is patched. Layout of one row (the shallow prompt's cached layout, serve/prompt_cache.py):

    cache:  [ prefix_0 .. prefix_{L-1} ]                     positions 0..L-1 (already rotated keys)
    input:                             [ pad .. | x_0 .. x_{n-1} | pad .. ]
    mask:   [ 1 .. 1                   | 0 ..   | 1 .. 1         | 0 .. ]      (B, L + T)
    pos:                               [ L ..   | L .. L + n - 1 | ..   ]      L + cumsum(mask) - 1

The keys are stored as the attention sees them (after the rotary embedding of positions 0..L-1), as
peft's PrefixTuning stores them; the text's positions start at L, as in peft and in the shallow cache.

Initialisation (never random: a random prefix wrecks the frozen backbone before training starts):
`init_text` is tokenised, repeated/truncated to L tokens and run through the backbone at positions
0..L-1; its per-layer keys and values are the initial prefix. So at step 0 the deep prompt computes
exactly what the input-level prompt initialised from the same text computes (a test checks this).

The per-layer rows view used by Deep MPT: prefix_l as an (L, D) matrix with D = 2·kv_heads·head_dim
(keys then values, heads then head_dim), `to_rows` / `from_rows`.

Sliding-window layers (gpt-oss): the prefix is *not* pinned. Its keys sit at cache positions 0..L-1
and the model's own sliding-window mask applies to them like to any token, in training, evaluation
and serving alike (and as in peft). With window W, a text token at cache position p >= W no longer
sees the first prefix position in the sliding layers, and from p = W + L - 1 on none of it; the
full-attention layers always see the whole prefix. `prefix_positions_seen`
states this rule; docs/method.md ("Deep MPT") explains the choice.
"""

from __future__ import annotations

import torch
from torch import nn

from clinical_mpt.hf_compat import cache_kwarg, cache_layers, decoder

PromptStates = list[tuple[torch.Tensor, torch.Tensor]]  # [(K (1, kv, L, hd), V (1, kv, L, hd))] per layer


def kv_geometry(config) -> tuple[int, int, int]:
    """(layers, kv_heads, head_dim) of a HF decoder config (head_dim = hidden / heads when not given)."""
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    return int(config.num_hidden_layers), kv_heads, head_dim


def prefix_shape(config, length: int) -> tuple[int, int, int, int, int]:
    """(layers, 2, kv_heads, L, head_dim) of a deep prompt of `length` virtual positions."""
    layers, kv_heads, head_dim = kv_geometry(config)
    return layers, 2, kv_heads, length, head_dim


def to_rows(prefix: torch.Tensor) -> torch.Tensor:
    """(..., layers, 2, kv, L, hd) -> (..., layers, L, D), D = 2·kv·hd: prefix_l as an L x D matrix."""
    *lead, layers, two, kv, length, hd = prefix.shape
    return prefix.movedim(-2, -4).reshape(*lead, layers, length, two * kv * hd)


def from_rows(rows: torch.Tensor, kv_heads: int) -> torch.Tensor:
    """(..., layers, L, D) -> (..., layers, 2, kv_heads, L, head_dim); the inverse of `to_rows`."""
    *lead, layers, length, dim = rows.shape
    head_dim = dim // (2 * kv_heads)
    return rows.reshape(*lead, layers, length, 2, kv_heads, head_dim).movedim(-4, -2)


def to_peft_embedding(prefix: torch.Tensor) -> torch.Tensor:
    """(layers, 2, kv, L, hd) -> peft PrefixTuning's prompt-encoder embedding (L, layers·2·kv·hd).

    peft views the embedding as (B, L, layers·2, kv, hd) and permutes it to (layers·2, B, kv, L, hd)."""
    layers, two, kv, length, hd = prefix.shape
    return prefix.reshape(layers * two, kv, length, hd).permute(2, 0, 1, 3).reshape(length, -1)


def from_peft_embedding(weight: torch.Tensor, layers: int, kv_heads: int) -> torch.Tensor:
    """peft's (L, layers·2·kv·hd) embedding -> (layers, 2, kv_heads, L, head_dim)."""
    length = weight.shape[0]
    head_dim = weight.shape[1] // (layers * 2 * kv_heads)
    per = weight.reshape(length, layers * 2, kv_heads, head_dim).permute(1, 2, 0, 3)   # (layers·2, kv, L, hd)
    return per.reshape(layers, 2, kv_heads, length, head_dim)


def text_ids(tokenizer, text: str, length: int) -> list[int]:
    """`text`'s tokens repeated/truncated to `length` (the same rule as the input-level text init)."""
    ids = tokenizer(text, add_special_tokens=False).input_ids or [0]
    return (ids * (length // len(ids) + 1))[:length]


@torch.no_grad()
def init_prefix(model, tokenizer, text: str, length: int) -> torch.Tensor:
    """The keys and values of `text` (repeated to L tokens) at positions 0..L-1, per layer:
    (layers, 2, kv_heads, L, head_dim) fp32."""
    from transformers import DynamicCache

    device = model.get_input_embeddings().weight.device
    ids = torch.tensor([text_ids(tokenizer, text, length)], device=device)             # (1, L)
    cache = DynamicCache()  # full-length layers: a sliding-window layer would keep only W - 1 positions
    body = decoder(model)
    body(input_ids=ids, position_ids=torch.arange(length, device=device)[None], use_cache=True,
         **{cache_kwarg(body): cache})
    keys, values = zip(*cache_layers(cache))                                            # (1, kv, L, hd) each
    return torch.stack([torch.stack(keys), torch.stack(values)], dim=1)[:, :, 0].float()


def prefix_cache(prefixes: torch.Tensor, dtype: torch.dtype, device):
    """Per-row prefixes (B, layers, 2, kv, L, hd) -> a DynamicCache of (B, kv, L, hd) keys/values per
    layer, in the backbone's dtype, on its device. Keeps the autograd graph: the backbone's attention
    reads these tensors, so a backward pass reaches the prefix parameters.

    Full-length cache layers (no config): the model's masks apply any sliding window (module docstring)."""
    from transformers import DynamicCache

    cache = DynamicCache()
    kv = prefixes.to(device=device, dtype=dtype)
    for layer in range(kv.shape[1]):
        cache.update(kv[:, layer, 0], kv[:, layer, 1], layer)
    return cache


def prompt_states(prefix: torch.Tensor, dtype: torch.dtype, device) -> PromptStates:
    """One task's prefix (layers, 2, kv, L, hd) -> [(K, V) per layer], each (1, kv, L, hd): the same
    per-task states the serving prompt cache holds for an input-level prompt (serve/prompt_cache.py),
    here without any forward pass. `decoding.DecodeBatch.prefixes` takes a list of these, one per row."""
    kv = prefix.detach().to(device=device, dtype=dtype)
    return [(kv[layer, 0].unsqueeze(0), kv[layer, 1].unsqueeze(0)) for layer in range(kv.shape[0])]


def text_mask_and_positions(attention_mask: torch.Tensor, length: int):
    """Text mask (B, T) -> (mask with the L prefix positions attended (B, L + T), position ids (B, T)).
    Positions count real tokens from L, so left and right padding give every row the same positions."""
    mask = torch.cat([attention_mask.new_ones(attention_mask.shape[0], length), attention_mask], dim=1)
    positions = length + (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    return mask, positions


def prefix_positions_seen(layer_types: list[str], window: int, length: int, position: int) -> list[int]:
    """Per layer, how many of the L prefix positions (cache positions 0..L-1) a text token at cache
    position `position` attends to. A full-attention layer: all L. A sliding layer (HF's window: a query
    at p sees keys at p - window + 1 .. p): L - max(0, p - window + 1), at least 0. The prefix is not
    pinned as attention sinks, so in a sliding layer a token at p >= window + L - 1 sees none of it."""
    slid_out = max(0, position - window + 1)
    return [length if t != "sliding_attention" else max(0, length - slid_out) for t in layer_types]


class DeepPrompt(nn.Module):
    """A single-task deep prompt; forward(task_ids (B,)) -> (B, layers, 2, kv, L, hd), one prefix for all rows."""

    def __init__(self, init: torch.Tensor):
        super().__init__()
        if init.dim() != 5 or init.shape[1] != 2:
            raise ValueError(f"a deep prompt is (layers, 2, kv_heads, L, head_dim), got {tuple(init.shape)}")
        self.weight = nn.Parameter(init.detach().float().clone())

    @property
    def length(self) -> int:
        return self.weight.shape[3]

    def forward(self, task_ids: torch.Tensor) -> torch.Tensor:
        return self.weight.unsqueeze(0).expand(task_ids.shape[0], *self.weight.shape)

    def task_prefix(self, task_id: int = 0) -> torch.Tensor:
        return self.weight  # (layers, 2, kv, L, hd)


def new_deep_prompt(backbone, prompt_cfg) -> DeepPrompt:
    """A DeepPrompt of `prompt_cfg.length` positions initialised from `prompt_cfg.init_text`."""
    return DeepPrompt(init_prefix(backbone.model, backbone.tokenizer, prompt_cfg.init_text, prompt_cfg.length))
