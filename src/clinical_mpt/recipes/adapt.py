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

import torch

from clinical_mpt.errors import ConfigError
from clinical_mpt.recipes import common

HELP = "stage 3: adapt P* to each target task by training u, v (zero/few-shot too)"


def configure(parser) -> None:
    common.configure(parser)


def variant_name(acfg) -> str:
    """Folder name of an adaptation setting: full, k16-s0, k0 (zero-shot), + '-metaprompt' if P* trained."""
    name = "full" if acfg.shots is None else ("k0" if acfg.shots == 0 else f"k{acfg.shots}-s{acfg.shot_seed}")
    return name + ("-metaprompt" if acfg.train_meta_prompt else "")


def pick_shots(examples: list[dict], shots: int | None, seed: int, task: str) -> list[dict]:
    if shots is None:
        return examples
    if shots > len(examples):
        raise ConfigError(f"adapt.shots: {shots} is larger than the {len(examples)} training examples of {task}")
    return random.Random(seed).sample(examples, shots)


def init_factors(meta: dict, tasks: list[str], init_from: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial (u (1, L, r), v (1, r, d)) from the distilled source factors."""
    if init_from == "mean":
        return meta["u"].mean(0, keepdim=True), meta["v"].mean(0, keepdim=True)
    if init_from not in tasks:
        raise ConfigError(f"adapt.init_from: {init_from!r} is neither 'mean' nor a source task ({', '.join(tasks)})")
    k = tasks.index(init_from)
    return meta["u"][k:k + 1], meta["v"][k:k + 1]


def build_target_prompt(meta: dict, tasks: list[str], acfg):
    from clinical_mpt.prompts import MPTPrompt

    mpt = MPTPrompt(meta["shared"], 1, meta["u"].shape[-1])
    u, v = init_factors(meta, tasks, acfg.init_from)
    with torch.no_grad():
        mpt.u.copy_(u)
        mpt.v.copy_(v)
    mpt.shared.requires_grad_(acfg.train_meta_prompt)
    return mpt


def adapt_task(backbone, mpt, task, cfg, seed: int, log_path: Path) -> None:
    from clinical_mpt.batching import MixtureSampler, collate
    from clinical_mpt.losses import lm_loss
    from clinical_mpt.modeling import answer_hidden_and_logits

    sampler = MixtureSampler([task], [1.0], seed)
    pad = backbone.tokenizer.pad_token_id
    batch_size = min(cfg.adapt.train.batch_size, len(task.encoded))

    def loss_fn(step):
        rows, task_ids = sampler.sample(batch_size)
        _, logits, targets = answer_hidden_and_logits(backbone.model, mpt(task_ids), collate(rows, pad))
        return lm_loss(logits, targets), {}

    params = [p for p in mpt.parameters() if p.requires_grad]
    common.train(params, loss_fn, cfg.adapt.train, desc=f"adapt {task.name}", log_path=log_path)


def run_adapt(cfg, backbone, out: Path, force: bool = False) -> Path:
    from clinical_mpt.artifacts import load_artifact, save_artifact
    from clinical_mpt.batching import encode_task
    from clinical_mpt.data.suite import load_split, load_suite, select_tasks

    acfg = cfg.adapt
    folder = out / "adapt" / variant_name(acfg)
    key = common.stage_key(cfg, ("backbone", "data", "prompt", "teach", "distill", "adapt"))
    if not force and common.stage_done(folder, key):
        print(f"adapt: already done in {folder} (use --force to re-run)")
        return folder
    meta, meta_cfg = load_artifact(out / "distill", backbone.fingerprint)
    specs = select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "target", cfg.data.target_tasks)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "log.jsonl"
    log_path.unlink(missing_ok=True)
    start = time.time()
    for i, spec in enumerate(specs):
        task = load_split(cfg.data.suite, spec, "train", cfg.data.max_train_examples)
        task.examples = pick_shots(task.examples, acfg.shots, acfg.shot_seed + i, spec["name"])
        mpt = build_target_prompt(meta, meta_cfg["tasks"], acfg)
        if task.examples:
            encode_task(backbone.tokenizer, task, cfg.data.max_input_tokens, cfg.data.max_target_tokens)
            adapt_task(backbone, mpt, task, cfg, cfg.seed + i, log_path)
        tensors = {"u": mpt.u, "v": mpt.v} | ({"shared": mpt.shared} if acfg.train_meta_prompt else {})
        trainable = sum(t.numel() for t in tensors.values()) if task.examples else 0
        save_artifact(folder / spec["name"], tensors,
                      {"kind": "target", "method": "mpt", "task": spec["name"], "type": spec["type"],
                       "instruction": spec.get("instruction"), "prompt_length": cfg.prompt.length,
                       "rank": meta["u"].shape[-1], "variant": variant_name(acfg), "shots": acfg.shots,
                       "train_examples": len(task.examples), "trainable_parameters": trainable,
                       "task_parameters": sum(t.numel() for t in tensors.values()),
                       "init_from": acfg.init_from, "train_meta_prompt": acfg.train_meta_prompt},
                      backbone.fingerprint)
    common.mark_done(folder, key, time.time() - start, tasks=[s["name"] for s in specs])
    return folder


def main(args) -> int:
    cfg, out = common.setup(args)
    common.seed_everything(cfg.seed)
    run_adapt(cfg, common.load_backbone_for(cfg), out, args.force)
    return 0
