"""Data parallelism across the processes of `accelerate launch` (or `torchrun`), and no-ops in one process.

Every rank holds the whole frozen backbone. All ranks draw the same global batch from the same
seeded sampler; each runs its contiguous slice of the rows (`shard_rows`) with its loss scaled by
its share of the batch's answer tokens (`token_share`), so the mean of the ranks' gradients is the
gradient of the global batch. Only the trainable tensors (soft prompts, u and v, or adapter weights)
are averaged: one all-reduce of one flat buffer per step (`all_reduce_grads`). Nothing wraps the
model, so the frozen weights are never synchronised.

A launch is recognised from the environment (`WORLD_SIZE` > 1, with `RANK` and `LOCAL_RANK`); the
one `accelerate.Accelerator` of the process is then created on first use: gloo on CPU, NCCL on GPU.

Under an FSDP accelerate config (`ACCELERATE_USE_FSDP`, e.g. configs/accelerate/fsdp.yaml) the frozen
decoder layers are sharded over the ranks with FSDP2 (`fully_shard`, one unit per layer; embeddings,
final norm and LM head stay replicated), so each GPU holds 1/W of the layer weights; each layer's
weights are all-gathered for its forward and backward. Every rank must then run the same forward
passes: the ranks generate all evaluation rows together (not a slice each), and a rank whose slice
of a batch is empty still runs one row with a zero loss.

Under a DeepSpeed accelerate config with ZeRO stage 3 (configs/accelerate/zero3.yaml) every backbone
weight, embeddings and LM head included, is partitioned over the ranks by a DeepSpeed engine with no
optimizer (`deepspeed.initialize(model=...)`, as TRL does for frozen reference models); DeepSpeed's
module hooks gather each module's weights for its forward and backward. The same every-rank-runs-
every-forward rules apply. ZeRO stages 0-2 partition only optimizer state and gradients, which here
are the prompts' alone: they run as plain data parallelism. The prompts are never handed to DeepSpeed:
they are averaged as above, with clinical-mpt's own optimizer.
"""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from datetime import timedelta

_ACCELERATOR = None
_ZERO3_ENGINES: list = []  # the DeepSpeed engines that own the partitioned backbones (kept alive)
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
        zero = deepspeed_zero_config() if deepspeed_requested() else None
        import torch
        from accelerate import Accelerator
        from accelerate.utils import InitProcessGroupKwargs

        timeout = timedelta(minutes=float(os.environ.get(TIMEOUT_ENV, "180")))
        _ACCELERATOR = Accelerator(cpu=not torch.cuda.is_available(),
                                   kwargs_handlers=[InitProcessGroupKwargs(timeout=timeout)])
        if zero is not None and zero["stage"] != 3 and is_main():
            print(f"DeepSpeed ZeRO stage {zero['stage']} partitions optimizer state and gradients, which here are "
                  "only the prompts': running as plain data parallelism (stage 3 partitions the backbone)", flush=True)
    return _ACCELERATOR


def fsdp_requested() -> bool:
    """True under `accelerate launch` with an FSDP config (it sets ACCELERATE_USE_FSDP)."""
    return launched() and os.environ.get("ACCELERATE_USE_FSDP", "").lower() in ("1", "true")


def deepspeed_requested() -> bool:
    """True under `accelerate launch` with a DeepSpeed config (it sets ACCELERATE_USE_DEEPSPEED)."""
    return launched() and os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() in ("1", "true")


def deepspeed_zero_config() -> dict:
    """The launch's DeepSpeed `zero_optimization` section, "auto" values dropped: from the accelerate
    config's deepspeed_config_file if it names one, else from its zero_stage (accelerate's default 2)
    and offload_param_device keys. `stage` is always present."""
    from clinical_mpt.errors import ConfigError

    path = os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE", "")
    if path and path.lower() != "none":
        try:
            zero = json.loads(open(path, encoding="utf-8").read()).get("zero_optimization", {})
        except (OSError, ValueError, AttributeError) as e:
            raise ConfigError(f"deepspeed_config_file {path}: cannot be read as a DeepSpeed JSON config ({e})") from None
        if not isinstance(zero, dict):
            raise ConfigError(f"deepspeed_config_file {path}: zero_optimization must be an object")
        zero = {k: v for k, v in zero.items() if v != "auto"}
    else:
        zero = {"stage": os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "2")}
        offload = os.environ.get("ACCELERATE_DEEPSPEED_OFFLOAD_PARAM_DEVICE", "none").lower()
        if offload == "cpu":
            zero["offload_param"] = {"device": "cpu", "pin_memory": True}
        elif offload != "none":
            raise ConfigError(f"offload_param_device: {offload} needs an nvme_path: give a deepspeed_config_file "
                              "with zero_optimization.offload_param (https://www.deepspeed.ai/docs/config-json/)")
    stage = zero.get("stage", 0)
    if str(stage) not in ("0", "1", "2", "3") or isinstance(stage, bool):
        raise ConfigError(f"DeepSpeed zero stage {stage!r}: must be 0, 1, 2 or 3")
    zero["stage"] = int(stage)
    return zero


