"""Running the frozen backbone with soft prompts that enter through `inputs_embeds`.

Training layout (right padding, so no pad sits between prompt and text):

    [ prompt_0 .. prompt_{L-1} | x_0 .. x_{n-1} | pad .. pad ]

The hidden state at position L+t-1 predicts token x_t; the LM head is applied only at answer
positions (labels != -100), which skips most of the vocabulary projection.
"""

from __future__ import annotations

import torch


def decoder(model):
    """The transformer body of a *ForCausalLM (returns final-norm hidden states)."""
    return model.get_decoder() if hasattr(model, "get_decoder") else getattr(model, model.base_model_prefix)


def prompted_embeds(model, prompts: torch.Tensor | None, input_ids: torch.Tensor, attention_mask: torch.Tensor):
    """prompts (B, L, d) fp32 or None, input_ids/attention_mask (B, T) -> inputs_embeds (B, L+T, d), mask."""
    embeds = model.get_input_embeddings()(input_ids)                     # (B, T, d) backbone dtype
    if prompts is None:                                                  # LoRA / full fine-tuning baselines
        return embeds, attention_mask
    embeds = torch.cat([prompts.to(embeds.dtype), embeds], dim=1)        # (B, L+T, d)
    prompt_mask = attention_mask.new_ones(prompts.shape[0], prompts.shape[1])
    return embeds, torch.cat([prompt_mask, attention_mask], dim=1)


def prompted_hidden(model, prompts: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor):
    """Final hidden states (B, L+T, d) of the frozen model run on [prompt | input]."""
    embeds, mask = prompted_embeds(model, prompts, input_ids, attention_mask)
    out = decoder(model)(inputs_embeds=embeds, attention_mask=mask, use_cache=False)
    return out.last_hidden_state


def answer_positions(labels: torch.Tensor, prompt_length: int):
    """labels (B, T) with -100 off-answer -> (row idx (N,), hidden position idx (N,), targets (N,))."""
    shifted = labels[:, 1:]                                               # (B, T-1): token t predicted at t-1
    rows, cols = (shifted != -100).nonzero(as_tuple=True)
    return rows, cols + prompt_length, shifted[rows, cols]


def answer_hidden_and_logits(model, prompts, batch: dict):
    """Hidden states (N, d) and logits (N, V) at the answer positions, and their targets (N,)."""
    hidden = prompted_hidden(model, prompts, batch["input_ids"], batch["attention_mask"])
    rows, pos, targets = answer_positions(batch["labels"], 0 if prompts is None else prompts.shape[1])
    h = hidden[rows, pos]                                                 # (N, d)
    logits = model.get_output_embeddings()(h)                             # (N, V)
    return h, logits, targets
