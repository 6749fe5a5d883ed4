"""report.md: the run's header, Table 2 (full data), the few-shot tables, parameter accounting, plots.

`render_table(table) -> str` turns a `tables.Table` into a GitHub-flavoured markdown table (cells padded
so the raw file reads as a table too); `render_report(results, plots) -> str` is the whole document.
`plots` maps a plot file name (plot_tasks.png, ...) to None when it was written, else to the reason
it was not (a sentence shown instead of the image); a plot not in `plots` is not mentioned.
"""

from __future__ import annotations

import math

from clinical_mpt.report import load, tables
from clinical_mpt.report.tables import Table


def escape(cell: str) -> str:
    """Escape what would break a table or start emphasis: | and the * of names such as "MPT (P*, u, v)"."""
    return cell.replace("|", "\\|")


def _escape_label(cell: str) -> str:
    return cell.replace("P*", "P\\*")


def render_table(table: Table) -> str:
    """Markdown for `table`; columns aligned "l" or "r" (default "l")."""
    header = [escape(c) for c in table.header]
    rows = [[escape(c) for c in row] for row in table.rows]
    align = table.align or ["l"] * len(header)
    widths = [max(3, *(len(r[j]) for r in [header, *rows])) for j in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if a == "r" else c.ljust(w)
                                 for c, w, a in zip(cells, widths, align)) + " |"

    rule = "| " + " | ".join("-" * (w - 1) + ":" if a == "r" else "-" * w for w, a in zip(widths, align)) + " |"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _table(table: Table) -> str:
    for row in table.rows:
        row[0] = _escape_label(row[0])
    return render_table(table)


def _seconds(s) -> str:
    if not isinstance(s, (int, float)) or not math.isfinite(s):
        return "?"
    minutes, sec = divmod(round(s), 60)
    hours, minutes = divmod(minutes, 60)
    long = f" ({hours} h {minutes} min)" if hours else (f" ({minutes} min {sec} s)" if minutes else "")
    return f"{s:g} s{long}"


def _protocol(config: dict) -> str:
    p = config.get("protocol")
    if not isinstance(p, dict):
        return "?"
    parts = ["full data"] if p.get("full_data") else []
    if p.get("shots"):
        parts.append(f"k = {_listing(p['shots'])} (seeds {_listing(p.get('seeds', []))})")
    return "; ".join(parts) or "none"


def _listing(value) -> str:
    """[0, 4, 16] -> "0, 4, 16"; anything else as its text (the header shows what the file holds)."""
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def header(results: dict) -> list[str]:
    """The title and the run's identity: config name, backbone, dtype, split, protocol, run time.
    These fields are not checked by `load` (they only describe the run): shown as the file has them."""
    b = results.get("backbone", {})
    n = b.get("num_parameters")
    arch = ", ".join(str(x) for x in [b.get("architecture"),
                                      f"{tables.format_count(n) if load.finite(n) else n} parameters" if n is not None else None,
                                      f"hidden size {b['hidden_size']}" if b.get("hidden_size") is not None else None,
                                      f"vocabulary {b['vocab_size']}" if b.get("vocab_size") is not None else None]
                     if x is not None)
    sha = b.get("embedding_sha256")
    lines = [f"# Results: {results.get('name', '?')}", "",
             f"- **Config:** `{results.get('name', '?')}` (the full config is in `results.json` and `config.yaml`)",
             f"- **Backbone:** `{b.get('name', '?')}`" + (f" ({arch})" if arch else ""),
             f"- **dtype:** {b.get('dtype', '?')}"]
    if sha:
        lines.append(f"- **Embedding SHA-256:** `{str(sha)[:16]}…`")
    lines += [f"- **Evaluation split:** {results.get('split', '?')}",
              f"- **Protocol:** {_protocol(results.get('config', {}))}",
              f"- **Run time:** {_seconds(results.get('seconds'))} (this command)"
              + (f"; {_seconds(results['compute_seconds'])} recorded over all stages and evaluations, whenever "
                 "they ran (finished work is reused, not redone)" if "compute_seconds" in results else ""), ""]
    return lines


