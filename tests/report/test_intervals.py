"""The report's intervals table, paired-differences table and majority row (report/intervals.py)."""

from __future__ import annotations

from clinical_mpt.report import intervals, tables
from clinical_mpt.report.markdown import render_report


def measured(results: dict) -> dict:
    """The fixture results with the fields `evaluate` now writes: ci95s, paired, majority, mode."""
    for m in results["methods"].values():
        for t in m["tasks"].values():
            t["ci95"] = [t["score"] - 0.05, t["score"] + 0.05]
        if m["average"] is not None:
            m["average_ci95"] = [m["average"] - 0.02, m["average"] + 0.02]
    tasks = list(next(m for m in results["methods"].values() if m["tasks"])["tasks"])
    results["majority"] = {"tasks": {t: {"score": 0.25} for t in tasks}, "average": 0.25}
    results["paired"] = [{"a": "mpt", "b": "pt", "setting": "full", "delta": 0.031, "ci95": [0.012, 0.05],
                          "tasks": 5, "seeds": 1},
                         {"a": "mpt", "b": "lora", "setting": "k16", "delta": -0.01, "ci95": [-0.04, 0.02],
                          "tasks": 5, "seeds": 2}]
    results["classification"] = "rank"
    results["bootstrap"] = {"resamples": 1000, "seed": 0}
    return results


def test_format_interval():
    assert intervals.format_interval([0.41, 0.5234]) == "0.410–0.523"
    assert intervals.format_interval(None) == "–"


def test_no_intervals_no_section(results):
    assert intervals.interval_table(results) is None and intervals.paired_table(results) is None
    assert "Intervals and paired differences" not in render_report(results, {})
    assert all(row[0] != "Majority answer" for row in tables.main_table(results).rows)


def test_interval_and_paired_tables(results):
    results = measured(results)
    ci = intervals.interval_table(results)
    mpt = next(row for row in ci.rows if row[0] == tables.method_label("mpt"))
    avg = results["methods"]["mpt"]["average"]
    assert mpt[-1] == f"{avg - 0.02:.3f}–{avg + 0.02:.3f}"
    paired = intervals.paired_table(results)
    assert paired.rows[0][4:] == ["+0.031", "0.012–0.050", "A better"]
    assert paired.rows[1][2:] == ["k16", "5 × 2", "-0.010", "-0.040–0.020", "no (interval holds 0)"]


def test_majority_row_in_the_main_table(results):
    results = measured(results)
    row = tables.main_table(results).rows[-1]
    assert row[0] == "Majority answer" and row[1] == "0.250" and row[-3] == "0.250"


def test_report_shows_the_measurements(results):
    text = render_report(measured(results), {})
    assert "## Intervals and paired differences" in text and "### Paired differences" in text
    assert "1000 resamples, seed 0" in text and "scored by rank" in text and "Majority answer" in text
