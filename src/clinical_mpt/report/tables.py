"""The report's tables as plain data (header + rows of cell strings), built from a results dict.

Pure functions: `results` is the dict of a run's results.json (layout in `report.load`). Row order is
METHOD_ORDER then any other method in results order; task columns are grouped by type in the order of
`canonical.TYPES` (NER, RE, QA, MCQA, NLI, Summarization), tasks in results order within a type.
Scores are shown with 3 decimals; the best displayed score of a column is bold (ties: all of them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from clinical_mpt.data.canonical import TYPES
from clinical_mpt.methods.table import METHOD_NAMES, ROWS

METHOD_ORDER = tuple(reversed(METHOD_NAMES))  # baselines first, MPT last: the method table read bottom-up
METHOD_LABELS = {r.name: r.label for r in ROWS}
MAJORITY = "majority"  # results.json's top-level majority-answer row, shown first in the full-data tables
MAJORITY_LABEL = "Majority / chance"
TYPE_LABELS = {"ner": "NER", "re": "RE", "qa": "QA", "mcqa": "MCQA", "nli": "NLI", "summarization": "Summarization"}
MISSING = "–"
DIGITS = 3


@dataclass(frozen=True)
class Column:
    """One target-task column: its name, task type and primary metric."""
    task: str
    type: str
    metric: str


@dataclass
class Table:
    """`header` and each row have the same length; `align` holds "l" or "r" per column."""
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    align: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- formatting

def method_label(method: str) -> str:
    return MAJORITY_LABEL if method == MAJORITY else METHOD_LABELS.get(method, method)


def full_data_rows(results: dict) -> dict:
    """The full-data table's rows: the majority row (when the run has one), then the methods."""
    return ({MAJORITY: results[MAJORITY]} if MAJORITY in results else {}) | results["methods"]


def type_label(type_: str) -> str:
    return TYPE_LABELS.get(type_, type_.upper())


def format_score(x: float | None) -> str:
    return MISSING if x is None else f"{x:.{DIGITS}f}"


def format_mean_std(mean: float, std: float, seeds: int = 2) -> str:
    """"mean ± std" over seeds; the mean alone for one seed (a std over one draw is no spread)."""
    return f"{mean:.{DIGITS}f}" if seeds <= 1 else f"{mean:.{DIGITS}f} ± {std:.{DIGITS}f}"


def shot_seeds(shot: dict) -> int:
    """How many seeds a k-shot entry {"tasks": {task: {"scores": [per seed]}}} holds (its largest task)."""
    return max((len(t.get("scores") or [0]) for t in shot["tasks"].values()), default=1)


def format_interval(ci: list | None) -> str:
    """[0.512, 0.571] -> "[0.512, 0.571]"; None -> "" (runs without intervals)."""
    return f"[{ci[0]:.{DIGITS}f}, {ci[1]:.{DIGITS}f}]" if ci else ""


def with_interval(text: str, ci: list | None) -> str:
    return f"{text} {format_interval(ci)}" if ci else text


def format_percent(fraction: float) -> str:
    """fraction x 100 with two significant digits, never in exponent form: 4.4e-6 -> "0.00044", 1.0 -> "100"."""
    p = 100 * fraction
    if p <= 0:
        return "0"
    decimals = max(0, 1 - math.floor(math.log10(p)))
    return f"{p:.{decimals}f}"


