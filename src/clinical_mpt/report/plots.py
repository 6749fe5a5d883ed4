"""The report's PNG plots, drawn with matplotlib's Agg canvas (no display, no pyplot global state).

    plot_tasks(results, path)     grouped bars: full-data score per task (and the average) by method
    plot_fewshot(results, path)   average over tasks against k per method, ±std over seeds as error bars;
                                  zero-shot as a dashed horizontal line
    plot_loss(logs, path)         training loss: teachers, distillation (loss, lm, kl, mse), target
                                  adaptation per setting (one mean curve over tasks and seeds per method)

Each returns False (and writes nothing) when there is nothing to draw. Files are written to a
temporary name in the same folder and renamed into place, so a reader never sees half a PNG.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from clinical_mpt.data.jsonl import temp_beside
from clinical_mpt.report.logs import LossLogs, mean_curve
from clinical_mpt.report.tables import METHOD_ORDER, method_label, method_order, shot_counts, task_columns, type_label

DPI = 120
MAX_LEGEND = 8  # more teacher curves than this are drawn grey, with their mean
COLORS = ("#7f7f7f", "#9467bd", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",  # METHOD_ORDER
          "#8c564b", "#e377c2", "#bcbd22", "#17becf")


def method_color(method: str, others: list[str]) -> str:
    """A fixed colour per method, the same in every plot."""
    i = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER) + others.index(method)
    return COLORS[i % len(COLORS)]


def save_figure(fig, path: str | Path) -> None:
    """Save `fig` as a PNG at `path` atomically (temporary file in the same folder + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(path)
    try:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _others(methods) -> list[str]:
    return [m for m in methods if m not in METHOD_ORDER]


def plot_tasks(results: dict, path: str | Path) -> bool:
    """Grouped bars, one group per full-data task (grouped by type) plus "Average", one bar per method."""
    methods = results["methods"]
    columns = task_columns(results)
    order = [m for m in method_order(methods) if methods[m]["tasks"]]
    if not columns:
        return False
    labels = [f"{c.task}\n{type_label(c.type)}, {c.metric}" for c in columns] + ["Average"]
    fig = _figure(min(16.0, max(7.0, 1.1 * len(labels) + 3.5)), 4.8)
    ax = fig.add_subplot()
    width = 0.8 / len(order)
    for i, m in enumerate(order):
        values = [methods[m]["tasks"].get(c.task, {}).get("score", math.nan) for c in columns]
        values.append(methods[m]["average"] if methods[m]["average"] is not None else math.nan)
        xs = [j + (i - (len(order) - 1) / 2) * width for j in range(len(labels))]
        ax.bar(xs, values, width, label=method_label(m), color=method_color(m, _others(methods)))
    ax.axvline(len(columns) - 0.5, color="0.6", linewidth=0.8, linestyle=":")
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel("score (primary metric)")
    ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
    ax.set_title(f"{results.get('name', '')}: target tasks, full data ({results.get('split', '?')} split)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="method", title_fontsize=8)
    save_figure(fig, path)
    return True


def plot_fewshot(results: dict, path: str | Path) -> bool:
    """Average score over tasks against k (symlog x axis so k = 0 fits), ±std over seeds."""
    methods = results["methods"]
    ks = shot_counts(results)
    if not ks:
        return False
    fig = _figure(6.5, 4.5)
    ax = fig.add_subplot()
    for m in method_order(methods):
        shots = methods[m]["shots"]
        if not shots:
            continue
        kk = sorted(shots, key=int)
        ax.errorbar([int(k) for k in kk], [shots[k]["average"] for k in kk], yerr=[shots[k]["std"] for k in kk],
                    marker="o", capsize=3, label=method_label(m), color=method_color(m, _others(methods)))
    zs = methods.get("zero-shot")
    if zs and zs["average"] is not None:
        ax.axhline(zs["average"], linestyle="--", color=method_color("zero-shot", []), label="Zero-shot")
    ax.set_xscale("symlog", base=2, linthresh=1)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (training examples per task)")
    ax.set_ylabel("average score over tasks")
    ax.set_title(f"{results.get('name', '')}: few-shot, mean ± std over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)
    return True


def _line(ax, curve, **kw) -> None:
    ax.plot([s for s, _ in curve], [v for _, v in curve], **kw)


def _loss_panels(logs: LossLogs) -> list[tuple[str, dict]]:
    """[(title, {label: (curve, colour or None)})] for each subplot that has data."""
    panels = []
    if logs.teachers:
        title = f"Teachers ({len(logs.teachers)} source tasks)"
        if len(logs.teachers) <= MAX_LEGEND:
            panels.append((title, {t: (c, None) for t, c in logs.teachers.items()}))
        else:  # too many for a legend: thin grey lines ("_" labels stay out of the legend) and their mean
            curves = {f"_{t}": (c, "0.75") for t, c in logs.teachers.items()}
            panels.append((title, {**curves, "mean over teachers": (mean_curve(list(logs.teachers.values())), "k")}))
    if logs.distill:
        names = {"loss": "total", "lm": "LM", "kl": "KL (teacher ‖ student)", "mse": "MSE (hidden)"}
        panels.append(("Distillation", {names[k]: (c, None) for k, c in logs.distill.items()}))
    for group, curves in logs.targets.items():
        title = "Target adaptation, full data" if group == "full" else f"Target adaptation, k = {group}"
        others = _others(curves)
        panels.append((title + " (mean over tasks)",
                       {method_label(m): (curves[m], method_color(m, others)) for m in method_order(curves)}))
    return panels


def plot_loss(logs: LossLogs, path: str | Path, title: str = "") -> bool:
    """One subplot per stage; the distillation panel uses a log scale when its values are all positive."""
    from matplotlib.ticker import MaxNLocator

    panels = _loss_panels(logs)
    if not panels:
        return False
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = _figure(4.6 * ncols, 3.6 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (name, curves) in zip(axes, panels):
        for label, (curve, color) in curves.items():
            _line(ax, curve, label=label, color=color, marker="." if len(curve) < 30 else None)
        if name == "Distillation" and all(v > 0 for c, _ in curves.values() for _, v in c):
            ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: training loss" if title else "Training loss")
    save_figure(fig, path)
    return True
