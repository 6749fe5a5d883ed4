"""Train every method of the config on every target task, generate, score, write results.json.

Methods (mpt = mpt-vectors, mpt-full-prompt, pt, lora, full, zero-shot) share the splits, templates, generation
settings and metrics. Settings come from `protocol`: full data and/or k-shot for each k and seed.
MPT prompts live in DIR/adapt/<setting>/<task> (made here if `adapt` has not made them), PT prompts
in DIR/targets/pt/<setting>/<task>; a (method, setting, task) already scored with the same config is
not redone.

    clinical-mpt evaluate CONFIG [--out DIR]
      -> DIR/eval/<method>/<setting>/<task>/{predictions.jsonl, metrics.json}, DIR/results.json
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from pathlib import Path

from clinical_mpt.recipes import common


def configure(parser) -> None:
    common.configure(parser)


def settings(protocol, full_seed: int = 0) -> list[tuple[str, int | None, int]]:
    """[(setting name, shots or None, seed)] from the protocol config; full data trains with `full_seed`."""
    from clinical_mpt.recipes.adapt import setting_name

    out = [("full", None, full_seed)] if protocol.full_data else []
    for k in protocol.shots:
        for seed in ([protocol.seeds[0]] if k == 0 else protocol.seeds):
            out.append((setting_name(k, seed), k, seed))
    return out


def runs_for(method: str, shots: int | None, shot_methods: list) -> bool:
    """zero-shot is evaluated once (full setting); untrained pt/lora/full at k=0 would be meaningless."""
    if method == "zero-shot":
        return shots is None
    if shots is not None and shot_methods and method not in shot_methods:
        return False
    return shots != 0 or method.startswith("mpt")


def with_target_steps(cfg, steps: int):
    """A copy of `cfg` whose target-task trainings (adapt, pt, lora, full) all run `steps` steps."""
    b = cfg.baselines
    return dataclasses.replace(
        cfg, adapt=dataclasses.replace(cfg.adapt, train=dataclasses.replace(cfg.adapt.train, steps=steps)),
        baselines=dataclasses.replace(
            b, pt=dataclasses.replace(b.pt, steps=steps), full=dataclasses.replace(b.full, steps=steps),
            lora=dataclasses.replace(b.lora, train=dataclasses.replace(b.lora.train, steps=steps))))


def method_key(cfg, method: str) -> str:
    """Config key of one method's results: the shared sections plus that method's own settings only, so
    changing one baseline's learning rate does not redo the others."""
    import hashlib

    from clinical_mpt.config import to_dict

    base = ("backbone", "data", "prompt", "eval")
    if method.startswith("mpt"):
        return common.stage_key(cfg, base + ("teach", "distill", "adapt"))
    own = to_dict(cfg.baselines).get(method, {})  # pt, lora, full; zero-shot trains nothing
    return common.stage_key(cfg, base) + hashlib.sha256(json.dumps(own, sort_keys=True).encode()).hexdigest()[:8]


def fit_method(ctx, method: str, spec: dict, setting: str, shots, seed: int):
    from clinical_mpt import distributed, sharding
    from clinical_mpt.artifacts import save_artifact
    from clinical_mpt.methods import METHODS
    from clinical_mpt.recipes.adapt import adapt_one, load_target_train

    out = ctx.out
    if method.startswith("mpt"):
        meta = method == "mpt-full-prompt"
        return adapt_one(ctx, spec, shots, seed, meta, out / "adapt" / (setting + ("-metaprompt" if meta else "")) / spec["name"])
    if method in ("lora", "full") and sharding.sharded(ctx.backbone.model):
        from clinical_mpt.errors import ConfigError

        raise ConfigError(f"methods: {method} trains backbone weights and needs an unsharded copy; under FSDP or "
                          "ZeRO-3 run the prompt methods (mpt, pt, zero-shot) and the weight baselines with ddp.yaml")
    task = load_target_train(ctx.cfg, ctx.backbone.tokenizer, spec, shots, seed)
    if method == "zero-shot":
        task.encoded = []
    log_dir = out / "targets" / method / setting
    log_dir.mkdir(parents=True, exist_ok=True)
    fitted = METHODS[method](ctx, task, seed, log_dir / "log.jsonl")
    if fitted.tensors and distributed.is_main():
        save_artifact(log_dir / spec["name"], fitted.tensors,
                      {"kind": "target", "method": method, "task": spec["name"], "type": spec["type"],
                       "instruction": spec.get("instruction"), "prompt_length": ctx.cfg.prompt.length,
                       "shots": shots, "seed": seed, "train_examples": len(task.examples),
                       "trainable_parameters": fitted.trainable_parameters}, ctx.backbone.fingerprint)
    return fitted


