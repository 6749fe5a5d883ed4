"""`full`: full fine-tuning of a private copy of the backbone (fp32 master weights, bf16 autocast)."""

from __future__ import annotations

import copy

import torch

from clinical_mpt.methods.base import Fitted, MethodContext, fit_supervised
from clinical_mpt.training import summary


def fit(ctx: MethodContext, task, seed: int, log_path) -> Fitted:
    dtype = ctx.backbone.dtype
    torch.manual_seed(seed)
    model = copy.deepcopy(ctx.backbone.model).float()
    model.requires_grad_(True)
    params, rows = list(model.parameters()), []
    if task.encoded:
        model.train()
        with torch.autocast(ctx.backbone.model.device.type, dtype=dtype,
                            enabled=dtype != torch.float32):
            rows = fit_supervised(model, None, params, task, ctx.cfg.baselines.full, seed,
                                  ctx.backbone.tokenizer.pad_token_id, f"full {task.name}", log_path, dev=ctx.dev)
    model.eval()
    model.requires_grad_(False)
    model = model.to(dtype)
    n = sum(p.numel() for p in params)
    return Fitted(model, None, n if task.encoded else 0, n * torch.finfo(dtype).bits // 8,
                  info={"training": summary(rows)})
