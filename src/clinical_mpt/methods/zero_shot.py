"""`zero-shot`: the frozen backbone with the plain instruction template; nothing is trained."""

from __future__ import annotations

from clinical_mpt.methods.base import Fitted, MethodContext


def fit(ctx: MethodContext, task, seed: int, log_path) -> Fitted:
    return Fitted(ctx.backbone.model, None, 0, 0)
