"""An entry's scores against its task's majority baseline (clinical_mpt.majority).

An entry's config.json may carry, beside `metrics` ({split: {metric: value}}),
    "majority": {split: {"answer": "neutral", "metric": "macro_f1", "score": 0.167}}
the majority baseline of its task on the same splits. A prompt whose primary score is at or below
that baseline has learned nothing the label distribution does not give: `library add` warns,
`library list` and `/v1/tasks` flag it, and `library add --min-score X` refuses it (and any entry
below X, or with no recorded score).

    status = baseline_status(config)   # {"split", "metric", "score", "majority", "below"} or None
"""

from __future__ import annotations

from pathlib import Path

SPLITS = ("test", "dev")  # compared in this order: the first split with both a score and a baseline


def majority_record(suite: str | Path, task: str, splits: tuple[str, ...] = SPLITS) -> dict:
    """{split: {"answer", "metric", "score"}} of `task`'s majority baseline in the suite folder, for
    each split it has; {} when the suite or the task cannot be found (the entry then has no baseline)."""
    import json

    from clinical_mpt.data.suite import load_split, split_path
    from clinical_mpt.errors import ClinicalMPTError
    from clinical_mpt.majority import majority_baseline

    path = Path(suite) / "suite.json"
    try:
        specs = {t["name"]: t for t in json.loads(path.read_text(encoding="utf-8"))["tasks"]}
        spec = specs[task]
        data = {split: load_split(suite, spec, split) for split in ("train", *splits)
                if split_path(suite, spec, split).is_file()}
    except (OSError, ValueError, KeyError, TypeError, ClinicalMPTError):
        return {}
    if "train" not in data or not data["train"].examples:
        return {}
    train, out = data.pop("train"), {}
    for split, test in data.items():
        if test.examples:
            row = majority_baseline(train.task_type, train.examples, test.examples)
            out[split] = {"answer": row["answer"], "metric": row["metric"], "score": row["score"]}
    return out


def baseline_status(config: dict, splits: tuple[str, ...] = SPLITS) -> dict | None:
    """The first of `splits` (test, then dev) where the entry has both its primary score and a majority
    baseline: {"split", "metric", "score", "majority", "below": score <= majority}; None if none."""
    from clinical_mpt.tasks import get_task_type

    metric = get_task_type(config["type"]).primary_metric
    metrics, majority = config.get("metrics") or {}, config.get("majority") or {}
    for split in splits:
        score = (metrics.get(split) or {}).get(metric)
        base = (majority.get(split) or {}).get("score")
        if isinstance(score, (int, float)) and isinstance(base, (int, float)):
            return {"split": split, "metric": metric, "score": float(score), "majority": float(base),
                    "below": score <= base}
    return None


def primary_score(config: dict) -> tuple[str, float] | None:
    """(split, primary score) from the entry's metrics (test first, then dev, then any), or None."""
    from clinical_mpt.tasks import get_task_type

    metric = get_task_type(config["type"]).primary_metric
    metrics = config.get("metrics") or {}
    for split in (*SPLITS, *sorted(set(metrics) - set(SPLITS))):
        value = (metrics.get(split) or {}).get(metric) if isinstance(metrics.get(split), dict) else None
        if isinstance(value, (int, float)):
            return split, float(value)
    return None


def refusal(config: dict, min_score: float) -> str | None:
    """Why `library add --min-score min_score` refuses this entry, or None when it passes."""
    score = primary_score(config)
    if score is None:
        return "no recorded score (its metrics are empty)"
    status = baseline_status(config)
    if status and status["below"]:
        return (f"{status['split']} {status['metric']} {status['score']:.3f} is at or below the majority "
                f"baseline {status['majority']:.3f}")
    if score[1] < min_score:
        return f"{score[0]} score {score[1]:.3f} is below --min-score {min_score:g}"
    return None


def warning(config: dict, splits: tuple[str, ...] = SPLITS) -> str | None:
    """The `library add` / `library list` / `library score` warning for an entry at or below its
    baseline on the first of `splits` that has both numbers, or None."""
    status = baseline_status(config, splits)
    if not status or not status["below"]:
        return None
    answer = ((config.get("majority") or {}).get(status["split"]) or {}).get("answer")
    return (f"{config['task']}: {status['split']} {status['metric']} {status['score']:.3f} is at or below the "
            f"majority baseline {status['majority']:.3f} (always answering {answer!r}); this prompt has not "
            "learned the task")
