"""Prompted prediction for one task: encode inputs, generate greedily in batches (with the decoder the
server uses, `decoding.greedy_generate`), parse the outputs."""

from __future__ import annotations

import torch
from clinical_mpt.progress import progress

from clinical_mpt.batching import TaskData, encode_input
from clinical_mpt.decoding import DecodeBatch, greedy_generate


def predict_task(backbone, prompt: torch.Tensor | None, task: TaskData, batch_size: int = 16,
                 max_input_tokens: int = 320, desc: str | None = None) -> list[dict]:
    """prompt (L, d) or None -> one parsed prediction dict per example of `task`, in order.

    Inputs are sorted by length so each batch pads little; every prediction also keeps the raw
    generated text under `generation`.
    """
    tok, ttype = backbone.tokenizer, task.task_type
    inputs = [encode_input(tok, task, ex, max_input_tokens) for ex in task.examples]
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
    texts: list[str | None] = [None] * len(inputs)
    batches = range(0, len(order), batch_size)
    for start in progress(batches, desc=desc or f"predict {task.name}", unit="batch", leave=False):
        idx = order[start:start + batch_size]
        prompts = None if prompt is None else [prompt] * len(idx)
        batch = DecodeBatch.uniform([inputs[i] for i in idx], ttype.max_new_tokens, prompts)
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
