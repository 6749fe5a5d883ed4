"""`pt`: single-task prompt tuning from scratch (Lester et al.), the same prompt length as MPT."""

from __future__ import annotations

from clinical_mpt.methods.base import Fitted, MethodContext, fit_supervised
from clinical_mpt.prompts import SoftPrompt, new_soft_prompt
from clinical_mpt.training import summary


def new_prompt(ctx: MethodContext, seed: int) -> SoftPrompt:
    return new_soft_prompt(ctx.backbone, ctx.cfg.prompt, seed)


def fit(ctx: MethodContext, task, seed: int, log_path) -> Fitted:
    prompt = new_prompt(ctx, seed)
    rows = fit_supervised(ctx.backbone.model, prompt, [prompt.weight], task, ctx.cfg.baselines.pt, seed,
                          ctx.backbone.tokenizer.pad_token_id, f"pt {task.name}", log_path,
                          ctx.checkpoint_dir("pt", log_path.parent.name, task.name), ctx.resume,
                          dev=ctx.dev) if task.encoded else []
    n = prompt.weight.numel()
    return Fitted(ctx.backbone.model, prompt.weight.detach(), n if task.encoded else 0, 4 * n,
                  {"prompt": prompt.weight}, {"training": summary(rows)})
