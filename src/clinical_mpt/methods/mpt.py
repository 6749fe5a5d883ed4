"""`mpt` (train u, v only) and `mpt-full-prompt` (train P*, u, v): target adaptation of the meta-prompt.

u, v start from the mean of the distilled source factors (or one named source task's, `adapt.init_from`).
"""

from __future__ import annotations

import torch

from clinical_mpt.errors import ConfigError
from clinical_mpt.methods.base import Fitted, MethodContext, fit_supervised
from clinical_mpt.prompts import MPTPrompt
from clinical_mpt.training import summary


def init_factors(meta: dict, tasks: list[str], init_from: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial (u (1, L, r), v (1, r, d)) from the distilled source factors: their mean, one source
    task's, or `ones` (U V = all ones: the target prompt starts as P* itself)."""
    if init_from == "mean":
        return meta["u"].mean(0, keepdim=True), meta["v"].mean(0, keepdim=True)
    if init_from == "ones":
        _, length, rank = meta["u"].shape
        return torch.ones(1, length, rank) / rank, torch.ones(1, rank, meta["v"].shape[-1])
    if init_from not in tasks:
        raise ConfigError(f"adapt.init_from: {init_from!r} is neither 'mean', 'ones' nor a source task "
                          f"({', '.join(tasks)})")
    k = tasks.index(init_from)
    return meta["u"][k:k + 1], meta["v"][k:k + 1]


def target_prompt(meta: dict, tasks: list[str], init_from: str, train_meta_prompt: bool) -> MPTPrompt:
    mpt = MPTPrompt.from_factors(meta["shared"], *init_factors(meta, tasks, init_from))
    mpt.shared.requires_grad_(train_meta_prompt)
    return mpt


def param_groups(mpt: MPTPrompt, adapt) -> list[dict]:
    """Optimizer groups of a target MPTPrompt: u, v at `adapt.lr_vectors`, and P* (when it trains) at
    `adapt.lr_meta_prompt`; an unset rate is `adapt.train.lr`."""
    def rate(lr):
        return adapt.train.lr if lr is None else lr

    groups = [{"params": [mpt.u, mpt.v], "lr": rate(adapt.lr_vectors)}]
    if mpt.shared.requires_grad:
        groups.append({"params": [mpt.shared], "lr": rate(adapt.lr_meta_prompt)})
    return groups


def fit(ctx: MethodContext, task, seed: int, log_path, train_meta_prompt: bool = False) -> Fitted:
    mpt = target_prompt(ctx.meta, ctx.meta_tasks, ctx.cfg.adapt.init_from, train_meta_prompt)
    params = param_groups(mpt, ctx.cfg.adapt)
    rows = fit_supervised(ctx.backbone.model, mpt, params, task, ctx.cfg.adapt.train, seed,
                          ctx.backbone.tokenizer.pad_token_id, f"adapt {task.name}", log_path,
                          ctx.checkpoint_dir("adapt", log_path.parent.name, task.name), ctx.resume,
                          dev=ctx.dev) if task.encoded else []
    tensors = {"u": mpt.u, "v": mpt.v} | ({"shared": mpt.shared} if train_meta_prompt else {})
    n = sum(t.numel() for t in tensors.values())
    info = {"rank": mpt.u.shape[-1], "init_from": ctx.cfg.adapt.init_from, "train_meta_prompt": train_meta_prompt,
            "training": summary(rows)}
    return Fitted(ctx.backbone.model, mpt.task_prompt(0).detach(), n if task.encoded else 0, 4 * n, tensors, info)


def fit_full_prompt(ctx: MethodContext, task, seed: int, log_path) -> Fitted:
    return fit(ctx, task, seed, log_path, train_meta_prompt=True)


def load_prompt(ctx: MethodContext, tensors: dict) -> torch.Tensor:
    """The (L, d) target prompt of a saved artifact {"u", "v"[, "shared"]}; P* from the run's distill/ unless
    the artifact trained its own."""
    shared = tensors.get("shared", ctx.meta["shared"])
    return MPTPrompt.from_factors(shared, tensors["u"], tensors["v"]).task_prompt(0).detach()  # (L, d)
