"""Choose a method's learning rate on the dev split (never on test).

For each learning rate and target task: train the method exactly as `evaluate` does (same data,
steps, seed; full data or k-shot), then measure the mean token loss of the gold answers on the
task's dev split. The best learning rate is the one with the lowest mean dev loss over the tasks.
MPT methods need the run folder's distilled meta-prompt (`clinical-mpt distill` first). Trainings go
to OUT/sweeps/<method>/lr<LR>/ so the run's own prompts are never touched. A later sweep of the same
method, tasks and training config adds its rates to the record.

A rate sets every learning-rate field of the method (mpt-full-prompt: adapt.train.lr, adapt.lr_vectors
and adapt.lr_meta_prompt). `--lr-field` sweeps one parameter group alone, the others kept at the
config's values: e.g. P*'s rate with u, v's fixed. Each field's sweep has its own record and folder.

    clinical-mpt sweep CONFIG --method pt --lr 0.03 --lr 0.1 --lr 0.3 [--task NAME ...] [--shots K]
      -> OUT/sweeps/<method>[-k<K>].json  {"method", "criterion", "lrs": {lr: {task: loss, "mean": loss}}, "best_lr"}
    clinical-mpt sweep CONFIG --method mpt-full-prompt --lr-field adapt.lr_meta_prompt --lr 0.03 --lr 0.3
      -> OUT/sweeps/mpt-full-prompt[-k<K>]@adapt.lr_meta_prompt.json  (its "fields" name the swept field)
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from clinical_mpt.methods.table import TABLE, TRAINABLE
from clinical_mpt.protocol import Setting, method_key, with_lr, with_target_steps
from clinical_mpt.recipes import common

DEV_EXAMPLES = 32


def configure(parser) -> None:
    import argparse

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__
    parser.add_argument("config", metavar="CONFIG", help="YAML run config (see configs/)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="override config fields, e.g. baselines.pt.steps=50")
    parser.add_argument("--out", help="the run folder (default: the config's `out`); MPT methods read its distill/")
    parser.add_argument("--method", required=True, help=", ".join(TRAINABLE))
    parser.add_argument("--lr", type=float, action="append", required=True, metavar="LR",
                        help="a learning rate to try (repeat the flag for several)")
    parser.add_argument("--task", action="append", metavar="NAME",
                        help="a target task to sweep on (repeatable; default: the config's targets)")
    parser.add_argument("--shots", type=int, metavar="K", help="sweep the K-shot setting instead of full data")
    parser.add_argument("--lr-field", action="append", metavar="PATH", dest="lr_fields",
                        help="sweep only this learning-rate field of the method, the others at the config's values "
                             "(repeatable; e.g. adapt.lr_meta_prompt; default: every lr field of the method)")


def dev_loss(fitted, dev, pad_id: int, batch_size: int) -> float:
    """Mean token cross-entropy of the gold answers of the encoded `dev` task under `fitted`, through the
    forward its method trained with (the early-stopping loss): the deep prefix through the KV cache, the
    input-level prompt through `inputs_embeds`, or neither (LoRA, full fine-tuning, zero-shot)."""
    import torch

    from clinical_mpt.deep_modeling import one_prompt_forward
    from clinical_mpt.methods.base import dev_loss_fn

    prompt_fn, forward = one_prompt_forward(fitted.prompt, fitted.prefix)
    with torch.no_grad():
        return dev_loss_fn(fitted.model, prompt_fn, dev, pad_id, batch_size, forward)()


def earlier_lrs(path: Path, record: dict) -> dict:
    """The learning rates of an earlier sweep of the same method, setting, tasks and training config
    (`path`), so a sweep can be extended with more rates; {} if there is none or it differs."""
    import json

    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    keys = ("method", "setting", "fields", "tasks", "dev_examples_per_task", "config_key")
    same = all(old.get(k) == record[k] for k in keys)
    return old.get("lrs", {}) if same else {}


def swept(fields: list[str] | None) -> str:
    """The names' suffix of a sweep of some lr fields only: "@<field>[+<field>]", or "" (every field)."""
    return "@" + "+".join(fields) if fields else ""


