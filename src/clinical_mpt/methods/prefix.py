"""`prefix`: single-task deep prompt tuning (P-Tuning v2, Liu et al. 2022), the deep baseline.

A fresh (layers, 2, kv_heads, L, head_dim) key/value prefix per task, initialised from the keys and
values of `prompt.init_text` (prompts/deep_prompt.py), trained with the LM loss through the KV cache
(deep_modeling.py); schedule and rate: `baselines.prefix`. The frozen backbone is shared, untouched.
"""

from __future__ import annotations

from clinical_mpt.deep_modeling import deep_answer_hidden_and_logits
from clinical_mpt.methods.base import Fitted, MethodContext, fit_supervised
from clinical_mpt.prompts import new_deep_prompt
from clinical_mpt.training import summary


def fit(ctx: MethodContext, task, seed: int, log_path) -> Fitted:
    prompt = new_deep_prompt(ctx.backbone, ctx.cfg.prompt)
    rows = fit_supervised(ctx.backbone.model, prompt, [prompt.weight], task, ctx.cfg.baselines.prefix, seed,
                          ctx.backbone.tokenizer.pad_token_id, f"prefix {task.name}", log_path,
                          ctx.checkpoint_dir("prefix", log_path.parent.name, task.name), ctx.resume,
                          forward=deep_answer_hidden_and_logits, dev=ctx.dev) if task.encoded else []
    n = prompt.weight.numel()
    return Fitted(ctx.backbone.model, None, n if task.encoded else 0, 4 * n, {"prefix": prompt.weight},
                  {"training": summary(rows)}, prefix=prompt.weight.detach())
