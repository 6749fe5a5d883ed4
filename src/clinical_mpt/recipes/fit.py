"""One fit path for every method: `fit_or_load(ctx, method, spec, setting, seed) -> Fitted`.

The method's row (methods/table.py) says everything that differs between methods; this file does what
is the same for all: draw the setting's training examples, refuse a backbone-training method on a
sharded backbone, call the row's `fit`, and save its tensors as one artifact schema

    protocol.artifact_dir(OUT, method, setting)/<task>/{config.json, prompt.safetensors}
    protocol.artifact_dir(OUT, method, setting)/log.jsonl

A row with `load_prompt` (the MPT methods) reloads a saved artifact whose config key matches instead
of training again, so `adapt` and `evaluate` share the same target prompts.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from clinical_mpt import distributed, meta_source, sharding
from clinical_mpt.artifacts import load_artifact, save_artifact
from clinical_mpt.config import to_dict
from clinical_mpt.errors import ArtifactError, ConfigError
from clinical_mpt.methods.base import Fitted, MethodContext
from clinical_mpt.methods.table import BACKBONE_FREE, meta_prompt_depths, row
from clinical_mpt.protocol import Setting, artifact_dir, artifact_key, distill_dir, section


def pick_shots(examples: list[dict], shots: int | None, seed: int, task: str) -> list[dict]:
    """All examples (shots None) or k of them drawn with `seed`; k larger than the data is an error."""
    if shots is None:
        return examples
    if shots > len(examples):
        raise ConfigError(f"k-shot: {shots} is larger than the {len(examples)} training examples of {task}")
    return random.Random(seed).sample(examples, shots)


def load_target_train(cfg, tokenizer, spec: dict, shots: int | None, seed: int):
    """The (k-shot) training split of a target task, encoded."""
    from clinical_mpt.batching import encode_task
    from clinical_mpt.data.suite import load_split

    task = load_split(cfg.data.suite, spec, "train", cfg.data.max_train_examples)
    task.examples = pick_shots(task.examples, shots, seed, spec["name"])
    return encode_task(tokenizer, task, cfg.data.max_input_tokens, cfg.data.max_target_tokens)


def stops_early(cfg, method: str) -> bool:
    """Whether `method`'s training config asks for early stopping on the dev loss (`eval_every` > 0)."""
    r = row(method)
    return r.trains and section(to_dict(cfg), r.train)["eval_every"] > 0


def target_dev(cfg, tokenizer, spec: dict):
    """The target task's dev split, encoded (the early-stopping loss; all of it: never the test split)."""
    from clinical_mpt.batching import encode_task
    from clinical_mpt.data.suite import load_split

    dev = load_split(cfg.data.suite, spec, "dev", cfg.data.max_eval_examples)
    return encode_task(tokenizer, dev, cfg.data.max_input_tokens, cfg.data.max_target_tokens)


def method_context(cfg, backbone, out: Path, need_meta: bool = True, resume: bool = False,
                   depths=None) -> MethodContext:
    """What the methods share; with the run's distilled meta-prompts when `need_meta`: those of `depths`
    (default: every depth `cfg.methods` start from), OUT/distill (input) and OUT/distill-deep (deep), in
    `ctx.meta_prompts`; `ctx.meta` is the input-level one when loaded (fit_or_load gives each method its own)."""
    ctx = MethodContext(backbone, cfg, out, resume=resume)
    if need_meta:
        for depth in meta_prompt_depths(cfg.methods) if depths is None else depths:
            if depth == "input" and meta_source.given(cfg):  # adapt.meta_prompt: a P* distilled elsewhere
                tensors, meta_cfg = load_meta_prompt(cfg, backbone, out)
                ctx.meta_prompts[depth] = (tensors, meta_cfg["tasks"])
                continue
            folder = distill_dir(out, depth)
            if not (folder / "config.json").is_file():
                flag = "" if depth == "input" else f" --depth {depth}"
                raise ArtifactError(f"{folder}: no distilled {depth} meta-prompt, which the methods start from; "
                                    f"run `clinical-mpt teach CONFIG{flag}` and `clinical-mpt distill CONFIG{flag}` "
                                    "first (or `clinical-mpt run CONFIG`)")
            tensors, meta_cfg = load_artifact(folder, backbone.fingerprint)
            ctx.meta_prompts[depth] = (tensors, meta_cfg["tasks"])
        ctx = with_meta_prompt(ctx, "input")
    return ctx


def with_meta_prompt(ctx: MethodContext, depth: str | None) -> MethodContext:
    """`ctx` whose `meta`, `meta_tasks` are the loaded meta-prompt of `depth` (unchanged if it is not loaded)."""
    if depth not in ctx.meta_prompts:
        return ctx
    meta, tasks = ctx.meta_prompts[depth]
    return dataclasses.replace(ctx, meta=meta, meta_tasks=list(tasks))


