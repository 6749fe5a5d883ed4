"""Running the frozen backbone with soft prompts that enter through `inputs_embeds`.

Training layout (right padding, so no pad sits between prompt and text):

    [ prompt_0 .. prompt_{L-1} | x_0 .. x_{n-1} | pad .. pad ]

Shared prompt states: in a causal model the hidden states (and keys/values) of the prompt positions
depend on the prompt alone. Rows of a batch that share a task therefore share them exactly, so we run
the m distinct prompts once, (m, L), broadcast their key/value cache to the B rows, and run only the
text, (B, T), on top: m*L + B*T positions instead of B*(L+T). Gradients flow back through the cache.

The hidden state of text position t-1 predicts x_t; the LM head is applied only at answer positions
(labels != -100), which skips most of the vocabulary projection.

When no two rows share a task (m = B: a mixed distillation batch) sharing saves nothing, so the
prompts enter as plain leading `inputs_embeds` instead: one pass over B*(L+T) positions with a plain
causal mask (on a GPU, sdpa's flash kernel rather than the masked one a cache offset needs). The same
layout serves gradient checkpointing (backbone.gradient_checkpointing), where HF recomputes each layer
in backward and drops any KV cache, and FSDP-sharded layers (a prompt cache would reach a layer's
weights in backward past FSDP's hooks). Same values and gradients either way. Batches may sit on the
CPU; they are moved to the model.
"""

from __future__ import annotations

import torch

from clinical_mpt.hf_compat import cache_kwarg, checkpointing, compiled, decoder, new_cache
from clinical_mpt.sharding import sharded


def unique_prompts(prompt_fn, task_ids: torch.Tensor):
    """-> (prompts (m, L, d) of the m distinct tasks, rows (B,) index of each row's prompt)."""
    tasks, rows = torch.unique(task_ids, return_inverse=True)
    return prompt_fn(tasks), rows


def prompt_cache(model, prompts: torch.Tensor, rows: torch.Tensor):
    """Key/value cache of the m prompts (m, L, d), gathered to the B rows (B,); keeps the autograd graph."""
    cache = new_cache()  # full-length layers: a sliding-window layer would drop prompt positions
    weight = model.get_input_embeddings().weight
    embeds = prompts.to(device=weight.device, dtype=weight.dtype)
    decoder(model)(inputs_embeds=embeds, use_cache=True, **{cache_kwarg(decoder(model)): cache})
    cache.batch_select_indices(rows.to(weight.device))
    return cache


def concatenated_text_hidden(model, prompts: torch.Tensor, rows: torch.Tensor, input_ids: torch.Tensor,
                             attention_mask: torch.Tensor) -> torch.Tensor:
    """`text_hidden` without shared prompt states: [prompts[rows] | text] as inputs_embeds (B, L+T, d).

    Under gradient checkpointing: HF checkpoints a layer only in training mode; the frozen backbone
    stays in eval mode, so only the layers' own flag is raised for this call (their sub-modules stay
    in eval: no dropout).
    """
    L = prompts.shape[1]
    embeds, mask = prompted_embeds(model, prompts[rows.to(prompts.device)], input_ids, attention_mask)
    layers = [m for m in decoder(model).modules() if getattr(m, "gradient_checkpointing", False)] \
        if torch.is_grad_enabled() else []
    modes = [m.training for m in layers]
    for m in layers:
        m.training = True
    try:
        out = decoder(model)(inputs_embeds=embeds, attention_mask=mask, use_cache=False)
    finally:
        for m, mode in zip(layers, modes):
            m.training = mode
    return out.last_hidden_state[:, L:]                                   # (B, T, d)


def cached_text_hidden(model, prompts: torch.Tensor, rows: torch.Tensor, input_ids: torch.Tensor,
                       attention_mask: torch.Tensor) -> torch.Tensor:
    """`text_hidden` with shared prompt states: the m prompts' K/V cache, gathered to the B rows, then
    the text (B, T) on top with a cache-offset causal mask. Inputs already on the model's device."""
    B, T = input_ids.shape
    L = prompts.shape[1]
    cache = prompt_cache(model, prompts, rows)
    mask = torch.cat([attention_mask.new_ones(B, L), attention_mask], dim=1)             # (B, L+T)
    positions = torch.arange(L, L + T, device=input_ids.device).unsqueeze(0).expand(B, -1)  # (B, T)
    out = decoder(model)(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True,
                         **{cache_kwarg(decoder(model)): cache})
    return out.last_hidden_state


def text_hidden(model, prompts: torch.Tensor | None, rows: torch.Tensor | None, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
    """Final hidden states of the text positions (B, T, d), each row prefixed by prompts[rows[i]]."""
    device = model.get_input_embeddings().weight.device
    input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
    if prompts is None:  # LoRA / full fine-tuning / zero-shot: the bare model
        return decoder(model)(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
    if (prompts.shape[0] == input_ids.shape[0] or (torch.is_grad_enabled() and checkpointing(model)) or sharded(model)
            or compiled(model)):
        return concatenated_text_hidden(model, prompts, rows, input_ids, attention_mask)
    return cached_text_hidden(model, prompts, rows, input_ids, attention_mask)


def prompted_embeds(model, prompts: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor):
    """prompts (B, L, d), input_ids/attention_mask (B, T) -> inputs_embeds (B, L+T, d), mask (B, L+T).
    The plain concatenated layout (used by reference checks and benchmarks)."""
    embeds = model.get_input_embeddings()(input_ids)                     # (B, T, d) backbone dtype
    embeds = torch.cat([prompts.to(embeds), embeds], dim=1)              # (B, L+T, d)
    prompt_mask = attention_mask.new_ones(prompts.shape[0], prompts.shape[1])
    return embeds, torch.cat([prompt_mask, attention_mask], dim=1)


def answer_positions(labels: torch.Tensor):
    """labels (B, T) with -100 off-answer -> (row idx (N,), text position idx (N,), targets (N,))."""
    shifted = labels[:, 1:]                                               # (B, T-1): token t predicted at t-1
    rows, cols = (shifted != -100).nonzero(as_tuple=True)
    return rows, cols, shifted[rows, cols]


def answer_hidden_and_logits(model, prompt_fn, task_ids: torch.Tensor, batch: dict):
    """Hidden states (N, d) and logits (N, V) at the answer positions, and their targets (N,).

    prompt_fn(task ids (m,)) -> prompts (m, L, d), or None for methods without a prompt.
    """
    prompts, rows = unique_prompts(prompt_fn, task_ids) if prompt_fn is not None else (None, None)
    hidden = text_hidden(model, prompts, rows, batch["input_ids"], batch["attention_mask"])  # (B, T, d)
    r, pos, targets = answer_positions(batch["labels"].to(hidden.device))
    h = hidden[r, pos]                                                    # (N, d)
    return h, model.get_output_embeddings()(h), targets
