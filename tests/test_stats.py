"""Bootstrap intervals: hand-computed cases and the properties an interval must have."""

from __future__ import annotations

import numpy as np
import pytest

from clinical_mpt import stats
from clinical_mpt.tasks import get_task_type


def mean_metric(values):
    values = np.asarray(values, dtype=float)
    return lambda idx: float(values[idx].mean())


def test_percentile_interval_hand_computed():
    # numpy's linear interpolation: the 2.5th percentile of 0..100 is 2.5, the 97.5th is 97.5
    assert stats.percentile_interval(range(101)) == pytest.approx([2.5, 97.5])
    assert stats.percentile_interval([3.0] * 10) == [3.0, 3.0]


def test_constant_scores_give_a_point_interval():
    out = stats.bootstrap_ci(mean_metric([1.0] * 20), 20)
    assert out == {"score": 1.0, "std": 0.0, "ci95": [1.0, 1.0], "n": 20}


def test_one_example_cannot_vary():
    out = stats.bootstrap_ci(mean_metric([0.4]), 1, resamples=50)
    assert out["ci95"] == [0.4, 0.4]


def test_interval_of_a_mean_matches_the_textbook_width():
    # accuracy 0.5 on n=400: the bootstrap sd of the mean is ~sqrt(.25/400) = 0.025, 95 % half-width ~0.049
    rng = np.random.default_rng(1)
    values = rng.permutation([1.0] * 200 + [0.0] * 200)
    out = stats.bootstrap_ci(mean_metric(values), 400, resamples=2000)
    lo, hi = out["ci95"]
    assert lo < 0.5 < hi
    assert 0.08 < hi - lo < 0.118


def test_fixed_seed_is_reproducible_and_seed_matters():
    m = mean_metric(np.random.default_rng(0).random(30))
    assert stats.bootstrap_ci(m, 30) == stats.bootstrap_ci(m, 30)
    assert stats.bootstrap_ci(m, 30, seed=1)["ci95"] != stats.bootstrap_ci(m, 30, seed=2)["ci95"]


def test_intervals_shrink_with_n():
    widths = []
    for n in (20, 80, 320):
        values = np.arange(n) % 2
        lo, hi = stats.bootstrap_ci(mean_metric(values), n)["ci95"]
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2] > 0


def test_entity_f1_interval_is_micro_over_the_resample():
    """The resampled score is the micro F1 of the drawn examples, not the mean of per-example F1."""
    ner = get_task_type("ner")
    gold = [{"id": "a", "entities": [{"type": "Drug", "text": f"d{i}"} for i in range(9)]},
            {"id": "b", "entities": [{"type": "Drug", "text": "x"}]}]
    preds = [{"id": "a", "entities": [{"type": "Drug", "text": f"d{i}"} for i in range(9)]},
             {"id": "b", "entities": []}]
    metric = stats.task_metric(ner, gold, preds)
    # micro: tp 9, gold 10, pred 9 -> P 1, R .9, F1 18/19; a mean of per-example F1 would be 0.5
    assert metric(np.array([0, 1])) == pytest.approx(18 / 19)
    assert metric(np.array([0, 0, 1])) == pytest.approx(36 / 37)  # tp 18, gold 19, pred 18: P 1, R 18/19
    assert metric(np.array([1, 1])) == 0.0


@pytest.mark.parametrize("type_,gold,preds", [
    ("mcqa", [{"answer": "A"}, {"answer": "B"}, {"answer": "C"}], [{"answer": "A"}, {"answer": "C"}, {"answer": "C"}]),
    ("qa", [{"answers": ["500 mg"]}, {"answers": ["po"]}, {"answers": ["daily"]}],
     [{"answer": "500 mg"}, {"answer": "by mouth"}, {"answer": "once daily"}]),
])
def test_mean_of_examples_fast_path_equals_rescoring(type_, gold, preds):
    tt = get_task_type(type_)
    fast = stats.task_metric(tt, gold, preds)
    for idx in ([0, 1, 2], [2, 2, 0], [1, 1, 1], [0, 2, 2, 1]):
        exact = tt.score([gold[i] for i in idx], [preds[i] for i in idx])[tt.primary_metric]
        assert fast(np.array(idx)) == pytest.approx(exact)