def load_meta_prompt(cfg, backbone, out: Path) -> tuple[dict, dict]:
    """-> ({"shared", "u", "v"} tensors, config.json) of the run's P*, checksum- and backbone-checked."""
    folder = meta_source.meta_prompt_dir(cfg, out)
    if not meta_source.given(cfg):
        return load_artifact(folder, backbone.fingerprint)
    meta_source.check_compatible(cfg, meta_source.read_meta_config(folder), folder)
    try:
        tensors, meta_cfg = load_artifact(folder, backbone.fingerprint)
    except ArtifactError as e:
        raise ConfigError(f"adapt.meta_prompt: {e}; use a meta-prompt distilled on backbone {cfg.backbone.name!r} "
                          "or the backbone it was distilled on") from None
    if set(tensors) != meta_source.META_KEYS:
        raise ConfigError(f"adapt.meta_prompt: {folder}/{meta_source.TENSORS} holds {sorted(tensors)}, not a "
                          f"meta-prompt's {sorted(meta_source.META_KEYS)}; {meta_source.FIX}")
    return tensors, meta_cfg


def check_unsharded(method: str, model) -> None:
    """A method that trains backbone weights needs a whole private copy, which FSDP / ZeRO-3 do not give."""
    if row(method).trains_backbone and sharding.sharded(model):
        raise ConfigError(f"methods: {method} trains backbone weights and needs an unsharded copy; under FSDP or "
                          f"ZeRO-3 run the prompt methods ({', '.join(BACKBONE_FREE)}) and the weight baselines "
                          "with ddp.yaml")


def load_saved(ctx: MethodContext, method: str, folder: Path, key: str) -> Fitted | None:
    """The saved artifact in `folder` as a Fitted, when its row can reload it and its key is `key`."""
    load_prompt = row(method).load_prompt()
    if load_prompt is None or not (folder / "config.json").is_file():
        return None
    tensors, info = load_artifact(folder, ctx.backbone.fingerprint)
    if info.get("key") != key:
        return None
    return Fitted(ctx.backbone.model, load_prompt(ctx, tensors), info["trainable_parameters"],
                  info.get("bytes_per_task", 4 * info["task_parameters"]), tensors,
                  {"training": info.get("training", {})})


def artifact_config(ctx: MethodContext, method: str, spec: dict, setting: Setting, seed: int, folder: Path,
                    n_examples: int, fitted: Fitted, key: str) -> dict:
    """config.json of a target artifact: the same fields for every method, plus the method's own `info`."""
    return {"kind": "target", "method": row(method).artifact_owner, "task": spec["name"], "type": spec["type"],
            "instruction": spec.get("instruction"), "prompt_length": ctx.cfg.prompt.length,
            "variant": folder.parent.name, "shots": setting.shots, "seed": seed, "train_examples": n_examples,
            "trainable_parameters": fitted.trainable_parameters,
            "task_parameters": sum(t.numel() for t in fitted.tensors.values()),
            "bytes_per_task": fitted.bytes_per_task, **fitted.info, "key": key}


def fit_or_load(ctx: MethodContext, method: str, spec: dict, setting: Setting, seed: int) -> Fitted:
    """Train `method` on target task `spec` in `setting` with `seed` (or reload its saved artifact); rank 0
    saves the per-task tensors. Under a launch every rank trains its slice of each batch."""
    r = row(method)
    check_unsharded(method, ctx.backbone.model)
    cfg, bb = ctx.cfg, ctx.backbone
    ctx = with_meta_prompt(ctx, r.meta_prompt)  # the method's own meta-prompt: input or deep
    folder = artifact_dir(ctx.out, method, setting) / spec["name"]
    key = artifact_key(cfg, method, setting, seed)
    if (saved := load_saved(ctx, method, folder, key)) is not None:
        return saved
    task = load_target_train(cfg, bb.tokenizer, spec, setting.shots, seed)
    if not r.trains:
        task.encoded = []
    folder.parent.mkdir(parents=True, exist_ok=True)
    ctx = dataclasses.replace(ctx, dev=target_dev(cfg, bb.tokenizer, spec) if stops_early(cfg, method) else None)
    fitted = r.fit()(ctx, task, seed, folder.parent / "log.jsonl")
    if fitted.tensors and distributed.is_main():
        save_artifact(folder, fitted.tensors,
                      artifact_config(ctx, method, spec, setting, seed, folder, len(task.examples), fitted, key),
                      bb.fingerprint)
    distributed.barrier()  # rank 0 has saved
    return fitted
