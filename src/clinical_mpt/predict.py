"""Prompted prediction for one task: encode inputs, generate greedily in batches (with the decoder the
server uses, `decoding.greedy_generate`), parse the outputs."""

from __future__ import annotations

import torch

from clinical_mpt.batching import TaskData, encode_input
from clinical_mpt.decoding import DecodeBatch, greedy_generate, text_stop
from clinical_mpt.progress import progress
from clinical_mpt.prompts.deep_prompt import prompt_states


def predict_task(backbone, prompt: torch.Tensor | None, task: TaskData, batch_size: int = 16,
                 max_input_tokens: int = 320, desc: str | None = None,
                 prefix: torch.Tensor | None = None) -> list[dict]:
    """prompt (L, d) or None, and/or a deep prompt `prefix` (layers, 2, kv_heads, P, head_dim) placed in
    the KV cache -> one parsed prediction dict per example of `task`, in order.

    Inputs are sorted by length so each batch pads little; each row stops at EOS, its budget, or when
    its task type's `answer_complete` says the answer is finished; every prediction also keeps the raw
    generated text under `generation`.
    """
    tok, ttype = backbone.tokenizer, task.task_type
    weight = backbone.model.get_input_embeddings().weight
    states = None if prefix is None else prompt_states(prefix, weight.dtype, weight.device)
    stop = text_stop(tok, ttype.answer_complete)
    inputs = [encode_input(tok, task, ex, max_input_tokens) for ex in task.examples]
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
    texts: list[str | None] = [None] * len(inputs)
    batches = range(0, len(order), batch_size)
    for start in progress(batches, desc=desc or f"predict {task.name}", unit="batch", leave=False):
        idx = order[start:start + batch_size]
        prompts = None if prompt is None else [prompt] * len(idx)
        batch = DecodeBatch([inputs[i] for i in idx], [ttype.max_new_tokens] * len(idx), prompts,
                            None if states is None else [states] * len(idx), [stop] * len(idx))
        out = greedy_generate(backbone.model, batch, tok.eos_token_id, tok.pad_token_id)
        for i, ids in zip(idx, out):
            texts[i] = tok.decode(ids, skip_special_tokens=True)
    preds = []
    for ex, text in zip(task.examples, texts):
        pred = ttype.parse(text, ex)
        pred["id"] = ex["id"]
        pred["generation"] = text
        preds.append(pred)
    return preds
