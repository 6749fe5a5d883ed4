"""Prefill a mixed-task batch (with or without cached prompt states), then decode greedily.

Cached layout: the prompt K/V come from the cache; only the left-padded text is run.

    cache:  [ prompt_0 .. prompt_{L-1} ]                    (B, kv_heads, L, head_dim) per layer
    input:                             [ pad .. pad | x_0 .. x_{n-1} ]
    mask:   [ 1 .. 1                   | 0 .. 0     | 1 .. 1          ]   (B, L + T)
    pos:                               [ L .. L     | L .. L + n - 1  ]    from the mask

Uncached layout (as `clinical_mpt.generate`): [ pad .. pad | prompt | text ], positions 0.. from the
mask. Both give every row's prompt positions 0..L-1 and its text positions L..L+n-1, and the pads
are masked, so both compute the same function.
"""

from __future__ import annotations

import torch

from clinical_mpt.generate import cache_kwarg, keep_logits, returned_cache
from clinical_mpt.serve.prompt_cache import PromptStates, batch_cache, new_cache


@torch.no_grad()
def prefill_cached(model, states: list[PromptStates], inputs: list[list[int]], pad_id: int,
                   logits_to_keep: int = 1):
    """B rows (prompt states, input ids) -> (model output, mask (B, L+T), position ids (B, T))."""
    B, L, T = len(inputs), states[0][0][0].shape[2], max(len(x) for x in inputs)
    device = model.get_input_embeddings().weight.device
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    text_mask = torch.zeros(B, T, dtype=torch.long)
    for i, x in enumerate(inputs):
        ids[i, T - len(x):] = torch.tensor(x, dtype=torch.long)
        text_mask[i, T - len(x):] = 1
    mask = torch.cat([text_mask.new_ones(B, L), text_mask], dim=1).to(device)        # (B, L + T)
    position_ids = (L + (text_mask.cumsum(-1) - 1).clamp(min=0)).to(device)          # (B, T)
    out = model(input_ids=ids.to(device), attention_mask=mask, position_ids=position_ids, use_cache=True,
                logits_to_keep=keep_logits(logits_to_keep, device), **{cache_kwarg(model): batch_cache(model, states)})
    return out, mask, position_ids


@torch.no_grad()
def prefill_uncached(model, prompts: list[torch.Tensor], inputs: list[list[int]], logits_to_keep: int = 1):
    """B rows (prompt (L, d) fp32, input ids) -> (model output, mask (B, L+T), position ids (B, L+T))."""
    emb_layer = model.get_input_embeddings()
    device = emb_layer.weight.device
    B, L = len(inputs), prompts[0].shape[0]
    width = L + max(len(x) for x in inputs)
    embeds = emb_layer.weight.new_zeros(B, width, emb_layer.weight.shape[1])            # (B, L + T, d)
    mask = torch.zeros(B, width, dtype=torch.long, device=device)
    for i, x in enumerate(inputs):
        start = width - L - len(x)
        embeds[i, start:start + L] = prompts[i].to(embeds.dtype)
        embeds[i, start + L:] = emb_layer(torch.tensor(x, dtype=torch.long, device=device))
        mask[i, start:] = 1
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids, use_cache=True,
                logits_to_keep=keep_logits(logits_to_keep, device), **{cache_kwarg(model): new_cache(model)})
    return out, mask, position_ids


@torch.no_grad()
def greedy_decode(model, out, mask: torch.Tensor, position_ids: torch.Tensor, budgets: list[int],
                  eos_id: int, pad_id: int) -> list[list[int]]:
    """Continue from a prefill: argmax tokens until EOS or each row's own budget (EOS excluded)."""
    B = len(budgets)
    generated: list[list[int]] = [[] for _ in range(B)]
    done = torch.tensor([b <= 0 for b in budgets])
    key, last = cache_kwarg(model), keep_logits(1, mask.device)  # `last`: built once, used at every step
    for _ in range(max(budgets, default=0)):
        if done.all():
            break
        next_ids = out.logits[:, -1].argmax(-1).cpu()                                  # (B,)
        for i in range(B):
            if done[i]:
                continue
            if next_ids[i].item() == eos_id:
                done[i] = True
            else:
                generated[i].append(next_ids[i].item())
                done[i] = len(generated[i]) >= budgets[i]
        if done.all():
            break
        mask = torch.cat([mask, mask.new_ones(B, 1)], dim=1)
        position_ids = position_ids[:, -1:] + 1
        step_ids = next_ids.masked_fill(done, pad_id)[:, None].to(mask.device)
        out = model(input_ids=step_ids, attention_mask=mask, position_ids=position_ids, use_cache=True,
                    logits_to_keep=last, **{key: returned_cache(out)})
    return generated
