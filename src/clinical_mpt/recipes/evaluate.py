"""Evaluate adapted target prompts: generate answers, parse them, score them, write results.json.

    clinical-mpt evaluate CONFIG [--out DIR]
      -> DIR/eval/<method>/<task>/{predictions.jsonl, metrics.json}, DIR/results.json
"""

from __future__ import annotations

import time
from pathlib import Path

from clinical_mpt.recipes import common

HELP = "generate answers for target tasks and score them"


def configure(parser) -> None:
    common.configure(parser)


def method_name(variant: str) -> str:
    return "mpt" if variant == "full" else f"mpt@{variant}"


def evaluate_variant(cfg, backbone, out: Path, variant: str) -> dict:
    """Score every target prompt of DIR/adapt/<variant>; return the method's results entry."""
    import torch

    from clinical_mpt.artifacts import load_artifact
    from clinical_mpt.data.jsonl import write_json, write_jsonl
    from clinical_mpt.data.suite import load_split, load_suite, select_tasks
    from clinical_mpt.predict import predict_task

    meta, _ = load_artifact(out / "distill", backbone.fingerprint)
    specs = select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "target", cfg.data.target_tasks)
    tasks, trainable = {}, 0
    for spec in specs:
        tensors, tcfg = load_artifact(out / "adapt" / variant / spec["name"], backbone.fingerprint)
        shared = tensors.get("shared", meta["shared"])
        prompt = shared * torch.einsum("lr,rd->ld", tensors["u"][0], tensors["v"][0])  # P* o (U V): (L, d)
        task = load_split(cfg.data.suite, spec, cfg.eval.split, cfg.data.max_eval_examples)
        preds = predict_task(backbone, prompt, task, cfg.eval.batch_size, cfg.data.max_input_tokens)
        metrics = task.task_type.score(task.examples, preds)
        folder = out / "eval" / method_name(variant) / spec["name"]
        write_jsonl(folder / "predictions.jsonl", preds)
        write_json(folder / "metrics.json", metrics)
        primary = task.task_type.primary_metric
        tasks[spec["name"]] = {"type": spec["type"], "metric": primary, "score": metrics[primary], "metrics": metrics}
        trainable = max(trainable, tcfg["trainable_parameters"])
        print(f"  {spec['name']:<28} {primary:<10} {metrics[primary]:.3f}")
    return {
        "trainable_parameters": trainable,
        "trainable_fraction": trainable / backbone.num_parameters,
        "bytes_per_task": 4 * (tcfg["task_parameters"]),
        "tasks": tasks,
        "average": sum(t["score"] for t in tasks.values()) / max(1, len(tasks)),
    }


def write_results(cfg, backbone, out: Path, methods: dict, seconds: float) -> dict:
    from clinical_mpt.config import to_dict
    from clinical_mpt.data.jsonl import write_json

    results = {"name": cfg.name, "backbone": {"name": cfg.backbone.name, "dtype": str(backbone.dtype).split(".")[-1],
                                            **backbone.fingerprint.to_dict()},
               "split": cfg.eval.split, "methods": methods, "config": to_dict(cfg), "seconds": round(seconds, 1)}
    write_json(out / "results.json", results)
    return results


def print_table(results: dict) -> None:
    methods = results["methods"]
    tasks = sorted({t for m in methods.values() for t in m["tasks"]})
    print(f"\n{'method':<22}{'trainable %':>12}  " + "  ".join(f"{t[:14]:>14}" for t in tasks) + f"{'average':>10}")
    for name, m in methods.items():
        cells = "  ".join(f"{m['tasks'][t]['score']:>14.3f}" if t in m["tasks"] else f"{'-':>14}" for t in tasks)
        print(f"{name:<22}{100 * m['trainable_fraction']:>11.4f}%  {cells}{m['average']:>10.3f}")


def run_evaluate(cfg, backbone, out: Path, started: float | None = None) -> dict:
    from clinical_mpt.recipes.adapt import variant_name

    variant = variant_name(cfg.adapt)
    print(f"evaluate {variant} on the {cfg.eval.split} split")
    methods = {method_name(variant): evaluate_variant(cfg, backbone, out, variant)}
    results = write_results(cfg, backbone, out, methods, time.time() - (started or time.time()))
    print_table(results)
    return results


def main(args) -> int:
    cfg, out = common.setup(args)
    common.seed_everything(cfg.seed)
    run_evaluate(cfg, common.load_backbone_for(cfg), out)
    print(f"\nwrote {out / 'results.json'}")
    return 0
