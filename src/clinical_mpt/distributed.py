"""Data parallelism across the processes of `accelerate launch` (or `torchrun`), and no-ops in one process.

Every rank holds the whole frozen backbone. All ranks draw the same global batch from the same
seeded sampler; each runs its contiguous slice of the rows (`shard_rows`) with its loss scaled by
its share of the batch's answer tokens (`token_share`), so the mean of the ranks' gradients is the
gradient of the global batch. Only the trainable tensors (soft prompts, u and v, or adapter weights)
are averaged: one all-reduce of one flat buffer per step (`all_reduce_grads`). Nothing wraps the
model, so the frozen weights are never synchronised.

A launch is recognised from the environment (`WORLD_SIZE` > 1, with `RANK` and `LOCAL_RANK`); the
one `accelerate.Accelerator` of the process is then created on first use: gloo on CPU, NCCL on GPU.

How the frozen backbone's weights are split over the ranks under FSDP or DeepSpeed ZeRO-3 is
`sharding`'s job; this module holds the process group and the collectives.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

_ACCELERATOR = None
TIMEOUT_ENV = "CLINICAL_MPT_DIST_TIMEOUT_MIN"  # collective timeout in minutes (rank 0 may generate long)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def launched() -> bool:
    """True in a process started by `accelerate launch` / `torchrun` with more than one process."""
    return world_size() > 1


def is_main() -> bool:
    """Rank 0 (or the only process): the one that writes logs, checkpoints, artifacts and results."""
    return rank() == 0


def accelerator():
    """The process's `accelerate.Accelerator` (created on first call), or None in a single process."""
    global _ACCELERATOR
    if _ACCELERATOR is None and launched():
        import torch
        from accelerate import Accelerator
        from accelerate.utils import InitProcessGroupKwargs

        timeout = timedelta(minutes=float(os.environ.get(TIMEOUT_ENV, "180")))
        _ACCELERATOR = Accelerator(cpu=not torch.cuda.is_available(),
                                   kwargs_handlers=[InitProcessGroupKwargs(timeout=timeout)])
    return _ACCELERATOR


def exit_launched(code: int) -> None:
    """End a launched rank without interpreter finalization: barrier, destroy the process group, flush,
    then `os._exit(code)`. Left to exit-time destructors, gloo's worker threads intermittently abort a
    rank that has finished all its work ("terminate called without an active exception", SIGABRT;
    pytorch/pytorch#179291); destroying the group first did not stop it. Every file the command wrote
    is closed by then, so skipping finalization loses nothing. A no-op in a single process."""
    if _ACCELERATOR is None:
        return
    import torch.distributed as dist

    try:
        if dist.is_available() and dist.is_initialized():
            if code == 0:  # a failed rank must not wait for the others
                dist.barrier()
            dist.destroy_process_group()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def device():
    """This process's device: the accelerator's (cuda:LOCAL_RANK or cpu) under a launch, else cuda if
    there is a GPU, else cpu."""
    import torch

    acc = accelerator()
    if acc is not None:
        return acc.device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def shard_rows(rows: list) -> list:
    """This rank's contiguous slice of a global list (rows[r*n//W : (r+1)*n//W]); the whole list in one
    process. Contiguous slices keep a task-sorted batch grouped and restore the order when gathered."""
    n, w, r = len(rows), world_size(), rank()
    return list(rows[r * n // w:(r + 1) * n // w]) if w > 1 else list(rows)


def token_share(local_tokens: int, global_tokens: int) -> float:
    """W * n_local / n_global: the factor that turns this rank's mean loss into its part of the global
    mean, so that averaging the W ranks' gradients gives the global batch's gradient (1.0 in one process)."""
    return world_size() * local_tokens / global_tokens


def _flat(tensors, dev):
    import torch

    return torch.cat([t.detach().reshape(-1).float().to(dev) for t in tensors])


def _unflat(flat, tensors) -> list:
    out, offset = [], 0
    for t in tensors:
        out.append(flat[offset:offset + t.numel()].view_as(t).to(device=t.device, dtype=t.dtype))
        offset += t.numel()
    return out


def all_reduce_grads(params: list) -> None:
    """Replace every param's .grad by its mean over the ranks (a missing grad counts as zeros)."""
    if not launched():
        return
    import torch
    import torch.distributed as dist

    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = _flat(grads, device())
    dist.all_reduce(flat)
    flat /= world_size()
    for p, g in zip(params, _unflat(flat, grads)):
        p.grad = g


def broadcast_params(params: list) -> None:
    """Copy rank 0's values of `params` to every rank (all ranks start from the same prompts)."""
    if not launched():
        return
    import torch
    import torch.distributed as dist

    flat = _flat(params, device())
    dist.broadcast(flat, src=0)
    with torch.no_grad():
        for p, value in zip(params, _unflat(flat, params)):
            p.copy_(value)


def mean_scalars(values: list[float]) -> list[float]:
    """The mean over the ranks of each value (the same list on every rank; unchanged in one process)."""
    if not launched() or not values:
        return list(values)
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device())
    dist.all_reduce(t)
    return (t / world_size()).tolist()


def check_in_sync(params: list, what: str) -> None:
    """Raise on every rank if any rank's `params` differ from rank 0's (they are identical by
    construction: the same start, the same averaged gradients, the same optimizer arithmetic)."""
    if not launched():
        return
    import torch.distributed as dist

    local = _flat(params, device())
    reference = local.clone()
    dist.broadcast(reference, src=0)
    gap = (local - reference).abs().max()
    dist.all_reduce(gap, op=dist.ReduceOp.MAX)
    if gap.item() != 0:
        raise RuntimeError(f"{what}: the ranks' trained tensors differ (max |difference| {gap.item():.3g})")


def zero_loss(params: list):
    """A zero loss connected to `params`: a rank whose slice of the batch is empty still joins the
    gradient all-reduce (with zero gradients)."""
    return sum((p * 0).sum() for p in params)


def gather_rows(rows: list) -> list:
    """Concatenate every rank's list in rank order (the inverse of `shard_rows`); every rank gets it."""
    if not launched():
        return list(rows)
    import torch.distributed as dist

    accelerator()  # the process group exists from here on
    parts = [None] * world_size()
    dist.all_gather_object(parts, list(rows))
    return [row for part in parts for row in part]


def barrier() -> None:
    """Wait for every rank (e.g. until rank 0 has written what the others will read)."""
    if launched():
        accelerator().wait_for_everyone()
