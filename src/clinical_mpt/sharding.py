"""Splitting the frozen backbone's weights over the ranks of a launch: FSDP2 layers or DeepSpeed ZeRO-3.

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
they are averaged by `distributed`, with clinical-mpt's own optimizer.
"""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from pathlib import Path

from clinical_mpt import distributed
from clinical_mpt.errors import ConfigError
from clinical_mpt.hf_compat import decoder, remove_zero3_step_hook

_ZERO3_ENGINES: list = []  # the DeepSpeed engines that own the partitioned backbones (kept alive)


def fsdp_requested() -> bool:
    """True under `accelerate launch` with an FSDP config (it sets ACCELERATE_USE_FSDP)."""
    return distributed.launched() and os.environ.get("ACCELERATE_USE_FSDP", "").lower() in ("1", "true")


def deepspeed_requested() -> bool:
    """True under `accelerate launch` with a DeepSpeed config (it sets ACCELERATE_USE_DEEPSPEED)."""
    return distributed.launched() and os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() in ("1", "true")


def deepspeed_zero_config() -> dict:
    """The launch's DeepSpeed `zero_optimization` section, "auto" values dropped: from the accelerate
    config's deepspeed_config_file if it names one, else from its zero_stage (accelerate's default 2)
    and offload_param_device keys. `stage` is always present."""
    path = os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE", "")
    if path and path.lower() != "none":
        try:
            zero = json.loads(Path(path).read_text(encoding="utf-8")).get("zero_optimization", {})
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


def shard_backbone(model, quantized: bool) -> None:
    """Split the frozen `model` as the launch asks (FSDP layers, ZeRO-3 partitions), or leave it whole."""
    fsdp, zero3 = fsdp_requested(), zero3_requested()
    if (fsdp or zero3) and quantized:
        raise ConfigError("backbone.load_in: quantized weights cannot be sharded with FSDP or ZeRO-3; "
                          "use load_in: none")
    if fsdp:
        shard_layers(model)
    elif zero3:
        partition_zero3(model)
    elif deepspeed_requested() and distributed.is_main():
        print(f"DeepSpeed ZeRO stage {deepspeed_zero_config()['stage']} partitions optimizer state and gradients, "
              "which here are only the prompts': running as plain data parallelism (stage 3 partitions the backbone)",
              flush=True)


def shard_layers(model) -> None:
    """FSDP2: shard each frozen decoder layer's weights over the ranks (one `fully_shard` unit per layer)."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    layers = getattr(decoder(model), "layers", None)
    if layers is None:
        raise ConfigError(f"FSDP: {type(model).__name__} has no decoder `layers` list to shard; use ddp.yaml")
    distributed.accelerator()  # the process group
    mesh = init_device_mesh(distributed.device().type, (distributed.world_size(),))
    for layer in layers:
        fully_shard(layer, mesh=mesh)
    if distributed.is_main():
        local = sum(p.to_local().numel() for layer in layers for p in layer.parameters())
        total = sum(p.numel() for layer in layers for p in layer.parameters())
        print(f"FSDP: {len(layers)} decoder layers sharded over {distributed.world_size()} processes "
              f"({local:,} of their {total:,} weights on this rank)", flush=True)


def partition_zero3(model) -> None:
    """DeepSpeed ZeRO-3: partition every weight of the frozen `model` over the ranks (no optimizer).

    Trace-based prefetching is switched off: clinical-mpt calls the decoder and the LM head directly
    (not the model's top module, whose hook would reset DeepSpeed's per-step module trace), so each
    module's weights are gathered on demand, in forward and again in backward."""
    import deepspeed
    import torch

    distributed.accelerator()  # the process group, which DeepSpeed then uses
    dtype = next(model.parameters()).dtype
    zero = {"stage3_param_persistence_threshold": 0, **deepspeed_zero_config(), "stage": 3}  # every weight
    conf = {"train_micro_batch_size_per_gpu": 1, "zero_optimization": zero,
            "bf16": {"enabled": dtype == torch.bfloat16}, "fp16": {"enabled": dtype == torch.float16}}
    engine, *_ = deepspeed.initialize(model=model, config=conf, dist_init_required=False)
    remove_zero3_step_hook(engine)
    _ZERO3_ENGINES.append(engine)
    if distributed.is_main():
        local = sum(p.ds_tensor.numel() for p in model.parameters())
        total = sum(p.ds_numel for p in model.parameters())
        print(f"DeepSpeed ZeRO-3: {total:,} backbone weights partitioned over {distributed.world_size()} processes "
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
