"""A toy target-task method for tests/methods/test_table.py: a 4-token soft prompt that starts from the
first four token embeddings and trains with the pt baseline's settings (config section baselines.pt,
which is not named after it). Registering it takes this module plus one table row, nothing else."""

from __future__ import annotations

import torch

from clinical_mpt.methods.base import Fitted, MethodContext, fit_supervised
from clinical_mpt.methods.table import Row
from clinical_mpt.prompts import SoftPrompt

LENGTH = 4
ROW = Row("toy", "Toy prompt", "toy_method:fit", "baselines.pt", "baselines.pt", ("baselines.pt.lr",),
          load_prompt_path="toy_method:load_prompt")


def fit(ctx: MethodContext, task, seed: int, log_path) -> Fitted:
    prompt = SoftPrompt(ctx.backbone.model.get_input_embeddings().weight[:LENGTH])
    if task.encoded:
        fit_supervised(ctx.backbone.model, prompt, [prompt.weight], task, ctx.cfg.baselines.pt, seed,
                       ctx.backbone.tokenizer.pad_token_id, f"toy {task.name}", log_path)
    n = prompt.weight.numel()
    return Fitted(ctx.backbone.model, prompt.weight.detach(), n if task.encoded else 0, 4 * n,
                  {"prompt": prompt.weight}, {"toy": True})


def load_prompt(ctx: MethodContext, tensors: dict) -> torch.Tensor:
    return tensors["prompt"]
