"""Intervals, paired differences and the majority row for results.json (docs/method.md, "Measurement").

Reads what `evaluate` wrote (RUN/eval/<method>/<setting>/<task>/predictions.jsonl) and the suite's
gold splits, and adds to the aggregated `methods` (see recipes/evaluate.aggregate):

    methods[m]["tasks"][t]["ci95"]                 bootstrap over the task's test examples
    methods[m]["average_ci95"]                     each task resampled independently, then averaged
    methods[m]["shots"][k]["tasks"][t]["ci95"]     over seeds and examples; shots[k]["ci95"] likewise
and at the top level:
    "majority": the majority-answer row, laid out as a method (tasks[t]: type, metric, score, metrics,
                answer); not a method, so it is not under "methods"
    "paired":   [{"a", "b", "setting", "delta", "ci95", "tasks", "seeds"}]   paired bootstrap of
                average(a) - average(b)
    "classification": eval.classification ("rank" | "generate")

Every interval is a percentile bootstrap with stats.RESAMPLES resamples and seed stats.SEED.

    results.update(add_measurements(methods, cfg, out, specs, records))  # methods = aggregate(records)
"""

from __future__ import annotations

from pathlib import Path

from clinical_mpt import stats


def setting_shots(setting: str) -> str | None:
    """'full' -> None; 'k16-s0' -> '16' (the key of methods[m]['shots'])."""
    return None if setting == "full" else setting[1:].split("-")[0]


def load_cells(out: Path, cfg, specs: list[dict], records: list[dict]) -> tuple[dict, dict, dict]:
    """-> (cells {(method, setting, task): Metric}, gold sizes {task: n}, gold {task: TaskData}) from
    the predictions.jsonl of each of this run's records (never a stale folder of an earlier config)."""
    from clinical_mpt.data.jsonl import read_jsonl
    from clinical_mpt.data.suite import load_split
    from clinical_mpt.tasks import align_predictions

    gold = {s["name"]: load_split(cfg.data.suite, s, cfg.eval.split, cfg.data.max_eval_examples) for s in specs}
    cells = {}
    for r in records:
        data = gold[r["task"]]
        path = out / "eval" / r["method"] / r["setting"] / r["task"] / "predictions.jsonl"
        preds = align_predictions(data.type, data.examples, read_jsonl(path))
        cells[(r["method"], r["setting"], r["task"])] = stats.task_metric(data.task_type, data.examples, preds)
    return cells, {t: len(d.examples) for t, d in gold.items()}, gold


def grid(cells: dict, method: str, shots: str | None, tasks: list[str]) -> tuple[list[list], list[str]] | None:
    """(grid[t][s] of `method` over `tasks` and the setting names (seeds) in order), or None when a
    task lacks a seed another has."""
    settings = sorted({s for (m, s, _) in cells if m == method and setting_shots(s) == shots})
    rows = [[cells.get((method, s, t)) for s in settings] for t in tasks]
    if not settings or any(c is None for row in rows for c in row):
        return None
    return rows, settings


def add_intervals(methods: dict, cells: dict, ns: dict) -> None:
    """ci95 per task and per average, full data and k-shot, in place."""
    for name, m in methods.items():
        tasks = sorted(m["tasks"])
        for t in tasks:
            m["tasks"][t]["ci95"] = stats.bootstrap_ci(cells[(name, "full", t)], ns[t])["ci95"]
        if tasks and (g := grid(cells, name, None, tasks)):
            m["average_ci95"] = stats.average_ci(g[0], [ns[t] for t in tasks])["ci95"]
        for k, shot in m["shots"].items():
            for t, entry in shot["tasks"].items():
                g1 = grid(cells, name, k, [t])
                if g1:
                    entry["ci95"] = stats.average_ci(g1[0], [ns[t]])["ci95"]
            g = grid(cells, name, k, sorted(shot["tasks"]))
            if g:
                shot["ci95"] = stats.average_ci(g[0], [ns[t] for t in sorted(shot["tasks"])])["ci95"]


def paired_entries(methods: dict, cells: dict, ns: dict) -> list[dict]:
    """Paired deltas of each method that starts from P* against each paired reference of the method
    table (pt, lora), at full data and every k both ran,
    over the tasks and seeds both have."""
    from clinical_mpt.methods.table import PAIRED_REFERENCES, TABLE

    entries = []
    for a in (m for m in TABLE if TABLE[m].needs_meta_prompt and m in methods):
        for b in (m for m in PAIRED_REFERENCES if m in methods):
            for shots in [None, *sorted(set(methods[a]["shots"]) & set(methods[b]["shots"]), key=int)]:
                tasks = sorted({t for (m, s, t) in cells if m == a and setting_shots(s) == shots}
                               & {t for (m, s, t) in cells if m == b and setting_shots(s) == shots})
                ga, gb = grid(cells, a, shots, tasks), grid(cells, b, shots, tasks)
                if not tasks or not ga or not gb or ga[1] != gb[1]:
                    continue
                out = stats.paired_delta(ga[0], gb[0], [ns[t] for t in tasks])
                entries.append({"a": a, "b": b, "setting": "full" if shots is None else f"k{shots}",
                                "delta": out["delta"], "ci95": out["ci95"], "tasks": len(tasks), "seeds": len(ga[1])})
    return entries


def majority_row(cfg, specs: list[dict], gold: dict) -> dict:
    """Each target task's majority baseline (most frequent training answer) on the evaluated split, in
    the layout of a method (the report's tables show it as their first row)."""
    from clinical_mpt.data.suite import load_split
    from clinical_mpt.majority import majority_baseline

    tasks = {}
    for spec in specs:
        train = load_split(cfg.data.suite, spec, "train").examples
        data = gold[spec["name"]]
        row = majority_baseline(data.task_type, train, data.examples)
        tasks[spec["name"]] = {"type": spec["type"], "metric": row["metric"], "score": row["score"],
                               "metrics": row["metrics"], "answer": row["answer"]}
    scores = [t["score"] for t in tasks.values()]
    return {"trainable_parameters": 0, "trainable_fraction": 0.0, "bytes_per_task": 0, "tasks": tasks,
            "average": sum(scores) / len(scores) if scores else None, "shots": {}}


def add_measurements(methods: dict, cfg, out: Path, specs: list[dict], records: list[dict]) -> dict:
    """Add the intervals to `methods` (in place) and return results.json's new top-level keys: `majority`,
    `paired`, `classification` and `bootstrap` (how the intervals were drawn).
    `records`: the run's (method, setting, task) records that `methods` aggregates."""
    cells, ns, gold = load_cells(Path(out), cfg, specs, records)
    add_intervals(methods, cells, ns)
    paired = paired_entries(methods, cells, ns)
    return {"majority": majority_row(cfg, specs, gold), "paired": paired, "classification": cfg.eval.classification,
            "bootstrap": {"resamples": stats.RESAMPLES, "seed": stats.SEED, "interval": "percentile, 95 %"}}
