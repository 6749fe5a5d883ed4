"""results.csv rows from the fixture."""

from __future__ import annotations

import csv
import io

from clinical_mpt.report.export import CSV_COLUMNS, csv_rows, to_csv


def read(results) -> list[dict]:
    return list(csv.DictReader(io.StringIO(to_csv(csv_rows(results)))))


def test_columns_and_count(results):
    text = to_csv(csv_rows(results))
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = read(results)
    # full data: 6 methods x 5 tasks + adapter-x's 2; k-shot: (mpt 3 + pt 2 + lora 2) settings x 2 tasks
    assert len(rows) == 32 + 14
    assert len({(r["method"], r["setting"], r["task"]) for r in rows}) == len(rows)


def test_order(results):
    rows = read(results)
    assert [(r["method"], r["setting"], r["task"]) for r in rows[:6]] == [
        ("zero-shot", "full", "med_ner"), ("zero-shot", "full", "drug_ner"), ("zero-shot", "full", "dose_qa"),
        ("zero-shot", "full", "problem_nli"), ("zero-shot", "full", "visit_summary"), ("full", "full", "med_ner")]
    assert [r["setting"] for r in rows if r["method"] == "mpt" and r["task"] == "med_ner"] == ["full", "0", "4", "16"]
    assert rows[-1]["method"] == "adapter-x"


def test_values(results):
    rows = {(r["method"], r["setting"], r["task"]): r for r in read(results)}
    r = rows[("mpt", "4", "med_ner")]
    assert (r["type"], r["metric"], float(r["score"]), float(r["std"]), r["n_seeds"]) == ("ner", "f1", 0.55, 0.05, "2")
    assert (r["trainable_parameters"], r["bytes_per_task"]) == ("676", "2704")
    assert float(r["trainable_fraction"]) == 676 / 134515008
    r = rows[("full", "full", "visit_summary")]
    assert (r["type"], r["metric"], float(r["score"]), r["std"], r["n_seeds"]) == ("summarization", "rougeL", 0.5, "", "1")
    assert rows[("mpt", "0", "dose_qa")]["n_seeds"] == "1"
    assert rows[("mpt", "full", "problem_nli")]["score"] == "0.6604"
    assert ("adapter-x", "full", "drug_ner") not in rows
