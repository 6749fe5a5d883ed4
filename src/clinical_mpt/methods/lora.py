"""`lora`: LoRA through peft on a private copy of the backbone (the shared backbone is never touched)."""

from __future__ import annotations

import copy

from clinical_mpt.errors import ConfigError
from clinical_mpt.methods.base import Fitted, MethodContext, fit_supervised
from clinical_mpt.training import summary


def fit(ctx: MethodContext, task, seed: int, log_path) -> Fitted:
    import torch
    from peft import LoraConfig, get_peft_model

    s = ctx.cfg.baselines.lora
    torch.manual_seed(seed)
    base = copy.deepcopy(ctx.backbone.model)
    try:
        peft_model = get_peft_model(base, LoraConfig(r=s.rank, lora_alpha=s.alpha, lora_dropout=s.dropout,
                                                     target_modules=list(s.target_modules), bias="none"))
    except ValueError as e:
        raise ConfigError(f"baselines.lora.target_modules: {e}") from None
    params = [p for p in peft_model.parameters() if p.requires_grad]
    model = peft_model.get_base_model()  # LoRA layers are injected in place; call the causal LM directly
    rows = []
    if task.encoded:
        model.train()
        rows = fit_supervised(model, None, params, task, s.train, seed, ctx.backbone.tokenizer.pad_token_id,
                              f"lora {task.name}", log_path,
                              ctx.checkpoint_dir("lora", log_path.parent.name, task.name), ctx.resume, dev=ctx.dev)
    model.eval()
    n = sum(p.numel() for p in params)
    return Fitted(model, None, n if task.encoded else 0, 4 * n, info={"training": summary(rows)})
