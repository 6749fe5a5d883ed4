"""Key/value states of soft prompts, computed once per task and reused for every request.

A soft prompt sits at positions 0..L-1 of a causal model, so no later token can change its keys and
values: running the prompt alone through the model gives exactly the K/V that a full
[prompt | text] forward pass would compute for those positions. We keep them per task,

    states[task] = [(K, V) per layer],   K, V: (1, kv_heads, L, head_dim) in the backbone dtype

(for SmolLM2-135M and L = 100 that is 30 x 2 x 3 x 100 x 64 values: 2.3 MB in bf16), at most
`capacity` tasks at a time (least recently used dropped first), and stack the rows' states into one
batch cache for a mixed-task batch.
"""

from __future__ import annotations

from collections import OrderedDict

import torch

from clinical_mpt.generate import cache_kwarg, keep_logits, returned_cache

PromptStates = list[tuple[torch.Tensor, torch.Tensor]]


def new_cache(model):
    """An empty full-length DynamicCache. Not the config-aware layout: its sliding-window layers
    (gpt-oss) would keep only window - 1 prompt positions; the model's masks apply the window."""
    from transformers import DynamicCache

    return DynamicCache()


def cache_layers(cache) -> PromptStates:
    """[(K, V)] per layer of a DynamicCache (transformers 5 `layers`, or 4.x key_cache/value_cache)."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache))


@torch.no_grad()
def compute_prompt_states(model, prompt: torch.Tensor) -> PromptStates:
    """prompt (L, d) fp32 -> its per-layer (K, V), each (1, kv_heads, L, head_dim)."""
    weight = model.get_input_embeddings().weight
    embeds = prompt.to(device=weight.device, dtype=weight.dtype).unsqueeze(0)       # (1, L, d)
    positions = torch.arange(prompt.shape[0], device=weight.device).unsqueeze(0)    # (1, L)
    out = model(inputs_embeds=embeds, position_ids=positions, use_cache=True,
                logits_to_keep=keep_logits(1, weight.device),
                **{cache_kwarg(model): new_cache(model)})
    return [(k.detach(), v.detach()) for k, v in cache_layers(returned_cache(out))]


def batch_cache(model, rows: list[PromptStates]):
    """Stack B rows' prompt states into one DynamicCache holding (B, kv_heads, L, head_dim) per layer."""
    cache = new_cache(model)
    for layer in range(len(rows[0])):
        keys = torch.cat([states[layer][0] for states in rows], dim=0)
        values = torch.cat([states[layer][1] for states in rows], dim=0)
        cache.update(keys, values, layer)
    return cache


class PromptCache:
    """LRU map task -> PromptStates, computed on first use from the task's (L, d) prompt."""

    def __init__(self, model, prompts: dict[str, torch.Tensor], capacity: int = 64):
        if capacity < 1:
            raise ValueError("the prompt cache needs room for at least one task")
        self.model, self.prompts, self.capacity = model, prompts, capacity
        self._states: OrderedDict[str, PromptStates] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, task: str) -> bool:
        return task in self._states

    def get(self, task: str) -> PromptStates:
        if task in self._states:
            self.hits += 1
            self._states.move_to_end(task)
            return self._states[task]
        self.misses += 1
        states = compute_prompt_states(self.model, self.prompts[task])
        self._states[task] = states
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)
        return states

    def set_prompts(self, prompts: dict[str, torch.Tensor], drop: list[str] = ()) -> None:
        """Use `prompts` from now on; forget the states of `drop` and of tasks no longer in `prompts`."""
        for task in [t for t in self._states if t in drop or t not in prompts]:
            del self._states[task]
        self.prompts = prompts

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for states in self._states.values() for kv in states for t in kv)
