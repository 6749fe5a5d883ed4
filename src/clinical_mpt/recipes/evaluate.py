"""Train every method of the config on every target task, generate, score, write results.json.

The methods (methods/table.py) share the splits, templates, generation settings and metrics. The runs
(method, setting) come from `protocol` (protocol.runs): full data and/or k-shot for each k and seed.
Every method trains through recipes/fit.py's `fit_or_load`: MPT prompts live in
DIR/adapt/<variant>/<task> (reused when `adapt` made them), the others' in DIR/targets/<method>/<setting>/;
a (method, setting, task) already scored with the same config (protocol.method_key) is not redone.

    clinical-mpt evaluate CONFIG [--out DIR]
      -> DIR/eval/<method>/<setting>/<task>/{predictions.jsonl, metrics.json}, DIR/results.json
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from pathlib import Path

from clinical_mpt.protocol import Setting, method_key, parse_setting, runs, with_target_steps
from clinical_mpt.recipes import common


def configure(parser) -> None:
    common.configure(parser)


def evaluate_one(ctx, method: str, spec: dict, setting: Setting, seed: int, force: bool) -> dict:
    """Train + predict + score one (method, setting, task); cached in metrics.json by config key.
    Under a launch every rank trains, predicts its slice of the examples, and rank 0 writes."""
    from clinical_mpt import distributed, sharding
    from clinical_mpt.data.jsonl import write_json, write_jsonl
    from clinical_mpt.data.suite import load_split
    from clinical_mpt.predict import predict_task
    from clinical_mpt.ranking import can_rank, rank_task
    from clinical_mpt.recipes.fit import fit_or_load

    if setting.shots and ctx.cfg.protocol.shot_steps:  # k-shot trainings may run fewer steps
        ctx = dataclasses.replace(ctx, cfg=with_target_steps(ctx.cfg, ctx.cfg.protocol.shot_steps))
    cfg = ctx.cfg
    folder = ctx.out / "eval" / method / setting.name / spec["name"]
    key = method_key(cfg, method) + f"-{method}-{setting.name}"
    if not force and (folder / "metrics.json").is_file():
        cached = json.loads((folder / "metrics.json").read_text())
        if cached.get("key") == key:
            return cached
    start = time.time()
    fitted = fit_or_load(ctx, method, spec, setting, seed)
    task = load_split(cfg.data.suite, spec, cfg.eval.split, cfg.data.max_eval_examples)
    runner = dataclasses.replace(ctx.backbone, model=fitted.model)
    sharded = sharding.sharded(fitted.model)  # sharded layers: every rank generates every row, in step
    mine = task if sharded else dataclasses.replace(task, examples=distributed.shard_rows(task.examples))
    ranked = cfg.eval.classification == "rank" and can_rank(spec["type"])  # nli/mcqa: rank the options
    predict = rank_task if ranked else predict_task
    preds = predict(runner, fitted.prompt, mine, cfg.eval.batch_size, cfg.data.max_input_tokens,
                    desc=f"{method} {setting.name} {spec['name']}", prefix=fitted.prefix)
    preds = preds if sharded else distributed.gather_rows(preds)
    metrics = task.task_type.score(task.examples, preds)
    primary = task.task_type.primary_metric
    record = {"key": key, "method": method, "setting": setting.name, "task": spec["name"], "type": spec["type"],
              "metric": primary, "score": metrics[primary], "metrics": metrics,
              "classification": "rank" if ranked else "generate",
              "trainable_parameters": fitted.trainable_parameters, "bytes_per_task": fitted.bytes_per_task,
              "training": fitted.info.get("training", {}), "seconds": round(time.time() - start, 1)}
    if distributed.is_main():
        write_jsonl(folder / "predictions.jsonl", preds)
        write_json(folder / "metrics.json", record)
        print(f"  {method:<16} {setting.name:<10} {spec['name']:<26} {primary:<9} {metrics[primary]:.3f}", flush=True)
    distributed.barrier()
    return record


def aggregate(records: list[dict], backbone_params: int) -> dict:
    """Per method: parameter accounting, full-data scores per task + average, k-shot mean/std."""
    methods: dict = {}
    for r in records:
        m = methods.setdefault(r["method"], {"trainable_parameters": 0, "bytes_per_task": 0, "tasks": {},
                                             "average": None, "shots": {}})
        m["trainable_parameters"] = max(m["trainable_parameters"], r["trainable_parameters"])
        m["bytes_per_task"] = max(m["bytes_per_task"], r["bytes_per_task"])
        entry = {"type": r["type"], "metric": r["metric"], "score": r["score"], "metrics": r["metrics"],
                 "training": r.get("training", {})}
        group = parse_setting(r["setting"]).group
        if group == "full":
            m["tasks"][r["task"]] = entry
        else:
            shot = m["shots"].setdefault(group, {"tasks": {}})["tasks"].setdefault(
                r["task"], {"type": r["type"], "metric": r["metric"], "scores": [], "steps_run": []})
            shot["scores"].append(r["score"])
            shot["steps_run"].append((r.get("training") or {}).get("steps_run"))
    for m in methods.values():
        m["trainable_fraction"] = m["trainable_parameters"] / backbone_params
        if m["tasks"]:
            m["average"] = statistics.fmean(t["score"] for t in m["tasks"].values())
        for shot in m["shots"].values():
            for t in shot["tasks"].values():
                t["score"] = statistics.fmean(t["scores"])
                t["std"] = statistics.pstdev(t["scores"])
            per_seed = list(zip(*[t["scores"] for t in shot["tasks"].values()]))  # averages per seed
            seed_avgs = [statistics.fmean(s) for s in per_seed]
            shot["average"] = statistics.fmean(seed_avgs)
            shot["std"] = statistics.pstdev(seed_avgs)
    return methods


def compute_seconds(out: Path, records: list[dict]) -> float:
    """The recorded time of the whole run: the teach and distill stages of both meta-prompt depths (their
    stage.json) plus every (method, setting, task) training + evaluation, whenever and in whichever process it ran."""
    from clinical_mpt.methods.table import META_PROMPT_DEPTHS
    from clinical_mpt.protocol import distill_dir, teachers_dir

    stages = 0.0
    for folder in [f(out, d) for d in META_PROMPT_DEPTHS for f in (teachers_dir, distill_dir)]:
        try:
            stages += float(json.loads((folder / "stage.json").read_text()).get("seconds", 0))
        except (OSError, ValueError):
            pass
    return round(stages + sum(float(r.get("seconds", 0)) for r in records), 1)


def write_results(cfg, backbone, out: Path, methods: dict, seconds: float, compute: float | None = None,
                  measured: dict | None = None) -> dict:
    from clinical_mpt import meta_source
    from clinical_mpt.config import to_dict
    from clinical_mpt.data.jsonl import write_json
    from clinical_mpt.methods.table import NEEDS_META_PROMPT

    results = {"name": cfg.name, "backbone": {"name": cfg.backbone.name, "dtype": str(backbone.dtype).split(".")[-1],
                                            **backbone.fingerprint.to_dict()},
               "split": cfg.eval.split, "methods": methods, "config": to_dict(cfg), "seconds": round(seconds, 1)}
    if compute is not None:
        results["compute_seconds"] = compute
    results.update(measured or {})  # recipes/measure.add_measurements: paired, classification, bootstrap
    if cfg.adapt.meta_prompt and any(m in NEEDS_META_PROMPT for m in methods):  # P* distilled elsewhere: which one
        meta = meta_source.read_meta_config(cfg.adapt.meta_prompt)
        results["meta_prompt"] = {"path": cfg.adapt.meta_prompt, "identity": meta_source.identity(cfg.adapt.meta_prompt),
                                  "tasks": meta.get("tasks", []), "prompt_length": meta.get("prompt_length")}
    write_json(out / "results.json", results)
    return results


def print_table(results: dict) -> None:
    from clinical_mpt.report.tables import shot_seeds

    methods = results["methods"]
    tasks = sorted({t for m in methods.values() for t in m["tasks"]})
    print(f"\n{'method':<17}{'trainable %':>12} " + " ".join(f"{t[:12]:>12}" for t in tasks) + f"{'average':>9}")
    for name, m in methods.items():
        cells = " ".join(f"{m['tasks'][t]['score']:>12.3f}" if t in m["tasks"] else f"{'-':>12}" for t in tasks)
        avg = f"{m['average']:>9.3f}" if m["average"] is not None else f"{'-':>9}"
        print(f"{name:<17}{100 * m['trainable_fraction']:>11.4f}% {cells}{avg}")
        for k, shot in sorted(m["shots"].items(), key=lambda kv: int(kv[0])):
            seeds = shot_seeds(shot)
            spread = f" +- {shot['std']:.3f} over {seeds} seeds" if seeds > 1 else " (1 seed)"
            interval = f"  [{shot['ci95'][0]:.3f}, {shot['ci95'][1]:.3f}]" if shot.get("ci95") else ""
            print(f"  {k + '-shot':<15}{'':>12} average {shot['average']:.3f}{spread}{interval}")
    print_paired(results.get("paired") or [])


def print_paired(paired: list[dict]) -> None:
    """results.json's paired deltas (recipes/measure.py): average(a) - average(b) with its 95 % interval."""
    if not paired:
        return
    print("\npaired difference of averages (same tasks, examples and seeds), 95 % bootstrap interval")
    width = max(len(p["a"] + " - " + p["b"]) for p in paired) + 2
    for p in paired:
        lo, hi = p["ci95"]
        verdict = f"{p['a']} higher" if lo > 0 else f"{p['b']} higher" if hi < 0 else "the interval includes 0"
        print(f"  {p['a'] + ' - ' + p['b']:<{width}}{p['setting']:<6} {p['delta']:+.3f}  [{lo:+.3f}, {hi:+.3f}]  "
              f"{p['tasks']} tasks x {p['seeds']} seed{'s' if p['seeds'] != 1 else ''}: {verdict}")