@pytest.mark.parametrize("type_,gold,preds", [
    ("ner", [{"entities": [{"type": "Drug", "text": "aspirin"}, {"type": "Dose", "text": "81 mg"}]},
             {"entities": []}, {"entities": [{"type": "Drug", "text": "heparin"}]}],
     [{"entities": [{"type": "drug", "text": "Aspirin."}]}, {"entities": [{"type": "Drug", "text": "x"}]},
      {"entities": []}]),
    ("re", [{"relations": [{"type": "Dose-Drug", "head": {"text": "81 mg"}, "tail": {"text": "aspirin"}}]},
            {"relations": []}],
     [{"relations": [{"type": "Dose-Drug", "head": {"text": "81 mg"}, "tail": {"text": "aspirin"}}]},
      {"relations": [{"type": "Dose-Drug", "head": {"text": "a"}, "tail": {"text": "b"}}]}]),
])
def test_micro_f1_fast_path_equals_rescoring(type_, gold, preds):
    tt = get_task_type(type_)
    fast = stats.task_metric(tt, gold, preds)
    for idx in ([0, 1], [1, 1], [0, 0, 1], [1], [0, 1, 1, 0], list(range(len(gold)))):
        exact = tt.score([gold[i] for i in idx], [preds[i] for i in idx])["f1"]
        assert fast(np.array(idx)) == pytest.approx(exact)


def test_average_over_tasks_resamples_each_task():
    grid = [[mean_metric([1.0] * 10)], [mean_metric([0.0] * 5 + [1.0] * 5)]]
    out = stats.average_ci(grid, [10, 10])
    assert out["score"] == 0.75 and out["std"] == 0.0
    lo, hi = out["ci95"]
    assert 0.5 <= lo < 0.75 < hi <= 1.0


def test_kshot_mean_std_over_seeds():
    # one task, three seeds with constant scores 0.2, 0.4, 0.6: mean .4, population std sqrt(.08/3)
    grid = [[mean_metric([v] * 8) for v in (0.2, 0.4, 0.6)]]
    out = stats.average_ci(grid, [8])
    assert out["score"] == pytest.approx(0.4)
    assert out["std"] == pytest.approx(np.std([0.2, 0.4, 0.6]))
    lo, hi = out["ci95"]  # only the seeds vary: the interval lies within [0.2, 0.6] and is not a point
    assert 0.2 <= lo < hi <= 0.6


def test_a_method_against_itself_has_delta_zero():
    rng = np.random.default_rng(0)
    grid = [[mean_metric(rng.random(30)) for _ in range(3)] for _ in range(4)]
    assert stats.paired_delta(grid, grid, [30] * 4) == {"delta": 0.0, "ci95": [0.0, 0.0]}


def test_a_clearly_better_method_has_an_interval_above_zero():
    rng = np.random.default_rng(0)
    base = [rng.random(50) < 0.5 for _ in range(3)]
    a = [[mean_metric(b | (rng.random(50) < 0.4))] for b in base]  # right wherever b is, and more
    b = [[mean_metric(x)] for x in base]
    out = stats.paired_delta(a, b, [50] * 3)
    assert out["delta"] > 0.1
    assert 0 < out["ci95"][0] < out["delta"] < out["ci95"][1]


def test_pairing_narrows_the_interval():
    """Two methods that differ on few examples: the paired interval is far narrower than the
    difference of two independent intervals would suggest."""
    rng = np.random.default_rng(3)
    x = rng.random(100)
    y = x.copy()
    y[:5] += 0.2
    out = stats.paired_delta([[mean_metric(y)]], [[mean_metric(x)]], [100])
    single = stats.bootstrap_ci(mean_metric(x), 100)["ci95"]
    assert out["ci95"][1] - out["ci95"][0] < (single[1] - single[0]) / 3
    assert out["ci95"][0] >= 0


def test_bad_grids_are_refused():
    m = mean_metric([1.0])
    with pytest.raises(ValueError, match="one n per task"):
        stats.average_ci([[m]], [1, 1])
    with pytest.raises(ValueError, match="same, non-zero number of seeds"):
        stats.average_ci([[m], [m, m]], [1, 1])
    with pytest.raises(ValueError, match="same seeds"):
        stats.paired_delta([[m, m]], [[m]], [1])