def _image(plots: dict, name: str, alt: str) -> list[str]:
    if name not in plots:
        return []
    return [f"![{alt}]({name})" if plots[name] is None else f"*{plots[name]}*", ""]


def full_data_section(results: dict, plots: dict) -> list[str]:
    lines = ["## Target tasks, full data", ""]
    if not any(m["tasks"] for m in results["methods"].values()):
        return lines + ["*No full-data results in this run (`protocol.full_data: false`).*", ""]
    lines += [
        _table(tables.main_table(results)), "",
        "Each score is the task's primary metric (written under its name: f1 = micro F1 over entities or "
        "relations, or token F1 for QA; accuracy; macro_f1 over the NLI labels; rougeL = ROUGE-L F) on the "
        f"{results.get('split', '?')} split. Best per column in **bold**. Average = mean over the method's tasks"
        + (", with its 95 % bootstrap interval (test examples resampled within each task)"
           if any("average_ci95" in m for m in results["methods"].values()) else "") + ". "
        "Trainable % = trainable parameters per task / backbone parameters × 100."
        + (" *Majority / chance* answers every example with the task's most frequent training label (or "
           "option letter, or answer): a method at or below it has learned nothing about the task."
           if "majority" in results else ""), ""]
    intervals = tables.task_interval_table(results)
    if len(intervals.rows) > 3:
        lines += ["### 95 % intervals per task", "", _table(intervals), "",
                  "Percentile bootstrap over the test examples of each task (the metric recomputed on each "
                  "resample).", ""]
    return lines + _image(plots, "plot_tasks.png", "Scores per task and method, full data")


def paired_section(results: dict) -> list[str]:
    if not results.get("paired"):
        return []
    return ["## Paired differences", "", _table(tables.paired_table(results)), "",
            "A − B = difference of the average scores over the target tasks on the same test examples (and, for "
            "k-shot, the same seeds and drawn examples); the 95 % interval is a paired bootstrap (the same "
            "resampled examples for both methods). *Not separated*: the interval contains 0, so this run does "
            "not tell the two apart.", ""]


def fewshot_section(results: dict, plots: dict) -> list[str]:
    lines = ["## Few-shot (k examples per task)", ""]
    if not tables.shot_counts(results):
        return lines + ["*No k-shot results in this run (`protocol.shots` is empty), so no few-shot table "
                        "or plot.*", ""]
    lines += [_table(tables.fewshot_table(results)), "",
              "Cells: mean ± standard deviation over seeds (each seed draws its own k examples) of the average "
              "over tasks (a row of one seed shows its mean alone), with its 95 % bootstrap interval where "
              "recorded; best mean per k in **bold**." +
              (" k = 0: MPT's initial prompt (P\\* with its initial u, v, see `adapt.init_from`), untrained."
               if 0 in tables.shot_counts(results) else "")]
    zs = results["methods"].get("zero-shot")
    if zs and zs["average"] is not None:
        lines += ["", f"Zero-shot (frozen backbone, plain instruction, nothing trained): average "
                     f"{tables.format_score(zs['average'])} at every k."]
    lines += ["", *_image(plots, "plot_fewshot.png", "Average score against k"),
              "### Few-shot, per task", "", _table(tables.fewshot_task_table(results)), ""]
    return lines


def render_report(results: dict, plots: dict[str, str | None], notes: list[str] = ()) -> str:
    """The whole report.md as a string; `notes` are shown under the loss plot."""
    lines = header(results) + full_data_section(results, plots) + paired_section(results) + \
        fewshot_section(results, plots)
    lines += ["## Parameter accounting", "", _table(tables.params_table(results)), "",
              "Bytes / task: what one more task adds to storage (its prompt, u and v, adapter or model copy).", ""]
    if "plot_loss.png" in plots:
        lines += ["## Training loss", "", *_image(plots, "plot_loss.png", "Training loss curves"),
                  *(f"*{n}*" for n in notes)]
    return "\n".join(lines).rstrip("\n") + "\n"
