"""The one training loop every stage uses: AdamW on the prompt tensors only, warm-up + linear decay,
gradient clipping, a progress bar and a JSONL loss log. The loss is a closure supplied by the stage.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable

import torch
from clinical_mpt.progress import progress

from clinical_mpt.config import TrainConfig


def lr_lambda(warmup: int, total: int, floor: float = 0.1) -> Callable[[int], float]:
    """Multiplier of the peak lr at step s: linear warm-up, then linear decay to `floor`."""
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return max(floor, 1.0 - (1.0 - floor) * progress)
    return f


def train(params: list[torch.nn.Parameter], loss_fn: Callable[[int], tuple[torch.Tensor, dict]],
          cfg: TrainConfig, desc: str, log_path: Path | None = None) -> list[dict]:
    """Run `cfg.steps` optimizer steps of `loss_fn(step) -> (loss, extra logs)`; return the log rows."""
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg.warmup_steps, cfg.steps))
    rows, start = [], time.time()
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "a", encoding="utf-8") if log_path else None
    bar = progress(range(cfg.steps), desc=desc, unit="step")
    try:
        for step in bar:
            loss, extra = loss_fn(step)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            sched.step()
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(f"{desc}: loss became {value} at step {step}; lower the learning rate")
            bar.set_postfix(loss=f"{value:.4f}")
            if (step + 1) % cfg.log_every == 0 or step == 0 or step + 1 == cfg.steps:
                row = {"stage": desc, "step": step + 1, "loss": round(value, 6), "lr": sched.get_last_lr()[0],
                       "seconds": round(time.time() - start, 2), **{k: round(float(v), 6) for k, v in extra.items()}}
                rows.append(row)
                if log:
                    log.write(json.dumps(row) + "\n")
                    log.flush()
    finally:
        bar.close()
        if log:
            log.close()
    return rows
