"""results.csv: one row per (method, setting, task), for spreadsheets and plotting elsewhere.

Columns (CSV_COLUMNS): method, setting ("full" or the number of shots k), task, type, metric,
score (full data: the score; k-shot: the mean over seeds), std (k-shot: population std over seeds;
empty for full data), n_seeds, trainable_parameters, trainable_fraction, bytes_per_task.
Rows follow the report's method order, then full data before k ascending, then the task columns' order.
"""

from __future__ import annotations

import csv
import io

from clinical_mpt.report.tables import method_order, task_columns

CSV_COLUMNS = ("method", "setting", "task", "type", "metric", "score", "std", "n_seeds",
               "trainable_parameters", "trainable_fraction", "bytes_per_task")


def csv_rows(results: dict) -> list[dict]:
    """The rows of results.csv as dicts keyed by CSV_COLUMNS (numbers kept as numbers; std None for full data)."""
    methods = results["methods"]
    order = [c.task for c in task_columns(results)] + [c.task for c in task_columns(results, few_shot=True)]
    rank = {t: order.index(t) for t in order}
    rows = []
    for name in method_order(methods):
        m = methods[name]
        cost = {k: m[k] for k in ("trainable_parameters", "trainable_fraction", "bytes_per_task")}
        for task in sorted(m["tasks"], key=rank.__getitem__):
            t = m["tasks"][task]
            rows.append({"method": name, "setting": "full", "task": task, "type": t["type"], "metric": t["metric"],
                         "score": t["score"], "std": None, "n_seeds": 1, **cost})
        for k in sorted(m["shots"], key=int):
            tasks = m["shots"][k]["tasks"]
            for task in sorted(tasks, key=rank.__getitem__):
                t = tasks[task]
                rows.append({"method": name, "setting": k, "task": task, "type": t["type"], "metric": t["metric"],
                             "score": t["score"], "std": t["std"], "n_seeds": len(t["scores"]), **cost})
    return rows


def to_csv(rows: list[dict]) -> str:
    """CSV text with a header line; None becomes an empty cell, floats keep full precision."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in CSV_COLUMNS})
    return buf.getvalue()
