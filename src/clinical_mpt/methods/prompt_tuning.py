"""`pt`: single-task prompt tuning from scratch (Lester et al.), the same prompt length as MPT."""

from __future__ import annotations

import torch

from clinical_mpt.methods.base import Fitted, MethodContext, fit_supervised
from clinical_mpt.prompts import SoftPrompt, init_prompt


def new_prompt(ctx: MethodContext, seed: int) -> SoftPrompt:
    cfg, bb = ctx.cfg, ctx.backbone
    gen = torch.Generator().manual_seed(seed)
    return SoftPrompt(init_prompt(bb.model.get_input_embeddings().weight, cfg.prompt.length, cfg.prompt.init,
                                  bb.tokenizer, cfg.prompt.init_text, gen))


def fit(ctx: MethodContext, task, seed: int, log_path) -> Fitted:
    prompt = new_prompt(ctx, seed)
    if task.encoded:
        fit_supervised(ctx.backbone.model, prompt, [prompt.weight], task, ctx.cfg.baselines.pt, seed,
                       ctx.backbone.tokenizer.pad_token_id, f"pt {task.name}", log_path,
                       ctx.checkpoint_dir("pt", log_path.parent.name, task.name), ctx.resume)
    n = prompt.weight.numel()
    return Fitted(ctx.backbone.model, prompt.weight.detach(), n if task.encoded else 0, 4 * n,
                  {"prompt": prompt.weight})