def evaluate_one(ctx, method: str, spec: dict, setting: str, shots, seed: int, force: bool) -> dict:
    """Train + predict + score one (method, setting, task); cached in metrics.json by config key.
    Under a launch every rank trains, predicts its slice of the examples, and rank 0 writes."""
    from clinical_mpt import distributed, sharding
    from clinical_mpt.data.jsonl import write_json, write_jsonl
    from clinical_mpt.data.suite import load_split
    from clinical_mpt.predict import predict_task

    if shots and ctx.cfg.protocol.shot_steps:  # k-shot trainings may run fewer steps
        ctx = dataclasses.replace(ctx, cfg=with_target_steps(ctx.cfg, ctx.cfg.protocol.shot_steps))
    cfg = ctx.cfg
    folder = ctx.out / "eval" / method / setting / spec["name"]
    key = method_key(cfg, method) + f"-{method}-{setting}"
    if not force and (folder / "metrics.json").is_file():
        cached = json.loads((folder / "metrics.json").read_text())
        if cached.get("key") == key:
            return cached
    start = time.time()
    fitted = fit_method(ctx, method, spec, setting, shots, seed)
    task = load_split(cfg.data.suite, spec, cfg.eval.split, cfg.data.max_eval_examples)
    runner = dataclasses.replace(ctx.backbone, model=fitted.model)
    sharded = sharding.sharded(fitted.model)  # sharded layers: every rank generates every row, in step
    mine = task if sharded else dataclasses.replace(task, examples=distributed.shard_rows(task.examples))
    from clinical_mpt.ranking import can_rank, rank_task  # eval.classification: rank scores nli/mcqa options

    ranked = cfg.eval.classification == "rank" and can_rank(spec["type"])
    predict = rank_task if ranked else predict_task
    preds = predict(runner, fitted.prompt, mine, cfg.eval.batch_size, cfg.data.max_input_tokens,
                    desc=f"{method} {setting} {spec['name']}")
    preds = preds if sharded else distributed.gather_rows(preds)
    metrics = task.task_type.score(task.examples, preds)
    primary = task.task_type.primary_metric
    record = {"key": key, "method": method, "setting": setting, "task": spec["name"], "type": spec["type"],
              "metric": primary, "score": metrics[primary], "metrics": metrics,
              "classification": "rank" if ranked else "generate",
              "trainable_parameters": fitted.trainable_parameters, "bytes_per_task": fitted.bytes_per_task,
              "seconds": round(time.time() - start, 1)}
    if distributed.is_main():
        write_jsonl(folder / "predictions.jsonl", preds)
        write_json(folder / "metrics.json", record)
        print(f"  {method:<16} {setting:<10} {spec['name']:<26} {primary:<9} {metrics[primary]:.3f}", flush=True)
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
        entry = {"type": r["type"], "metric": r["metric"], "score": r["score"], "metrics": r["metrics"]}
        if r["setting"] == "full":
            m["tasks"][r["task"]] = entry
        else:
            k = r["setting"][1:].split("-")[0]
            m["shots"].setdefault(k, {"tasks": {}})["tasks"].setdefault(
                r["task"], {"type": r["type"], "metric": r["metric"], "scores": []})["scores"].append(r["score"])
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
    """The recorded time of the whole run: the teach and distill stages (their stage.json) plus every
    (method, setting, task) training + evaluation, whenever and in whichever process it ran."""
    stages = 0.0
    for stage in ("teachers", "distill"):
        try:
            stages += float(json.loads((out / stage / "stage.json").read_text()).get("seconds", 0))
        except (OSError, ValueError):
            pass
    return round(stages + sum(float(r.get("seconds", 0)) for r in records), 1)


def write_results(cfg, backbone, out: Path, methods: dict, seconds: float, compute: float | None = None,
                  measured: dict | None = None) -> dict:
    from clinical_mpt.config import to_dict
    from clinical_mpt.data.jsonl import write_json

    results = {"name": cfg.name, "backbone": {"name": cfg.backbone.name, "dtype": str(backbone.dtype).split(".")[-1],
                                            **backbone.fingerprint.to_dict()},
               "split": cfg.eval.split, "methods": methods, "config": to_dict(cfg), "seconds": round(seconds, 1)}
    if compute is not None:
        results["compute_seconds"] = compute
    results.update(measured or {})  # recipes/measure.add_measurements: paired, classification, bootstrap
    write_json(out / "results.json", results)
    return results


def print_table(results: dict) -> None:
    methods = results["methods"]
    tasks = sorted({t for m in methods.values() for t in m["tasks"]})
    print(f"\n{'method':<17}{'trainable %':>12} " + " ".join(f"{t[:12]:>12}" for t in tasks) + f"{'average':>9}")
    for name, m in methods.items():
        cells = " ".join(f"{m['tasks'][t]['score']:>12.3f}" if t in m["tasks"] else f"{'-':>12}" for t in tasks)
        avg = f"{m['average']:>9.3f}" if m["average"] is not None else f"{'-':>9}"
        print(f"{name:<17}{100 * m['trainable_fraction']:>11.4f}% {cells}{avg}")
        for k, shot in sorted(m["shots"].items(), key=lambda kv: int(kv[0])):
            print(f"  {k + '-shot':<15}{'':>12} average {shot['average']:.3f} +- {shot['std']:.3f}")


def run_evaluate(cfg, backbone, out: Path, force: bool = False, started: float | None = None,
                 resume: bool = False) -> dict:
    from clinical_mpt.data.suite import load_suite, select_tasks
    from clinical_mpt.methods import NEEDS_META_PROMPT
    from clinical_mpt.recipes.adapt import method_context

    ctx = method_context(cfg, backbone, out, need_meta=bool(NEEDS_META_PROMPT & set(cfg.methods)), resume=resume)
    specs = select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "target", cfg.data.target_tasks)
    records = []
    for method in cfg.methods:
        for setting, shots, seed in settings(cfg.protocol, cfg.seed):
            if runs_for(method, shots, cfg.protocol.shot_methods):
                for i, spec in enumerate(specs):
                    records.append(evaluate_one(ctx, method, spec, setting, shots, seed + i, force))
    from clinical_mpt import distributed

    methods = aggregate(records, backbone.num_parameters)
    if not distributed.is_main():
        return {"methods": methods}
    from clinical_mpt.recipes.measure import add_measurements

    measured = add_measurements(methods, cfg, out, specs, records)  # ci95s + methods["majority"]; paired
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