def run_sweep(cfg, backbone, out: Path, method: str, lrs: list[float], tasks: list[str] | None,
              shots: int | None, fields: list[str] | None = None) -> dict:
    from clinical_mpt.batching import encode_task
    from clinical_mpt.data.jsonl import write_json
    from clinical_mpt.data.suite import load_split, load_suite, select_tasks
    from clinical_mpt.recipes.fit import fit_or_load, method_context

    fields = list(dict.fromkeys(fields)) if fields else None
    with_lr(cfg, method, 0.0, fields)  # an untrainable or unknown method or field: the error that lists the choices
    specs = select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "target", tasks or cfg.data.target_tasks)
    if shots and cfg.protocol.shot_steps:
        cfg = with_target_steps(cfg, cfg.protocol.shot_steps)
    setting = Setting(shots, cfg.seed)
    tok = backbone.tokenizer
    results: dict = {}
    for lr in lrs:
        run_cfg = with_lr(cfg, method, lr, fields)
        depth = TABLE[method].meta_prompt  # the meta-prompt the method starts from (input, deep), or None
        ctx = method_context(run_cfg, backbone, out, need_meta=depth is not None, depths=(depth,))
        ctx = dataclasses.replace(ctx, out=out / "sweeps" / (method + swept(fields)) / f"lr{lr:g}")
        losses = {}
        for i, spec in enumerate(specs):
            fitted = fit_or_load(ctx, method, spec, setting, cfg.seed + i)  # the seed `evaluate` uses
            dev = encode_task(tok, load_split(cfg.data.suite, spec, "dev", DEV_EXAMPLES),
                              cfg.data.max_input_tokens, cfg.data.max_target_tokens)
            losses[spec["name"]] = round(dev_loss(fitted, dev, tok.pad_token_id, cfg.eval.batch_size), 4)
            print(f"  {method} lr {lr:g} {spec['name']:<26} dev loss {losses[spec['name']]:.4f}", flush=True)
        losses["mean"] = round(sum(losses.values()) / len(specs), 4)
        results[f"{lr:g}"] = losses
    record = {"method": method, "setting": setting.name, "fields": fields or list(TABLE[method].lr_fields),
              "criterion": "mean token loss of the gold answers on the dev split",
              "dev_examples_per_task": DEV_EXAMPLES, "tasks": [s["name"] for s in specs], "lrs": results,
              "config_key": method_key(with_lr(cfg, method, 0.0, fields), method)}
    name = f"{method}{'' if shots is None else f'-k{shots}'}{swept(fields)}"
    path = out / "sweeps" / f"{name}.json"
    record["lrs"] = earlier_lrs(path, record) | results
    best = min(record["lrs"], key=lambda k: record["lrs"][k]["mean"])
    record["best_lr"] = float(best)
    write_json(path, record)
    print(f"\n{name}: best lr {best} (mean dev loss {record['lrs'][best]['mean']:.4f}"
          f" over {len(record['lrs'])} rates); wrote {path}")
    return record


def main(args) -> int:
    from clinical_mpt.config import load_config

    started = time.time()
    cfg = load_config(args.config, args.overrides)
    out = Path(args.out or cfg.out)  # the run folder: read (meta-prompt), never rewritten
    with_lr(cfg, args.method, 0.0, args.lr_fields)  # a bad method or field fails before the backbone loads
    out.mkdir(parents=True, exist_ok=True)   # OUT/sweeps reuses finished trainings and dev losses by key
    common.check_run_data(cfg, out, [args.method], args.task or cfg.data.target_tasks)
    common.seed_everything(cfg.seed)
    run_sweep(cfg, common.load_backbone_for(cfg), out, args.method, args.lr, args.task, args.shots, args.lr_fields)
    print(f"sweep finished in {time.time() - started:.0f}s")
    return 0