def zero3_requested() -> bool:
    """True under `accelerate launch` with a DeepSpeed ZeRO stage 3 config (the backbone is partitioned)."""
    return deepspeed_requested() and deepspeed_zero_config()["stage"] == 3


def shard_layers(model) -> None:
    """FSDP2: shard each frozen decoder layer's weights over the ranks (one `fully_shard` unit per layer)."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    from clinical_mpt.errors import ConfigError
    from clinical_mpt.modeling import decoder

    layers = getattr(decoder(model), "layers", None)
    if layers is None:
        raise ConfigError(f"FSDP: {type(model).__name__} has no decoder `layers` list to shard; use ddp.yaml")
    accelerator()  # the process group
    mesh = init_device_mesh(device().type, (world_size(),))
    for layer in layers:
        fully_shard(layer, mesh=mesh)
    if is_main():
        local = sum(p.to_local().numel() for layer in layers for p in layer.parameters())
        total = sum(p.numel() for layer in layers for p in layer.parameters())
        print(f"FSDP: {len(layers)} decoder layers sharded over {world_size()} processes "
              f"({local:,} of their {total:,} weights on this rank)", flush=True)


def partition_zero3(model) -> None:
    """DeepSpeed ZeRO-3: partition every weight of the frozen `model` over the ranks (no optimizer).

    Trace-based prefetching is switched off: clinical-mpt calls the decoder and the LM head directly
    (not the model's top module, whose hook would reset DeepSpeed's per-step module trace), so each
    module's weights are gathered on demand, in forward and again in backward."""
    import deepspeed
    import torch

    accelerator()  # the process group, which DeepSpeed then uses
    dtype = next(model.parameters()).dtype
    zero = {"stage3_param_persistence_threshold": 0, **deepspeed_zero_config(), "stage": 3}  # every weight
    conf = {"train_micro_batch_size_per_gpu": 1, "zero_optimization": zero,
            "bf16": {"enabled": dtype == torch.bfloat16}, "fp16": {"enabled": dtype == torch.float16}}
    engine, *_ = deepspeed.initialize(model=model, config=conf, dist_init_required=False)
    offload = getattr(engine.optimizer, "parameter_offload", engine.optimizer)
    hook = getattr(offload, "fwd_pre_hook", None)
    if hook is not None:
        hook.remove()
    _ZERO3_ENGINES.append(engine)
    if is_main():
        local = sum(p.ds_tensor.numel() for p in model.parameters())
        total = sum(p.ds_numel for p in model.parameters())
        print(f"DeepSpeed ZeRO-3: {total:,} backbone weights partitioned over {world_size()} processes "
              f"({local:,} on this rank)", flush=True)


def sharded(model) -> bool:
    """Whether `model`'s weights are split over the ranks - FSDP2 decoder layers or DeepSpeed ZeRO-3
    partitions - so every rank must run every forward."""
    first = next(model.parameters(), None)
    if first is not None and hasattr(first, "ds_id"):
        return True
    try:
        from torch.distributed.fsdp import FSDPModule
    except ImportError:  # pragma: no cover - torch without FSDP2
        return False
    from clinical_mpt.modeling import decoder

    layers = getattr(decoder(model), "layers", None)
    return bool(layers) and isinstance(layers[0], FSDPModule)


def full_shape(param) -> tuple:
    """A weight's whole shape, also when ZeRO-3 has partitioned it (its local tensor is then empty)."""
    return tuple(getattr(param, "ds_shape", param.shape))


def whole(*params):
    """Context in which ZeRO-3-partitioned `params` hold their whole values (read-only); a no-op for
    ordinary tensors."""
    partitioned = [p for p in params if getattr(p, "ds_status", None) is not None and p.ds_status.name == "NOT_AVAILABLE"]
    if not partitioned:  # ordinary tensors, or partitioned ones already gathered (e.g. held by a module)
        return nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(partitioned, modifier_rank=None)


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
