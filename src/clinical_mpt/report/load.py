"""Read and check a run's `results.json` (written by `clinical-mpt run` / `evaluate`).

Layout checked here (everything else in the file is passed through untouched):

    {"name", "backbone": {...}, "split", "seconds", "config": {...},
     "methods": {method: {"trainable_parameters": int, "trainable_fraction": float, "bytes_per_task": int,
                          "tasks": {task: {"type", "metric", "score": float, "metrics": {...},      # full data
                                           "ci95"?: [lo, hi]}},
                          "average": float | null, "average_ci95"?: [lo, hi],
                          "shots": {"k": {"tasks": {task: {"type", "metric", "scores": [float per seed],
                                                           "score": mean, "std": float, "ci95"?: [lo, hi]}},
                                          "average": float, "std": float, "ci95"?: [lo, hi]}}}},
     "paired"?: [{"a": method, "b": method, "setting": "full" | "k16", "delta": float, "ci95": [lo, hi]}],
     "majority"?: {the layout of a method: each task's majority answer scored with its metric}}

Keys marked ? are optional (runs made before the study protocol lack them); where present they are checked.

A missing file raises ArtifactError; invalid JSON raises DataError naming `path:line`; a wrong layout
raises ArtifactError naming the key path (`methods.mpt.tasks.med_ner.score`).
"""

from __future__ import annotations

import math
from pathlib import Path

from clinical_mpt.data.jsonl import parse_json
from clinical_mpt.errors import ArtifactError


def _fail(path: Path, where: str, what: str):
    raise ArtifactError(f"{path}: {where} {what}; is this a results.json written by `clinical-mpt run`?")


def finite(value) -> bool:
    """A JSON number (not a boolean), neither NaN nor infinite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _need(obj: dict, key: str, check, what: str, path: Path, where: str):
    if key not in obj:
        _fail(path, f"{where}.{key}" if where else key, "is missing")
    if not check(obj[key]):
        _fail(path, f"{where}.{key}" if where else key, f"must be {what}")
    return obj[key]


def interval(value) -> bool:
    """A 95 % interval: [lo, hi], two finite numbers with lo <= hi."""
    return isinstance(value, list) and len(value) == 2 and all(map(finite, value)) and value[0] <= value[1]


def _optional_interval(obj: dict, key: str, path: Path, where: str) -> None:
    if key in obj and not interval(obj[key]):
        _fail(path, f"{where}.{key}", "must be [lo, hi]: two finite numbers with lo <= hi")


def _check_task(entry, path: Path, where: str, few_shot: bool) -> None:
    if not isinstance(entry, dict):
        _fail(path, where, "must be an object")
    _need(entry, "type", lambda v: isinstance(v, str), "a string", path, where)
    _need(entry, "metric", lambda v: isinstance(v, str), "a string", path, where)
    _need(entry, "score", finite, "a finite number", path, where)
    _optional_interval(entry, "ci95", path, where)
    if few_shot:
        _need(entry, "scores", lambda v: isinstance(v, list) and v and all(map(finite, v)),
              "a non-empty list of finite numbers", path, where)
        _need(entry, "std", finite, "a finite number", path, where)


def _check_method(m, path: Path, where: str) -> None:
    if not isinstance(m, dict):
        _fail(path, where, "must be an object")
    _need(m, "trainable_parameters", finite, "a finite number", path, where)
    _need(m, "trainable_fraction", finite, "a finite number", path, where)
    _need(m, "bytes_per_task", finite, "a finite number", path, where)
    tasks = _need(m, "tasks", lambda v: isinstance(v, dict), "an object", path, where)
    for task, entry in tasks.items():
        _check_task(entry, path, f"{where}.tasks.{task}", few_shot=False)
    if m.setdefault("average", None) is not None and not finite(m["average"]):
        _fail(path, f"{where}.average", "must be a finite number or null")
    _optional_interval(m, "average_ci95", path, where)
    shots = m.setdefault("shots", {})
    if not isinstance(shots, dict):
        _fail(path, f"{where}.shots", "must be an object")
    for k, shot in shots.items():
        w = f"{where}.shots.{k}"
        if not k.isdigit():
            _fail(path, w, "must be keyed by a number of shots such as \"16\"")
        if not isinstance(shot, dict):
            _fail(path, w, "must be an object")
        for task, entry in _need(shot, "tasks", lambda v: isinstance(v, dict), "an object", path, w).items():
            _check_task(entry, path, f"{w}.tasks.{task}", few_shot=True)
        _need(shot, "average", finite, "a finite number", path, w)
        _need(shot, "std", finite, "a finite number", path, w)
        _optional_interval(shot, "ci95", path, w)


def _check_paired(paired, path: Path) -> None:
    if not isinstance(paired, list):
        _fail(path, "paired", "must be a list")
    for i, entry in enumerate(paired):
        w = f"paired[{i}]"
        if not isinstance(entry, dict):
            _fail(path, w, "must be an object")
        for key in ("a", "b", "setting"):
            _need(entry, key, lambda v: isinstance(v, str), "a string", path, w)
        _need(entry, "delta", finite, "a finite number", path, w)
        _need(entry, "ci95", interval, "[lo, hi]: two finite numbers with lo <= hi", path, w)


def check_results(results, path: Path) -> dict:
    """Raise ArtifactError naming the first key that does not have the layout above; return `results`."""
    if not isinstance(results, dict):
        _fail(path, "the top level", "must be a JSON object")
    methods = _need(results, "methods", lambda v: isinstance(v, dict) and v, "a non-empty object", path, "")
    for name, m in methods.items():
        _check_method(m, path, f"methods.{name}")
    _check_paired(results.setdefault("paired", []), path)
    if "majority" in results:
        _check_method(results["majority"], path, "majority")
    for key in ("backbone", "config"):
        if not isinstance(results.setdefault(key, {}), dict):
            _fail(path, key, "must be an object")
    return results


def load_results(run_dir: str | Path) -> dict:
    """The checked results dict of the run folder `run_dir` (which holds results.json)."""
    run_dir = Path(run_dir)
    path = run_dir / "results.json"
    if not run_dir.is_dir():
        raise ArtifactError(f"{run_dir}: no such run folder (give the --out folder of `clinical-mpt run`)")
    if not path.is_file():
        raise ArtifactError(f"{path}: not found; run `clinical-mpt run CONFIG --out {run_dir}` first "
                            "(or `clinical-mpt evaluate`) to write it")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ArtifactError(f"{path}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    return check_results(parse_json(text, str(path), whole_file=True), path)
