"""Score a library's entries on one split of a task suite, and record the scores in each entry.

A target entry added from a run carries the scores of the run's evaluation (its test split); its dev
scores, or scores on a hospital's own copy of a task, come from here. Each entry is predicted exactly
as evaluation predicts its type (teacher_gate.score_split: ranked for nli/mcqa under
`eval.classification: rank`, else generated, with the one decoder the server uses), and its task's
majority baseline is scored on the same examples:

    metrics, majority = score_entry(backbone, entry, spec, cfg, "dev")
    # metrics  {"f1": 0.61, ..., "n": 48}         -> config.json metrics["dev"]
    # majority {"answer", "metric", "score"}      -> config.json majority["dev"]
"""

from __future__ import annotations

import dataclasses

from clinical_mpt.library.entry import Entry
from clinical_mpt.library.store import LibraryError


def suite_specs(suite: dict, entries: list[Entry]) -> dict[str, dict]:
    """{entry name: its task spec in `suite`}; LibraryError for a task the suite lacks or types differently."""
    by_name = {t["name"]: t for t in suite["tasks"]}
    missing = [e.name for e in entries if e.name not in by_name]
    if missing:
        raise LibraryError(f"the suite has no task {', '.join(missing)} (its tasks: {', '.join(sorted(by_name))}); "
                           "score those entries with a config whose data.suite holds them, or pass --tasks")
    for e in entries:
        if by_name[e.name]["type"] != e.type:
            raise LibraryError(f"{e.name}: the entry is a {e.type} prompt but the suite's task is "
                               f"{by_name[e.name]['type']}")
    return {e.name: by_name[e.name] for e in entries}


def score_entry(backbone, entry: Entry, spec: dict, cfg, split: str) -> tuple[dict, dict]:
    """(metrics, majority row) of `entry` on `split` of the suite task `spec`, as `cfg` evaluates:
    its data caps (`data.max_eval_examples`), `eval.classification` and batch size."""
    from clinical_mpt.data.suite import load_split
    from clinical_mpt.teacher_gate import majority_row, score_split

    data = load_split(cfg.data.suite, spec, split, cfg.data.max_eval_examples)
    if not data.examples:
        raise LibraryError(f"{entry.name}: the suite's {split} split is empty")
    data = dataclasses.replace(data, instruction=entry.instruction or data.instruction)  # as it was trained
    deep = entry.depth == "deep"
    metrics = score_split(backbone, None if deep else entry.prompt, data, cfg, prefix=entry.prompt if deep else None,
                          what=f"score {split}")
    return metrics, majority_row(load_split(cfg.data.suite, spec, "train"), data)


def with_scores(entry: Entry, split: str, metrics: dict, majority: dict, command: str) -> Entry:
    """A copy of `entry` whose config.json records `metrics` and `majority` for `split` (other splits kept)."""
    config = dict(entry.config)
    config["metrics"] = {**(config.get("metrics") or {}), split: metrics}
    config["majority"] = {**(config.get("majority") or {}), split: majority}
    config["source"] = {**(config.get("source") or {}), f"scored_{split}_with": command}
    return Entry(config, entry.prompt)
