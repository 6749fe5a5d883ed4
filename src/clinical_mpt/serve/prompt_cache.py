"""Key/value states of soft prompts, computed once per task and reused for every request.

A soft prompt sits at positions 0..L-1 of a causal model, so no later token can change its keys and
values: running the prompt alone through the model gives exactly the K/V that a full
[prompt | text] forward pass would compute for those positions. We keep them per task,

    states[task] = [(K, V) per layer],   K, V: (1, kv_heads, L, head_dim) in the backbone dtype

(for SmolLM2-135M and L = 100 that is 30 x 2 x 3 x 100 x 64 values: 2.3 MB in bf16), at most
`capacity` tasks at a time (least recently used dropped first). The decoder (`clinical_mpt.decoding`)
stacks the rows' states into one batch cache for a mixed-task batch.

A deep task's prompt is already per-layer keys and values (layers, 2, kv_heads, L, head_dim): its
states are that tensor in the backbone's dtype and device (`prompt_states`), with no forward pass.
"""

from __future__ import annotations

from collections import OrderedDict

import torch

from clinical_mpt.decoding import PrefixStates, compute_prompt_states
from clinical_mpt.prompts.deep_prompt import prompt_states


def task_states(model, prompt: torch.Tensor) -> PrefixStates:
    """A task's per-layer (K, V), each (1, kv_heads, L, head_dim): an (L, d) prompt run once through the
    model, or a deep prefix (layers, 2, kv_heads, L, head_dim) as is (no prefill)."""
    if prompt.ndim == 5:
        weight = model.get_input_embeddings().weight
        return prompt_states(prompt, weight.dtype, weight.device)
    return compute_prompt_states(model, prompt)


class PromptCache:
    """LRU map task -> PrefixStates, computed on first use from the task's (L, d) prompt or deep prefix."""

    def __init__(self, model, prompts: dict[str, torch.Tensor], capacity: int = 64):
        if capacity < 1:
            raise ValueError("the prompt cache needs room for at least one task")
        self.model, self.prompts, self.capacity = model, prompts, capacity
        self._states: OrderedDict[str, PrefixStates] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, task: str) -> bool:
        return task in self._states

    def get(self, task: str) -> PrefixStates:
        if task in self._states:
            self.hits += 1
            self._states.move_to_end(task)
            return self._states[task]
        self.misses += 1
        states = task_states(self.model, self.prompts[task])
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
