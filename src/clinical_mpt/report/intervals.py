"""The report's measurement tables: 95 % bootstrap intervals per task and average, the paired
differences between methods, both as `tables.Table` (docs/method.md, "Measurement").

Pure functions of a results dict; each returns None when the results carry no such numbers (runs
written before intervals existed), so the report simply leaves the section out.
"""

from __future__ import annotations

from clinical_mpt.report.tables import DIGITS, MISSING, Table, _head, method_label, method_order, task_columns


def format_interval(ci) -> str:
    """[0.41, 0.52] -> "0.410–0.520"; anything else -> "–"."""
    if not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return MISSING
    return f"{ci[0]:.{DIGITS}f}–{ci[1]:.{DIGITS}f}"


def format_delta(delta: float) -> str:
    return f"{delta:+.{DIGITS}f}"


def interval_table(results: dict) -> Table | None:
    """methods x full-data tasks: the 95 % interval of each score, and of the average."""
    methods = results["methods"]
    order = [m for m in method_order(methods) if any("ci95" in t for t in methods[m]["tasks"].values())]
    if not order:
        return None
    columns = task_columns(results)
    table = _head("Method", columns, ["Average"])
    for m in order:
        cells = [format_interval(methods[m]["tasks"].get(c.task, {}).get("ci95")) for c in columns]
        table.rows.append([method_label(m), *cells, format_interval(methods[m].get("average_ci95"))])
    return table


def paired_table(results: dict) -> Table | None:
    """One row per paired comparison: A, B, setting, tasks x seeds, Δ = A − B, its 95 % interval, and
    whether the interval excludes 0."""
    paired = results.get("paired") or []
    if not paired:
        return None
    table = Table(header=["A", "B", "Setting", "Tasks × seeds", "Δ average (A − B)", "95 % interval", "Resolved"],
                  align=["l", "l", "l", "r", "r", "r", "l"])
    for p in paired:
        lo, hi = p["ci95"]
        verdict = "A better" if lo > 0 else ("B better" if hi < 0 else "no (interval holds 0)")
        table.rows.append([method_label(p["a"]), method_label(p["b"]), p["setting"],
                           f"{p.get('tasks', '?')} × {p.get('seeds', '?')}", format_delta(p["delta"]),
                           format_interval(p["ci95"]), verdict])
    return table
