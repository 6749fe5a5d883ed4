"""Running the frozen backbone with deep prompts: per-row key/value prefixes in the attention cache.

The deep counterpart of modeling.answer_hidden_and_logits, with the same contract, so the training
loop (methods/base.fit_supervised) and the distillation loss can take either:

    prefix_fn(task ids (m,)) -> prefixes (m, layers, 2, kv_heads, L, head_dim)

The m distinct tasks' prefixes are gathered to the B rows and put in a DynamicCache; only the text
(B, T) runs, with the mask and positions of deep_prompt.text_mask_and_positions. There is no prompt
prefill at all: the prefix already is the cache. Gradients reach the prefix through the attention
reads of the cached tensors.

Deep prompts always take this cached layout: under gradient checkpointing the layers simply run
without it (the frozen backbone stays in eval mode, and HF checkpoints a layer only in training mode,
where it would drop the cache).
"""

from __future__ import annotations

import torch

from clinical_mpt.hf_compat import cache_kwarg, decoder
from clinical_mpt.modeling import answer_hidden_and_logits, answer_positions, unique_prompts
from clinical_mpt.prompts.deep_prompt import prefix_cache, text_mask_and_positions


def deep_text_hidden(model, prefixes: torch.Tensor, rows: torch.Tensor, input_ids: torch.Tensor,
                     attention_mask: torch.Tensor) -> torch.Tensor:
    """Final hidden states of the text (B, T, d), row i behind prefixes[rows[i]] (m, layers, 2, kv, L, hd)."""
    weight = model.get_input_embeddings().weight
    input_ids, attention_mask = input_ids.to(weight.device), attention_mask.to(weight.device)
    cache = prefix_cache(prefixes[rows.to(prefixes.device)], weight.dtype, weight.device)
    mask, positions = text_mask_and_positions(attention_mask, prefixes.shape[-2])           # (B, L+T), (B, T)
    body = decoder(model)
    out = body(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True,
               **{cache_kwarg(body): cache})
    return out.last_hidden_state


def deep_answer_hidden_and_logits(model, prefix_fn, task_ids: torch.Tensor, batch: dict):
    """Hidden states (N, d) and logits (N, V) at the answer positions, and their targets (N,)."""
    prefixes, rows = unique_prompts(prefix_fn, task_ids)
    hidden = deep_text_hidden(model, prefixes, rows, batch["input_ids"], batch["attention_mask"])   # (B, T, d)
    r, pos, targets = answer_positions(batch["labels"].to(hidden.device))
    h = hidden[r, pos]                                                                       # (N, d)
    return h, model.get_output_embeddings()(h), targets



def one_prompt_forward(prompt: torch.Tensor | None, prefix: torch.Tensor | None):
    """(prompt_fn, forward) running every row behind one trained prompt: the deep `prefix` (layers, 2,
    kv_heads, L, head_dim) through the KV cache, else the input-level `prompt` (L, d) through
    `inputs_embeds`, else the bare model (prompt_fn None). `forward` has answer_hidden_and_logits' contract."""
    if prefix is not None:
        return (lambda ids: prefix.unsqueeze(0).expand(len(ids), *prefix.shape)), deep_answer_hidden_and_logits
    if prompt is not None:
        return (lambda ids: prompt.unsqueeze(0).expand(len(ids), -1, -1)), answer_hidden_and_logits
    return None, answer_hidden_and_logits


@torch.no_grad()
def deep_logits(model, prefixes: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor):
    """Teacher-forced logits at every text position (B, T, V), row i behind prefixes[i]
    (B, layers, 2, kv, L, hd). For reference checks (greedy decoding, peft parity)."""
    rows = torch.arange(prefixes.shape[0])
    hidden = deep_text_hidden(model, prefixes, rows, input_ids, attention_mask)
    return model.get_output_embeddings()(hidden)
