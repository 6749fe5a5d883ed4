"""Greedy batched generation with per-row soft prompts, on the frozen backbone.

Generation layout (left padding; the prompt stays glued to its text):

    [ pad .. pad | prompt_0 .. prompt_{L-1} | x_0 .. x_{n-1} ]  -> y_0, y_1, ...

Position ids come from the attention mask, so every row's prompt sits at positions 0..L-1 whatever
its padding, exactly as in training.
"""

from __future__ import annotations

import inspect
from contextlib import nullcontext

import torch

from clinical_mpt.distributed import full_shape


def keep_logits(n: int, device):
    """HF's `logits_to_keep` for the last n positions (0: all of them). The last position alone is asked
    for as an index tensor, not as the int 1: for an int HF slices hidden[:, -1:, :], a view that torch's
    matmul does not fold into one 2-D product; it expands the LM head over the rows and copies it (28M
    values per row for SmolLM2: half the time of a 128-token prefill on the CPU). Indexing gives a
    contiguous (B, 1, d) and one matrix product, with the same logits."""
    return torch.tensor([-1], device=device) if n == 1 else n


def eager_generation():
    """A context in which compiled decoder layers (backbone.compile) run eagerly: a generation's KV cache
    grows every step, which would recompile their graph until dynamo's recompile limit."""
    set_stance = getattr(torch.compiler, "set_stance", None)  # torch >= 2.6
    return set_stance("force_eager") if set_stance is not None else nullcontext()


def cache_kwarg(model) -> str:
    """Name of the KV-cache argument: `cache` in recent transformers, `past_key_values` before."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def returned_cache(out):
    return out.cache if hasattr(out, "cache") else out.past_key_values


def greedy_generate(model, prompts: torch.Tensor | None, inputs: list[list[int]], max_new_tokens: int,
                    eos_id: int, pad_id: int) -> list[list[int]]:
    """prompts (B, L, d) or None; inputs: B token lists -> B lists of generated ids (EOS excluded)."""
    with eager_generation():
        return _greedy_generate(model, prompts, inputs, max_new_tokens, eos_id, pad_id)


@torch.no_grad()
def _greedy_generate(model, prompts: torch.Tensor | None, inputs: list[list[int]], max_new_tokens: int,
                     eos_id: int, pad_id: int) -> list[list[int]]:
    from transformers import DynamicCache

    emb_layer = model.get_input_embeddings()
    device = emb_layer.weight.device
    B, L = len(inputs), (0 if prompts is None else prompts.shape[1])
    width = L + max(len(x) for x in inputs)
    embeds = emb_layer.weight.new_zeros(B, width, full_shape(emb_layer.weight)[1])  # (B, L+T, d)
    mask = torch.zeros(B, width, dtype=torch.long, device=device)
    for i, ids in enumerate(inputs):
        start = width - L - len(ids)
        if L:
            embeds[i, start:start + L] = prompts[i].to(embeds)
        embeds[i, start + L:] = emb_layer(torch.tensor(ids, dtype=torch.long, device=device))
        mask[i, start:] = 1
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    key, last = cache_kwarg(model), keep_logits(1, device)  # `last`: built once, used at every step
    out = model(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids, use_cache=True,
                logits_to_keep=last, **{key: DynamicCache()})
    generated = [[] for _ in range(B)]
    done = [False] * B
    for _ in range(max_new_tokens):
        next_ids = out.logits[:, -1].argmax(-1)                        # (B,)
        for i, token in enumerate(next_ids.tolist()):                  # one device sync per step
            if not done[i]:
                if token == eos_id:
                    done[i] = True
                else:
                    generated[i].append(token)
        if all(done):
            break
        mask = torch.cat([mask, mask.new_ones(B, 1)], dim=1)
        position_ids = position_ids[:, -1:] + 1
        finished = torch.tensor(done, device=device)
        out = model(input_ids=next_ids.masked_fill(finished, pad_id)[:, None], attention_mask=mask,
                    position_ids=position_ids, use_cache=True, logits_to_keep=last, **{key: returned_cache(out)})
    return generated
