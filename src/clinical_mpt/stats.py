"""Bootstrap confidence intervals for task scores, averages over tasks, k-shot settings, and paired
differences between two methods (docs/method.md, "Measurement").

Everything here is a pure function of numbers or of a *metric*: a function `metric(idx) -> float`
that recomputes a task's corpus-level score on the test examples `idx` (an int array, with
repetitions). Recomputing is what makes an interval honest for corpus-level metrics: entity F1 is
micro over the resampled set (summed counts), macro-F1 is over the resampled labels; neither is a
mean of per-example scores. `task_metric` builds one from a task type's own `score`.

Definitions (all with `resamples` = 1000 and a fixed `seed` by default):
- `bootstrap_ci`: draw n of the n test examples with replacement, rescore, repeat; the 95 % interval is
  the 2.5th and 97.5th percentiles of the rescored values (percentile bootstrap).
- `average_ci`: a method's average over tasks. Each resample draws every task's examples
  independently (and, with several seeds, draws the seeds with replacement: a cell's score is the mean
  over the drawn seeds), then averages over tasks.
- `paired_delta`: average(a) - average(b) where both methods are rescored on the SAME drawn examples
  and seeds in every resample; the interval is the percentiles of those paired differences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95

Metric = Callable[[np.ndarray], float]  # metric(example indices (n',) with repeats) -> corpus score


def percentile_interval(values: Sequence[float], level: float = LEVEL) -> list[float]:
    """[lo, hi]: the (1 - level)/2 and (1 + level)/2 percentiles of `values` (linear interpolation)."""
    values = np.asarray(values, dtype=float)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return [float(lo), float(hi)]


def task_metric(task_type, gold: list[dict], preds: list[dict], metric: str | None = None) -> Metric:
    """The corpus-level `metric` (default: the type's primary metric) of `preds` against `gold`
    (aligned by position) as a function of resampled example indices."""
    metric = metric or task_type.primary_metric
    if task_type.metric_is_mean:  # rescoring a resample = the mean of its examples' own scores (fast path)
        per_example = np.array([task_type.score([g], [p])[metric] for g, p in zip(gold, preds, strict=True)],
                               dtype=float)
        return lambda idx: float(per_example[idx].mean()) if len(idx) else 0.0
    keys = task_type.item_keys
    if keys is not None and metric == "f1":  # micro F1 from the resample's summed counts (fast path)
        from clinical_mpt.tasks.metrics import micro_prf

        sets = [(keys(g), keys(p)) for g, p in zip(gold, preds, strict=True)]
        counts = np.array([(len(g & p), len(g), len(p)) for g, p in sets], dtype=np.int64).reshape(-1, 3)
        return lambda idx: micro_prf(*(int(c) for c in counts[idx].sum(0)))["f1"]
    return lambda idx: float(task_type.score([gold[i] for i in idx], [preds[i] for i in idx])[metric])


def draws(ns: Sequence[int], n_seeds: int = 1, resamples: int = RESAMPLES,
          seed: int = SEED) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """The resampling plan: per resample, (seed indices (S,), [example indices (n_t,) per task t]).

    Deterministic in (ns, n_seeds, resamples, seed), so two methods scored on the same tasks get the
    same draws: that is what makes `paired_delta` paired. One seed is never resampled."""
    rng = np.random.default_rng(seed)
    plan = []
    for _ in range(resamples):
        seeds = rng.integers(0, n_seeds, n_seeds) if n_seeds > 1 else np.zeros(1, dtype=int)
        plan.append((seeds, [rng.integers(0, n, n) for n in ns]))
    return plan


def _average(grid: Sequence[Sequence[Metric]], seeds: np.ndarray, idx: list[np.ndarray]) -> float:
    """Mean over tasks of (mean over the drawn seeds of metric(drawn examples))."""
    return float(np.mean([np.mean([cells[s](i) for s in seeds]) for cells, i in zip(grid, idx, strict=True)]))


def _check_grid(grid: Sequence[Sequence[Metric]], ns: Sequence[int]) -> int:
    if not grid or len(grid) != len(ns):
        raise ValueError(f"need one list of metrics per task and one n per task; got {len(grid)} and {len(ns)}")
    n_seeds = {len(cells) for cells in grid}
    if len(n_seeds) != 1 or 0 in n_seeds:
        raise ValueError(f"every task needs the same, non-zero number of seeds; got {sorted(n_seeds)}")
    if min(ns) < 1:
        raise ValueError("every task needs at least one test example")
    return n_seeds.pop()


def bootstrap_ci(metric: Metric, n: int, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """One task, one run: {"score": metric on all n examples, "ci95": [lo, hi], "n": n}."""
    return average_ci([[metric]], [n], resamples, seed) | {"n": n}


def average_ci(grid: Sequence[Sequence[Metric]], ns: Sequence[int], resamples: int = RESAMPLES,
               seed: int = SEED) -> dict:
    """grid[t][s]: task t's metric under seed s (one seed at full data); ns[t]: task t's test size.

    -> {"score": mean over tasks of the mean over seeds on all examples, "std": population std over
    seeds of the per-seed average (0 for one seed), "ci95": [lo, hi]}."""
    n_seeds = _check_grid(grid, ns)
    full = [np.arange(n) for n in ns]
    per_seed = [_average(grid, np.array([s]), full) for s in range(n_seeds)]
    values = [_average(grid, seeds, idx) for seeds, idx in draws(ns, n_seeds, resamples, seed)]
    return {"score": float(np.mean(per_seed)), "std": float(np.std(per_seed)), "ci95": percentile_interval(values)}


def paired_delta(a: Sequence[Sequence[Metric]], b: Sequence[Sequence[Metric]], ns: Sequence[int],
                 resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """average(a) - average(b) over the same tasks, seeds and test examples (grids as in `average_ci`).

    -> {"delta": difference on all examples, "ci95": [lo, hi] of the difference, both methods rescored
    on the same drawn examples and seeds in every resample}. A method against itself gives 0, [0, 0]."""
    if _check_grid(a, ns) != _check_grid(b, ns):
        raise ValueError("paired_delta: both methods need the same seeds")
    n_seeds = len(a[0])
    full, all_seeds = [np.arange(n) for n in ns], np.arange(n_seeds)
    delta = _average(a, all_seeds, full) - _average(b, all_seeds, full)
    diffs = [_average(a, seeds, idx) - _average(b, seeds, idx) for seeds, idx in draws(ns, n_seeds, resamples, seed)]
    return {"delta": float(delta), "ci95": percentile_interval(diffs)}
