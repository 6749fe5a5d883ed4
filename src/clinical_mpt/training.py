"""The one training loop every stage uses: AdamW on the prompt tensors only, warm-up + linear decay,
gradient clipping, a progress bar and a loss log (JSONL and/or TensorBoard, see training_log.py).
The loss is a closure supplied by the stage; the "tokens" entry of its extra logs, if any, is the
number of text tokens in its batch (for tokens/s), not a curve.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Callable

import torch

from clinical_mpt import distributed
from clinical_mpt.config import TrainConfig
from clinical_mpt.data.jsonl import atomic_write_text
from clinical_mpt.early_stopping import EarlyStopping
from clinical_mpt.progress import progress
from clinical_mpt.training_log import StageLog


def lr_lambda(warmup: int, total: int, floor: float = 0.1) -> Callable[[int], float]:
    """Multiplier of the peak lr at step s: linear warm-up, then linear decay to `floor`."""
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return max(floor, 1.0 - (1.0 - floor) * progress)
    return f


def _fault_injection(desc: str, step: int) -> None:
    """Crash-test hook: CLINICAL_MPT_FAULT="<stage>@<step>" SIGKILLs this process when that stage is
    about to run that step (used by the resume tests to kill a real run at a known point)."""
    fault = os.environ.get("CLINICAL_MPT_FAULT")
    if fault and fault == f"{desc}@{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def _drop_logged_after(log_path: Path, desc: str, step: int) -> None:
    """On resume, forget log rows of this stage written after the checkpoint (they will be redone)."""
    if not log_path.is_file():
        return
    keep = [line for line in log_path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not (json.loads(line).get("stage") == desc and json.loads(line)["step"] > step)]
    atomic_write_text(log_path, "".join(line + "\n" for line in keep))


def param_groups(params: list) -> tuple[list[dict], list[torch.Tensor]]:
    """`params` as given to `train` (tensors, or optimizer groups {"params": [...], "lr": x}) ->
    (groups, every tensor in order)."""
    groups = list(params) if params and isinstance(params[0], dict) else [{"params": list(params)}]
    return groups, [p for g in groups for p in g["params"]]


def grad_norm(params: list[torch.nn.Parameter]) -> float:
    """L2 norm of all gradients of `params` together (0 when there are none)."""
    grads = [p.grad for p in params if p.grad is not None]
    return float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0


def tensorboard_scalars(params, clipped_norm, tokens: float, seconds: float) -> dict:
    """The scalars TensorBoard gets beside the log row: grad_norm (before clipping), tokens_per_s."""
    out = {"grad_norm": float(clipped_norm) if clipped_norm is not None else grad_norm(params)}
    if tokens:
        out["tokens_per_s"] = tokens / max(seconds, 1e-9)
    return out


def train(params: list, loss_fn: Callable[[int], tuple[torch.Tensor, dict]],
          cfg: TrainConfig, desc: str, log_path: Path | None = None, checkpoint_dir: Path | None = None,
          sampler=None, resume: bool = False, dev_loss: Callable[[], float] | None = None) -> list[dict]:
    """Run up to `cfg.steps` optimizer steps of `loss_fn(step) -> (loss, extra logs)`; return the log rows.

    `params` are tensors, or optimizer groups `{"params": [...], "lr": peak lr}` for separate rates
    (a group without "lr" gets `cfg.lr`).
    With `dev_loss` and `cfg.eval_every > 0`, the dev loss is computed every `eval_every` steps (and at
    the last), the best parameters are kept, training stops after `cfg.patience` evaluations without
    improvement, and the best parameters are restored (early_stopping.py); the last log row then
    carries `steps_run`, `best_step`, `best_dev_loss` and `stopped_early`.
    With `checkpoint_dir`, the full training state (params, optimizer, scheduler, RNG, `sampler`'s
    data position, early-stopping state) is saved every `cfg.checkpoint_every` steps; `resume=True`
    continues from it. The checkpoint folder is removed when training completes.
    Under a multi-process launch (distributed.py) the gradients of `params` are averaged over the
    ranks after each backward; only rank 0 writes the log and checkpoints and shows the progress bar.
    """
    from clinical_mpt.checkpoint import has_checkpoint, load_checkpoint, load_extra, save_checkpoint

    groups, params = param_groups(params)
    opt = torch.optim.AdamW([{**g, "lr": g.get("lr", cfg.lr)} for g in groups], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg.warmup_steps, cfg.steps))
    stopper = EarlyStopping(cfg.patience, cfg.min_delta) if dev_loss is not None and cfg.eval_every else None
    first = 0
    if resume and has_checkpoint(checkpoint_dir):
        first, sampler_state = load_checkpoint(checkpoint_dir, params, opt, sched)
        if sampler is not None and sampler_state is not None:
            sampler.load_state_dict(sampler_state)
        if stopper is not None:
            stopper.load(*load_extra(checkpoint_dir))
        if log_path and distributed.is_main():
            _drop_logged_after(Path(log_path), desc, first)
        print(f"{desc}: resumed from step {first}", flush=True)
    distributed.broadcast_params(params)
    rows, start = [], time.time()
    log = StageLog(log_path if distributed.is_main() else None, desc, cfg.log_to, first)
    tokens, since = 0.0, time.time()  # text tokens since the last logged step (tokens/s)
    bar = progress(range(first, cfg.steps), desc=desc, unit="step", initial=first, total=cfg.steps,
                   disable=not distributed.is_main())
    try:
        for step in bar:
            _fault_injection(desc, step)
            loss, extra = loss_fn(step)
            value, *rest = distributed.mean_scalars([loss.item()] + [float(v) for v in extra.values()])
            extra = dict(zip(extra, rest))
            tokens += extra.pop("tokens", 0.0) * distributed.world_size()
            if not math.isfinite(value):
                raise FloatingPointError(f"{desc}: loss became {value} at step {step}; lower the learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            distributed.all_reduce_grads(params)
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip) if cfg.grad_clip > 0 else None
            opt.step()
            sched.step()
            done, stop = step + 1, False
            if stopper is not None and (done % cfg.eval_every == 0 or done == cfg.steps):
                with torch.no_grad():
                    extra["dev_loss"] = distributed.mean_scalars([float(dev_loss())])[0]
                stop = stopper.update(done, extra["dev_loss"], params)
            bar.set_postfix(loss=f"{value:.4f}", refresh=False)
            if done % cfg.log_every == 0 or step == 0 or done == cfg.steps or stop:
                row = {"stage": desc, "step": done, "loss": round(value, 6), "lr": sched.get_last_lr()[0],
                       "seconds": round(time.time() - start, 2), **{k: round(float(v), 6) for k, v in extra.items()}}
                if stopper is not None and (stop or done == cfg.steps):
                    row |= stopper.summary(done)
                rows.append(row)
                now = time.time()
                log.write(row, tensorboard_scalars(params, norm, tokens, now - since) if log.tensorboard else {})
                tokens, since = 0.0, now
            if stop:
                break
            if checkpoint_dir and cfg.checkpoint_every and done % cfg.checkpoint_every == 0 \
                    and done < cfg.steps and distributed.is_main():
                save_checkpoint(checkpoint_dir, done, params, opt, sched,
                                sampler.state_dict() if sampler is not None else None,
                                stopper.state() if stopper is not None else None)
    finally:
        bar.close()
        log.close()
    if stopper is not None:
        stopper.restore(params)
    distributed.check_in_sync(params, desc)
    if checkpoint_dir and Path(checkpoint_dir).exists() and distributed.is_main():
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return rows


def summary(rows: list[dict]) -> dict:
    """The early-stopping record of a training's log rows ({} when it ran without early stopping)."""
    keys = ("steps_run", "best_step", "best_dev_loss", "stopped_early")
    return {k: rows[-1][k] for k in keys} if rows and "steps_run" in rows[-1] else {}
