"""The one greedy decoder: evaluation (`predict_task`), `clinical-mpt predict`, the server and the console
all generate with `greedy_generate`, so results.json scores exactly the code that serves.

A batch is B rows; row i continues `inputs[i]` after its own prefix, in two optional parts:

    prefixes[i]  per-layer key/value states (1, kv_heads, P, head_dim), put straight into the KV cache:
                 the serving prompt cache's states of a soft prompt, or a deep prompt's own K/V
    prompts[i]   an (L, d) soft prompt entering through `inputs_embeds`

Layout (left padding; the prompt stays glued to its text):

    cache:  [ prefix_0 .. prefix_{P-1} ]                                           per layer
    input:                             [ pad .. pad | prompt_0 .. prompt_{L-1} | x_0 .. x_{n-1} ]
    mask:   [ 1 .. 1                   | 0 .. 0     | 1 ..                             .. 1 ]   (B, P + L + T)
    pos:                               [ P .. P     | P .. P + L - 1          | P + L .. ]       from the mask

so every row's prefix sits at positions 0..P-1, its prompt at P..P+L-1 and its text after, whatever
its padding, as in training (P = 0: the plain [pads | prompt | text]; L = 0: the cached layout).
P and L are each the same for all rows of a batch.

Each row stops at EOS (left out), after its own `budgets[i]` tokens, or when its `stops[i]` says the
answer is finished (that token kept): e.g. `text_stop(tokenizer, lambda s: "\\n" in s)`.

Sliding-window models: with a prefix in the cache, a shorter row's left pads sit between its prefix
and its text and count towards the window; a caller with rows of unequal lengths past the window
passes the prompt through `prompts` instead (serve.engine's `cache_is_exact`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from clinical_mpt.hf_compat import cache_kwarg, cache_layers, eager_generation, keep_logits, new_cache, returned_cache
from clinical_mpt.sharding import full_shape

PrefixStates = list[tuple[torch.Tensor, torch.Tensor]]  # [(K, V)] per layer, each (1, kv_heads, P, head_dim)
Stop = Callable[[list[int]], bool]  # a row's generated ids so far -> whether its answer is finished


@dataclass
class DecodeBatch:
    """B rows to continue greedily (see the module doc)."""

    inputs: list[list[int]]                          # B token lists
    budgets: list[int]                               # most new tokens per row
    prompts: Sequence[torch.Tensor] | None = None    # B x (L, d), or a (B, L, d) tensor; None: no soft prompt
    prefixes: Sequence[PrefixStates] | None = None   # B x per-layer (K, V); None: nothing in the cache
    stops: Sequence[Stop | None] | None = None       # B answer-finished predicates (None: EOS and budget only)

    def __post_init__(self):
        B = len(self.inputs)
        if B == 0 or any(len(x) == 0 for x in self.inputs):
            raise ValueError("DecodeBatch.inputs: every row needs at least one token")
        for name in ("budgets", "prompts", "prefixes", "stops"):
            value = getattr(self, name)
            if value is not None and len(value) != B:
                raise ValueError(f"DecodeBatch.{name}: {len(value)} entries for {B} rows")
        if self.prompts is not None and len({tuple(p.shape) for p in self.prompts}) != 1:
            raise ValueError("DecodeBatch.prompts: rows of one batch need prompts of one (L, d) shape")
        if self.prefixes is not None and len({states[0][0].shape[2] for states in self.prefixes}) != 1:
            raise ValueError("DecodeBatch.prefixes: rows of one batch need prefixes of one length")

    @classmethod
    def uniform(cls, inputs: list[list[int]], max_new_tokens: int, prompts: Sequence[torch.Tensor] | None = None):
        """Rows that share one budget (one task's evaluation batch)."""
        return cls(inputs, [max_new_tokens] * len(inputs), prompts)

    @property
    def prompt_length(self) -> int:
        return 0 if self.prompts is None else int(self.prompts[0].shape[0])

    @property
    def prefix_length(self) -> int:
        return 0 if self.prefixes is None else int(self.prefixes[0][0][0].shape[2])


@dataclass
class Prefilled:
    """A prefill's model output (logits and cache), attention mask (B, P + L + T) and position ids."""

    out: Any
    mask: torch.Tensor
    position_ids: torch.Tensor


def text_stop(tokenizer, finished: Callable[[str], bool]) -> Stop:
    """A `Stop` from a predicate on a row's decoded text (special tokens skipped)."""
    return lambda ids: finished(tokenizer.decode(ids, skip_special_tokens=True))


@torch.no_grad()
def compute_prompt_states(model, prompt: torch.Tensor) -> PrefixStates:
    """prompt (L, d) fp32 -> its per-layer (K, V), each (1, kv_heads, L, head_dim): the prefix that gives
    exactly what the prompt through `inputs_embeds` gives (a causal model's prompt positions see only
    the prompt)."""
    weight = model.get_input_embeddings().weight
    embeds = prompt.to(device=weight.device, dtype=weight.dtype).unsqueeze(0)       # (1, L, d)
    positions = torch.arange(prompt.shape[0], device=weight.device).unsqueeze(0)    # (1, L)
    out = model(inputs_embeds=embeds, position_ids=positions, use_cache=True,
                logits_to_keep=keep_logits(1, weight.device), **{cache_kwarg(model): new_cache()})
    return [(k.detach(), v.detach()) for k, v in cache_layers(returned_cache(out))]


def batch_cache(rows: Sequence[PrefixStates]):
    """Stack B rows' prefix states into one DynamicCache holding (B, kv_heads, P, head_dim) per layer."""
    cache = new_cache()
    for layer in range(len(rows[0])):
        keys = torch.cat([states[layer][0] for states in rows], dim=0)
        values = torch.cat([states[layer][1] for states in rows], dim=0)
        cache.update(keys, values, layer)
    return cache


def input_embeds(model, batch: DecodeBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """-> inputs_embeds (B, L + T, d) of [pads | prompt | text] (zeros at the pads), its mask (B, L + T)."""
    emb_layer = model.get_input_embeddings()
    device = emb_layer.weight.device
    B, L = len(batch.inputs), batch.prompt_length
    width = L + max(len(x) for x in batch.inputs)
    embeds = emb_layer.weight.new_zeros(B, width, full_shape(emb_layer.weight)[1])    # (B, L + T, d)
    mask = torch.zeros(B, width, dtype=torch.long, device=device)
    for i, ids in enumerate(batch.inputs):
        start = width - L - len(ids)
        if L:
            embeds[i, start:start + L] = batch.prompts[i].to(embeds)
        embeds[i, start + L:] = emb_layer(torch.tensor(ids, dtype=torch.long, device=device))
        mask[i, start:] = 1
    return embeds, mask


@torch.no_grad()
def prefill(model, batch: DecodeBatch, logits_to_keep: int = 1) -> Prefilled:
    """Run the rows' prompts and texts on top of their prefixes (one forward pass)."""
    embeds, input_mask = input_embeds(model, batch)
    B, P = len(batch.inputs), batch.prefix_length
    position_ids = P + (input_mask.cumsum(-1) - 1).clamp(min=0)                       # (B, L + T)
    mask = torch.cat([input_mask.new_ones(B, P), input_mask], dim=1)                   # (B, P + L + T)
    cache = new_cache() if batch.prefixes is None else batch_cache(batch.prefixes)
    out = model(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids, use_cache=True,
                logits_to_keep=keep_logits(logits_to_keep, embeds.device), **{cache_kwarg(model): cache})
    return Prefilled(out, mask, position_ids)


@torch.no_grad()
def greedy_decode(model, state: Prefilled, batch: DecodeBatch, eos_id: int, pad_id: int) -> list[list[int]]:
    """Continue from a prefill: argmax tokens until each row's EOS (left out), budget or stop."""
    B = len(batch.inputs)
    generated: list[list[int]] = [[] for _ in range(B)]
    done = [b <= 0 for b in batch.budgets]
    out, mask, position_ids = state.out, state.mask, state.position_ids
    key, last = cache_kwarg(model), keep_logits(1, mask.device)  # `last`: built once, used at every step
    while not all(done):
        next_ids = out.logits[:, -1].argmax(-1)                                         # (B,)
        for i, token in enumerate(next_ids.tolist()):                                   # one device sync per step
            if done[i]:
                continue
            if token == eos_id:
                done[i] = True
                continue
            generated[i].append(token)
            stop = batch.stops[i] if batch.stops is not None else None
            done[i] = len(generated[i]) >= batch.budgets[i] or (stop is not None and stop(generated[i]))
        if all(done):
            break
        mask = torch.cat([mask, mask.new_ones(B, 1)], dim=1)
        position_ids = position_ids[:, -1:] + 1
        step_ids = next_ids.masked_fill(torch.tensor(done, device=next_ids.device), pad_id)[:, None]
        out = model(input_ids=step_ids, attention_mask=mask, position_ids=position_ids, use_cache=True,
                    logits_to_keep=last, **{key: returned_cache(out)})
    return generated


def greedy_generate(model, batch: DecodeBatch, eos_id: int, pad_id: int) -> list[list[int]]:
    """Prefill + greedy decoding of `batch` -> B lists of generated ids (EOS excluded). Compiled decoder
    layers run eagerly here (a growing KV cache would recompile them)."""
    with eager_generation():
        return greedy_decode(model, prefill(model, batch), batch, eos_id, pad_id)
