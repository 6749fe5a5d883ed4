"""`deep-mpt` (train the per-layer u, v only) and `deep-mpt-full-prompt` (train P*, u, v): target
adaptation of the deep meta-prompt, prefix_l = P*_l o (u_l v_l^T) at every layer (prompts/deep_mpt_prompt.py).

The meta-prompt comes from distillation in deep form (OUT/distill-deep; the run trains it because these
rows' `meta_prompt` is "deep", methods/table.py):
    shared P* (layers, L, D), u (K, layers, L, r), v (K, layers, r, D),   D = 2·kv_heads·head_dim.
u, v start from the mean of the distilled source factors, `ones` (the prefix starts at P*), or one
named source task's (`adapt.init_from`); schedule and rate: `adapt.deep`.
"""

from __future__ import annotations

import torch

from clinical_mpt.deep_modeling import deep_answer_hidden_and_logits
from clinical_mpt.errors import ConfigError
from clinical_mpt.methods.base import Fitted, MethodContext, fit_supervised
from clinical_mpt.prompts import DeepMPTPrompt
from clinical_mpt.prompts.deep_prompt import kv_geometry
from clinical_mpt.training import summary


def check_deep_meta(meta: dict | None, config) -> None:
    """ConfigError unless `meta` is a deep meta-prompt for a backbone of this `config`."""
    layers, kv_heads, head_dim = kv_geometry(config)
    shared = None if meta is None else meta.get("shared")
    if shared is None or shared.dim() != 3 or shared.shape[0] != layers or shared.shape[2] != 2 * kv_heads * head_dim:
        got = "none" if shared is None else tuple(shared.shape)
        raise ConfigError(f"deep-mpt needs a deep meta-prompt of shape (layers={layers}, L, "
                          f"D={2 * kv_heads * head_dim}), got {got}: distil it with `clinical-mpt distill CONFIG "
                          f"--depth deep` (OUT/distill-deep)")


def init_factors(meta: dict, tasks: list[str], init_from: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial (u (1, layers, L, r), v (1, layers, r, D)): the mean of the source factors, `ones`
    (U V = 1 at every layer: the prefix starts at P*) or one source task's."""
    u, v = meta["u"], meta["v"]
    if init_from == "mean":
        return u.mean(0, keepdim=True), v.mean(0, keepdim=True)
    if init_from == "ones":
        return torch.ones_like(u[:1]) / u.shape[-1], torch.ones_like(v[:1])
    if init_from not in tasks:
        raise ConfigError(f"adapt.init_from: {init_from!r} is neither 'mean', 'ones' nor a source task "
                          f"({', '.join(tasks)})")
    k = tasks.index(init_from)
    return u[k:k + 1], v[k:k + 1]


def target_prompt(meta: dict, tasks: list[str], init_from: str, kv_heads: int,
                  train_meta_prompt: bool) -> DeepMPTPrompt:
    prompt = DeepMPTPrompt(meta["shared"], 1, kv_heads, meta["u"].shape[-1])
    u, v = init_factors(meta, tasks, init_from)
    with torch.no_grad():
        prompt.u.copy_(u)
        prompt.v.copy_(v)
    prompt.shared.requires_grad_(train_meta_prompt)
    return prompt


def fit(ctx: MethodContext, task, seed: int, log_path, train_meta_prompt: bool = False) -> Fitted:
    config = ctx.backbone.model.config
    check_deep_meta(ctx.meta, config)
    prompt = target_prompt(ctx.meta, ctx.meta_tasks, ctx.cfg.adapt.init_from, kv_geometry(config)[1],
                           train_meta_prompt)
    params = [p for p in prompt.parameters() if p.requires_grad]
    name = "deep-mpt-full-prompt" if train_meta_prompt else "deep-mpt"
    rows = fit_supervised(ctx.backbone.model, prompt, params, task, ctx.cfg.adapt.deep, seed,
                          ctx.backbone.tokenizer.pad_token_id, f"{name} {task.name}", log_path,
                          ctx.checkpoint_dir(name, log_path.parent.name, task.name), ctx.resume,
                          forward=deep_answer_hidden_and_logits, dev=ctx.dev) if task.encoded else []
    tensors = {"u": prompt.u, "v": prompt.v} | ({"shared": prompt.shared} if train_meta_prompt else {})
    n = sum(t.numel() for t in tensors.values())
    info = {"training": summary(rows), "kv_heads": prompt.kv_heads, "rank": int(prompt.u.shape[-1])}  # library/from_run.py
    return Fitted(ctx.backbone.model, None, n if task.encoded else 0, 4 * n, tensors, info,
                  prefix=prompt.task_prefix(0).detach())


def fit_full_prompt(ctx: MethodContext, task, seed: int, log_path) -> Fitted:
    return fit(ctx, task, seed, log_path, train_meta_prompt=True)