def run_evaluate(cfg, backbone, out: Path, force: bool = False, started: float | None = None,
                 resume: bool = False) -> dict:
    from clinical_mpt import distributed
    from clinical_mpt.data.suite import load_suite, select_tasks
    from clinical_mpt.recipes.fit import method_context

    ctx = method_context(cfg, backbone, out, resume=resume)  # the meta-prompts (input, deep) the methods start from
    specs = select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "target", cfg.data.target_tasks)
    records = []
    for method, setting in runs(cfg):
        for i, spec in enumerate(specs):  # task i trains with seed setting.seed + i
            records.append(evaluate_one(ctx, method, spec, setting, setting.seed + i, force))

    methods = aggregate(records, backbone.num_parameters)
    if not distributed.is_main():
        return {"methods": methods}
    from clinical_mpt.recipes.measure import add_measurements

    measured = add_measurements(methods, cfg, out, specs, records)  # ci95s; majority, paired
    results = write_results(cfg, backbone, out, methods, time.time() - (started or time.time()),
                            compute_seconds(out, records), measured)
    print_table(results)
    return results


def main(args) -> int:
    if (code := common.launch_or_plan(args)) is not None:
        return code
    started = time.time()
    cfg, out = common.setup(args)
    common.seed_everything(cfg.seed)
    run_evaluate(cfg, common.load_backbone_for(cfg), out, args.force, started, args.resume)
    print(f"\nwrote {out / 'results.json'}")
    return 0
