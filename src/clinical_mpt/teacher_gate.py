"""The teacher-quality gate: is a trained teacher good enough to feed P* and the distillation targets?

A teacher passes when, on its task's dev split,
  - its primary score (the task's metric, scored as evaluation scores it: generation, or ranking of the
    labels/options for nli/mcqa under `eval.classification: rank`) is above the task's majority
    baseline (majority.py: the most frequent training answer, scored on the same dev examples), and
  - its loss did not diverge: the dev loss of the kept prompt is finite and not above the dev loss of
    the shared initial prompt it started from (training that makes the prompt worse on dev than where
    it started has diverged). A non-finite training loss (training.py stops on it) also counts.

`teach.gate` decides what a failing teacher does:
  off      no scoring, every teacher is used (artifacts record no metrics);
  warn     scored and named, every teacher is still used;
  exclude  scored; a failing teacher is left out of distillation (P*'s mean and the distillation tasks);
  retrain  a failing teacher is trained once more from the same initial prompt at half of `teach.lr`
           (`deep.teach_lr` for a deep teacher); if it fails again it is excluded.

Each teacher's config.json then records `metrics` {"dev", "test"} (test is scored once, for the kept
prompt, never used by the verdict: the library needs both), `majority` {"dev", "test"}, `dev_loss`
{"initial", "final"} and `gate` {"passed", "why", "mode", "attempts", "lr"}; DIR/teachers/gate.json
(DIR/teachers-deep/gate.json for the deep teachers, scored with their prefix in the cache) lists every
teacher with its dev score, baseline and verdict.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

EXCLUDING = ("exclude", "retrain")  # the modes that leave a failing teacher out of distillation


def divergence(initial: float, final: float) -> str | None:
    """Why a teacher's loss diverged, or None: the final dev loss (the kept prompt's) is not finite, or
    is above the initial dev loss (the shared initial prompt's on the same dev rows)."""
    if not math.isfinite(final):
        return f"the dev loss became {final}"
    if math.isfinite(initial) and final > initial:
        return f"the dev loss rose from {initial:.4f} (initial prompt) to {final:.4f}"
    return None


def verdict(metric: str, score: float, majority: float, diverged: str | None) -> dict:
    """{"passed", "why"}: passed when `score` is above `majority` and nothing `diverged`."""
    reasons = [f"loss diverged: {diverged}"] if diverged else []
    if not score > majority:
        reasons.append(f"dev {metric} {score:.3f} is at or below the majority baseline {majority:.3f}")
    if reasons:
        return {"passed": False, "why": "; ".join(reasons)}
    return {"passed": True, "why": f"dev {metric} {score:.3f} is above the majority baseline {majority:.3f}"}


def failed_training(error: str) -> dict:
    """The verdict of a teacher whose training loss became non-finite (its kept prompt is the initial one)."""
    return {"passed": False, "why": f"loss diverged: {error}"}


def score_split(backbone, prompt, task, cfg, prefix=None, what: str = "gate") -> dict:
    """The task type's metrics of `prompt` (L, d) on `task` (TaskData), predicted exactly as
    evaluation predicts that type (recipes/evaluate.py: ranked for nli/mcqa under
    `eval.classification: rank`, else generated); `what` names the progress bar."""
    from clinical_mpt.predict import predict_task
    from clinical_mpt.ranking import can_rank, rank_task

    predict = rank_task if cfg.eval.classification == "rank" and can_rank(task.type) else predict_task
    preds = predict(backbone, prompt, task, cfg.eval.batch_size, cfg.data.max_input_tokens,
                    desc=f"{what} {task.name}", prefix=prefix)
    return task.task_type.score(task.examples, preds)


def majority_row(train, test) -> dict:
    """{"answer", "metric", "score"} of the majority baseline of `train` (TaskData) on `test`."""
    from clinical_mpt.majority import majority_baseline

    row = majority_baseline(train.task_type, train.examples, test.examples)
    return {"answer": row["answer"], "metric": row["metric"], "score": row["score"]}


def is_used(mode: str, config: dict) -> bool:
    """Does distillation use the teacher whose artifact config is `config` under `teach.gate: mode`?
    (A teacher without a verdict, e.g. trained with the gate off, is used.)"""
    gate = config.get("gate")
    return mode not in EXCLUDING or not isinstance(gate, dict) or bool(gate.get("passed", True))


def summary_rows(folder: Path, names: list[str]) -> list[dict]:
    """One row per teacher of DIR/teachers (or DIR/teachers-deep): {"task", "metric", "dev_score", "majority", "dev_loss",
    "passed", "why", "attempts"} read from its config.json (None where it recorded nothing)."""
    rows = []
    for name in names:
        cfg = json.loads((folder / name / "config.json").read_text(encoding="utf-8"))
        gate, dev = cfg.get("gate") or {}, (cfg.get("metrics") or {}).get("dev") or {}
        majority = (cfg.get("majority") or {}).get("dev") or {}
        metric = majority.get("metric")
        rows.append({"task": name, "metric": metric, "dev_score": dev.get(metric) if metric else None,
                     "majority": majority.get("score"), "dev_loss": cfg.get("dev_loss"),
                     "passed": gate.get("passed"), "why": gate.get("why"), "attempts": gate.get("attempts")})
    return rows


def used_teachers(mode: str, folder: Path, specs: list[dict]) -> tuple[list[dict], list[dict]]:
    """(the specs of the teachers distillation uses, [{"task", "why"}] of those the gate excluded),
    read from each teacher's config.json in `folder` (DIR/teachers or DIR/teachers-deep)."""
    used, excluded = [], []
    for spec in specs:
        path = folder / spec["name"] / "config.json"  # a missing teacher is reported by load_artifact later
        cfg = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        if is_used(mode, cfg):
            used.append(spec)
        else:
            excluded.append({"task": spec["name"], "why": cfg["gate"].get("why")})
    return used, excluded