def format_count(n: float) -> str:
    """72 -> "72", 7168 -> "7.17K", 90624 -> "90.6K", 8.03e9 -> "8.03B"."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:g}"


def format_bytes(n: float) -> str:
    """288 -> "288 B", 2336 -> "2.3 KiB", 362496 -> "354.0 KiB"."""
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:g} B"


def bold_best(values: list[float | None]) -> list[bool]:
    """True where the value, rounded as displayed, equals the best rounded value of the list."""
    shown = [round(v, DIGITS) for v in values if v is not None]
    if not shown:
        return [False] * len(values)
    best = max(shown)
    return [v is not None and round(v, DIGITS) == best for v in values]


def _cells(values: list[float | None], texts: list[str]) -> list[str]:
    return [f"**{t}**" if b else t for t, b in zip(texts, bold_best(values))]


# ---------------------------------------------------------------- selections

def method_order(methods) -> list[str]:
    """METHOD_ORDER first (those present), then the others in their given order."""
    methods = list(methods)
    return [m for m in METHOD_ORDER if m in methods] + [m for m in methods if m not in METHOD_ORDER]


def _type_rank(type_: str) -> int:
    return TYPES.index(type_) if type_ in TYPES else len(TYPES)


def task_columns(results: dict, few_shot: bool = False) -> list[Column]:
    """The full-data (or, with few_shot, the k-shot) task columns, grouped by type."""
    seen: dict[str, Column] = {}
    for m in results["methods"].values():
        groups = [s["tasks"] for s in m["shots"].values()] if few_shot else [m["tasks"]]
        for tasks in groups:
            for task, entry in tasks.items():
                seen.setdefault(task, Column(task, entry["type"], entry["metric"]))
    order = list(seen)
    return sorted(seen.values(), key=lambda c: (_type_rank(c.type), c.type, order.index(c.task)))


def shot_counts(results: dict) -> list[int]:
    """Every k that some method was evaluated with, ascending."""
    return sorted({int(k) for m in results["methods"].values() for k in m["shots"]})


def _head(first: str, columns: list[Column], tail: list[str]) -> Table:
    """A table whose header names the type groups, followed by a task-name row and a metric row."""
    groups = [type_label(c.type) if i == 0 or columns[i - 1].type != c.type else "" for i, c in enumerate(columns)]
    blank = [""] * len(tail)
    return Table(header=[first, *groups, *tail],
                 rows=[["", *[c.task for c in columns], *blank], ["", *[f"*{c.metric}*" for c in columns], *blank]],
                 align=["l"] + ["r"] * (len(columns) + len(tail)))


# ---------------------------------------------------------------- tables

def main_table(results: dict) -> Table:
    """Table 2: methods x full-data task scores, Average, Trainable % and parameters per task (the
    majority row first)."""
    methods = full_data_rows(results)
    columns = task_columns(results)
    table = _head("Method", columns, ["Average", "Trainable %", "Params / task"])
    order = [m for m in [MAJORITY, *method_order(results["methods"])] if m in methods and methods[m]["tasks"]]
    grid = [[methods[m]["tasks"].get(c.task, {}).get("score") for c in columns] + [methods[m]["average"]]
            for m in order]
    texts = [[format_score(v) for v in row] for row in grid]
    for j in range(len(columns) + 1):  # bold the best of each column
        for i, cell in enumerate(_cells([row[j] for row in grid], [row[j] for row in texts])):
            texts[i][j] = cell
    for m, row in zip(order, texts):
        row[-1] = with_interval(row[-1], methods[m].get("average_ci95"))
        table.rows.append([method_label(m), *row, format_percent(methods[m]["trainable_fraction"]),
                           format_count(methods[m]["trainable_parameters"])])
    return table


def task_interval_table(results: dict) -> Table:
    """methods x full-data tasks: each score's 95 % bootstrap interval over test examples, with n."""
    methods = results["methods"]
    columns = task_columns(results)
    table = _head("Method", columns, [])
    for m in method_order(methods):
        tasks = methods[m]["tasks"]
        if not any("ci95" in e for e in tasks.values()):
            continue
        cells = [format_interval(e.get("ci95")) or format_score(e["score"]) if (e := tasks.get(c.task)) else MISSING
                 for c in columns]
        table.rows.append([method_label(m), *cells])
    ns = [next((m["tasks"][c.task]["metrics"].get("n") for m in methods.values()
                if c.task in m["tasks"] and isinstance(m["tasks"][c.task].get("metrics"), dict)), None)
          for c in columns]
    table.rows.append(["n (test examples)", *[MISSING if n is None else str(n) for n in ns]])
    return table


def verdict(ci: list) -> str:
    """What a paired interval of a - b says: a better, b better, or no difference shown."""
    if ci[0] > 0:
        return "A better"
    if ci[1] < 0:
        return "B better"
    return "not separated"


def setting_label(setting: str) -> str:
    """"full" -> "full data", "k16" -> "k = 16"."""
    return f"k = {setting[1:]}" if setting[:1] == "k" and setting[1:].isdigit() else setting.replace("full", "full data")


def paired_table(results: dict) -> Table:
    """The paired bootstrap differences of average scores, A - B, with 95 % intervals."""
    table = Table(header=["A", "B", "Setting", "A − B", "95 % CI", "Verdict"], align=["l", "l", "l", "r", "r", "l"])
    for e in results.get("paired", []):
        table.rows.append([method_label(e["a"]), method_label(e["b"]), setting_label(e["setting"]),
                           f"{e['delta']:+.{DIGITS}f}", format_interval(e["ci95"]), verdict(e["ci95"])])
    return table


def fewshot_table(results: dict) -> Table:
    """methods x k: the mean ± std over seeds of the average over tasks; best mean per k in bold."""
    methods = results["methods"]
    ks = shot_counts(results)
    order = [m for m in method_order(methods) if methods[m]["shots"]]
    table = Table(header=["Method", *[f"k = {k}" for k in ks]], align=["l"] + ["r"] * len(ks))
    shots = [[methods[m]["shots"].get(str(k)) for k in ks] for m in order]
    texts = [[with_interval(format_mean_std(s["average"], s["std"], shot_seeds(s)), s.get("ci95")) if s else MISSING
              for s in row] for row in shots]
    for j in range(len(ks)):
        means = [row[j]["average"] if row[j] else None for row in shots]
        for i, cell in enumerate(_cells(means, [row[j] for row in texts])):
            texts[i][j] = cell
    table.rows = [[method_label(m), *row] for m, row in zip(order, texts)]
    return table


def fewshot_task_table(results: dict) -> Table:
    """One row per (method, k): mean ± std over seeds per task, and of the average over tasks."""
    methods = results["methods"]
    columns = task_columns(results, few_shot=True)
    table = _head("Method, k", columns, ["Average"])
    for m in method_order(methods):
        for k in sorted(methods[m]["shots"], key=int):
            shot = methods[m]["shots"][k]
            n = shot_seeds(shot)
            cells = [format_mean_std(t["score"], t["std"], n) if (t := shot["tasks"].get(c.task)) else MISSING
                     for c in columns]
            table.rows.append([f"{method_label(m)}, k = {k}", *cells, format_mean_std(shot["average"], shot["std"], n)])
    return table


def params_table(results: dict) -> Table:
    """Parameter accounting: trainable parameters, fraction of the backbone, bytes stored per task."""
    methods = results["methods"]
    table = Table(header=["Method", "Config name", "Trainable params / task", "Trainable %", "Bytes / task"],
                  align=["l", "l", "r", "r", "r"])
    for m in method_order(methods):
        e = methods[m]
        table.rows.append([method_label(m), f"`{m}`", f"{e['trainable_parameters']:,}",
                           format_percent(e["trainable_fraction"]), format_bytes(e["bytes_per_task"])])
    return table
