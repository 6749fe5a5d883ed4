"""Stage 3: adapt the meta-prompt to each unseen target task by training only u, v (optionally P*).

u, v start from the mean of the source tasks' factors (or one named source task); P* is kept frozen
unless `adapt.train_meta_prompt: true`. `adapt.shots: k` trains on k seeded examples per task;
`adapt.shots: 0` is zero-shot (no training: the initial prompt is evaluated as is).

    clinical-mpt adapt CONFIG [--out DIR]   ->   DIR/adapt/<variant>/<task>/{config.json, prompt.safetensors}
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from clinical_mpt.errors import ConfigError
from clinical_mpt.recipes import common


def configure(parser) -> None:
    common.configure(parser)


def setting_name(shots: int | None, seed: int) -> str:
    """full (all training data), k0 (zero-shot) or k16-s0 (16 examples drawn with seed 0)."""
    return "full" if shots is None else ("k0" if shots == 0 else f"k{shots}-s{seed}")


def variant_name(shots: int | None, seed: int, train_meta_prompt: bool) -> str:
    return setting_name(shots, seed) + ("-metaprompt" if train_meta_prompt else "")


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


def adapt_one(ctx, spec: dict, shots: int | None, seed: int, train_meta_prompt: bool, folder: Path):
    """Train (or load, when already saved with the same config) one target prompt; -> Fitted."""
    from clinical_mpt import distributed
    from clinical_mpt.artifacts import load_artifact, save_artifact
    from clinical_mpt.methods import mpt as mpt_method
    from clinical_mpt.methods.base import Fitted

    cfg, bb = ctx.cfg, ctx.backbone
    key = common.stage_key(cfg, ("backbone", "data", "prompt", "teach", "distill")) + \
        f"-{shots}-{seed}-{train_meta_prompt}-{common.stage_key(cfg, ('adapt',))}"
    if (folder / "config.json").is_file():
        tensors, meta_cfg = load_artifact(folder, bb.fingerprint)
        if meta_cfg.get("key") == key:
            shared = tensors.get("shared", ctx.meta["shared"])
            prompt = shared * (tensors["u"][0] @ tensors["v"][0])
            return Fitted(bb.model, prompt, meta_cfg["trainable_parameters"], 4 * meta_cfg["task_parameters"],
                          tensors)
    task = load_target_train(cfg, bb.tokenizer, spec, shots, seed)
    fitted = mpt_method.fit(ctx, task, seed, folder.parent / "log.jsonl", train_meta_prompt)
    if not distributed.is_main():
        distributed.barrier()  # rank 0 saves
        return fitted
    save_artifact(folder, fitted.tensors,
                  {"kind": "target", "method": "mpt-full-prompt" if train_meta_prompt else "mpt",
                   "task": spec["name"], "type": spec["type"], "instruction": spec.get("instruction"),
                   "prompt_length": cfg.prompt.length, "rank": ctx.meta["u"].shape[-1],
                   "variant": folder.parent.name, "shots": shots, "seed": seed,
                   "train_examples": len(task.examples), "trainable_parameters": fitted.trainable_parameters,
                   "task_parameters": sum(t.numel() for t in fitted.tensors.values()),
                   "init_from": cfg.adapt.init_from, "train_meta_prompt": train_meta_prompt, "key": key},
                  bb.fingerprint)
    distributed.barrier()
    return fitted


def method_context(cfg, backbone, out: Path, need_meta: bool = True, resume: bool = False):
    from clinical_mpt.artifacts import load_artifact
    from clinical_mpt.methods import MethodContext

    ctx = MethodContext(backbone, cfg, out, resume=resume)
    if need_meta:
        ctx.meta, meta_cfg = load_artifact(out / "distill", backbone.fingerprint)
        ctx.meta_tasks = meta_cfg["tasks"]
    return ctx


def run_adapt(cfg, backbone, out: Path, force: bool = False, resume: bool = False) -> Path:
    from clinical_mpt import distributed
    from clinical_mpt.data.suite import load_suite, select_tasks

    acfg = cfg.adapt
    folder = out / "adapt" / variant_name(acfg.shots, acfg.shot_seed, acfg.train_meta_prompt)
    if force and folder.exists() and distributed.is_main():
        for cfg_file in folder.glob("*/config.json"):
            cfg_file.unlink()
    distributed.barrier()
    ctx = method_context(cfg, backbone, out, resume=resume)
    specs = select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "target", cfg.data.target_tasks)
    start = time.time()
    for i, spec in enumerate(specs):
        seed = cfg.seed if acfg.shots is None else acfg.shot_seed  # as `evaluate` does for the same setting
        adapt_one(ctx, spec, acfg.shots, seed + i, acfg.train_meta_prompt, folder / spec["name"])
    print(f"adapt: {len(specs)} target prompts in {folder} ({time.time() - start:.0f}s)")
    return folder


def main(args) -> int:
    return common.stage_main(args, run_adapt)
