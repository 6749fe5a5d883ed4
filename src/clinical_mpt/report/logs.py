"""Loss curves from a run folder's JSONL training logs.

Each log row is {"stage", "step", "loss", "lr", "seconds", ...} (distill rows add "lm", "kl", "mse").
Logs are appended to, so a stage that was re-run appears more than once: a step that does not
increase starts a new segment and only the last segment of each stage is kept.

Where the logs live (DIR = the run folder):
    DIR/teachers/log.jsonl                       stages "teach <task>"
    DIR/distill/log.jsonl                        stage "distill"
    DIR/adapt/<setting>[-metaprompt]/log.jsonl   mpt (mpt-full-prompt with -metaprompt), "adapt <task>"
    DIR/targets/<method>/<setting>/log.jsonl     baselines, "<method> <task>"
with <setting> = full | k<k>-s<seed>.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from clinical_mpt.protocol import META_SUFFIX, adapt_method, parse_setting, parse_variant

Curve = list[tuple[int, float]]  # [(step, value)] with increasing steps


@dataclass
class LossLogs:
    """teachers: {stage: curve}; distill: {"loss"|"lm"|"kl"|"mse": curve};
    targets: {setting group ("full" or k as a string): {method: mean curve over tasks and seeds}};
    skipped: number of unreadable log lines."""
    teachers: dict[str, Curve] = field(default_factory=dict)
    distill: dict[str, Curve] = field(default_factory=dict)
    targets: dict[str, dict[str, Curve]] = field(default_factory=dict)
    skipped: int = 0

    def empty(self) -> bool:
        return not (self.teachers or self.distill or self.targets)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def read_log(path: Path) -> tuple[list[dict], int]:
    """(rows with a string stage, a number step and a number loss, count of other lines).

    Lenient on purpose: a line cut short by an interrupted run must not stop the report."""
    rows, skipped = [], 0
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if isinstance(row, dict) and isinstance(row.get("stage"), str) and _number(row.get("step")) \
                and _number(row.get("loss")):
            rows.append(row)
        else:
            skipped += 1
    return rows, skipped


def stage_curves(rows: list[dict], key: str = "loss") -> dict[str, Curve]:
    """{stage: [(step, row[key])]} from the last segment of each stage; rows without `key` are skipped."""
    curves: dict[str, Curve] = {}
    for row in rows:
        if not _number(row.get(key)):
            continue
        curve = curves.setdefault(row["stage"], [])
        if curve and row["step"] <= curve[-1][0]:
            curve.clear()  # a re-run of this stage
        curve.append((int(row["step"]), float(row[key])))
    return curves


def mean_curve(curves: list[Curve]) -> Curve:
    """The mean over curves at every step any of them has (each step averages the curves that have it)."""
    at: dict[int, list[float]] = {}
    for curve in curves:
        for step, value in curve:
            at.setdefault(step, []).append(value)
    return [(step, statistics.fmean(at[step])) for step in sorted(at)]


def setting_group(setting: str) -> str | None:
    """"full" -> "full", "k16-s0" -> "16", "k0" (nothing trained) or anything else -> None."""
    parsed = parse_setting(setting)
    return parsed.group if parsed is not None and parsed.shots != 0 else None


def _target_logs(run_dir: Path):
    """(method, setting group, log path) for every target-adaptation log of the run."""
    for path in sorted(run_dir.glob("adapt/*/log.jsonl")):
        _, meta = parse_variant(path.parent.name)
        group = setting_group(path.parent.name.removesuffix(META_SUFFIX))
        if group:
            yield adapt_method(meta), group, path
    for path in sorted(run_dir.glob("targets/*/*/log.jsonl")):
        group = setting_group(path.parent.name)
        if group:
            yield path.parent.parent.name, group, path


def collect_logs(run_dir: str | Path) -> LossLogs:
    """Every loss curve of the run folder (missing logs are simply absent)."""
    run_dir = Path(run_dir)
    logs = LossLogs()
    teach = run_dir / "teachers" / "log.jsonl"
    if teach.is_file():
        rows, logs.skipped = read_log(teach)
        logs.teachers = {s.removeprefix("teach "): c for s, c in stage_curves(rows).items()}
    distill = run_dir / "distill" / "log.jsonl"
    if distill.is_file():
        rows, skipped = read_log(distill)
        logs.skipped += skipped
        for key in ("loss", "lm", "kl", "mse"):
            curves = stage_curves(rows, key)
            if curves:
                logs.distill[key] = mean_curve(list(curves.values()))
    pooled: dict[str, dict[str, list[Curve]]] = {}
    for method, group, path in _target_logs(run_dir):
        rows, skipped = read_log(path)
        logs.skipped += skipped
        pooled.setdefault(group, {}).setdefault(method, []).extend(stage_curves(rows).values())
    for group in sorted(pooled, key=lambda g: (g != "full", int(g) if g.isdigit() else 0)):
        logs.targets[group] = {m: mean_curve(c) for m, c in pooled[group].items() if c}
    return logs
