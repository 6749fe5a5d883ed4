"""The experiment report of a run folder: report.md (Table 2 layout, few-shot and parameter tables),
results.csv and PNG plots, all built from DIR/results.json and the training logs.

    from clinical_mpt.report import write_report
    written = write_report("runs/quickstart")          # -> {"report.md": Path, "results.csv": Path, ...}

Modules: `load` (read and check results.json), `tables` (table data, pure), `markdown` (report.md),
`export` (results.csv), `logs` (loss curves from log.jsonl files), `plots` (matplotlib, Agg).
"""

from __future__ import annotations

from pathlib import Path

from clinical_mpt.data.jsonl import atomic_write_text
from clinical_mpt.report.export import csv_rows, to_csv
from clinical_mpt.report.load import load_results
from clinical_mpt.report.logs import collect_logs
from clinical_mpt.report.markdown import render_report

PLOTS = ("plot_tasks.png", "plot_fewshot.png", "plot_loss.png")


def write_plots(results: dict, run_dir: Path, out_dir: Path) -> tuple[dict[str, str | None], list[str]]:
    """Draw the plots into out_dir: ({file name: None if written, else why it was not}, notes)."""
    from clinical_mpt.report.plots import plot_fewshot, plot_loss, plot_tasks

    plots: dict[str, str | None] = {}
    plots["plot_tasks.png"] = None if plot_tasks(results, out_dir / "plot_tasks.png") else \
        "No full-data results, so no per-task plot."
    if plot_fewshot(results, out_dir / "plot_fewshot.png"):
        plots["plot_fewshot.png"] = None
    logs = collect_logs(run_dir)
    plots["plot_loss.png"] = None if plot_loss(logs, out_dir / "plot_loss.png", results.get("name", "")) else \
        f"No training logs (log.jsonl) found under {run_dir}, so no loss plot."
    notes = [f"{logs.skipped} unreadable log line(s) were skipped."] if logs.skipped else []
    return plots, notes


def write_report(run_dir: str | Path, out_dir: str | Path | None = None, plots: bool = True) -> dict[str, Path]:
    """Write report.md, results.csv and (unless plots=False) the PNG plots for the run folder `run_dir`
    into `out_dir` (default: run_dir). Returns {file name: path} of what was written."""
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    results = load_results(run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn, notes = write_plots(results, run_dir, out_dir) if plots else ({}, [])
    written = {name: out_dir / name for name, why in drawn.items() if why is None}
    atomic_write_text(out_dir / "results.csv", to_csv(csv_rows(results)))
    atomic_write_text(out_dir / "report.md", render_report(results, drawn, notes))
    return {"report.md": out_dir / "report.md", "results.csv": out_dir / "results.csv", **written}


__all__ = ["PLOTS", "write_plots", "write_report"]
