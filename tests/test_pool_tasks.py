"""benchmarks/pool_tasks.py: a suite copy with one source task pooling several tasks' splits."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from clinical_mpt.data.jsonl import read_jsonl, write_json, write_jsonl
from clinical_mpt.data.suite import load_split, load_suite, select_tasks
from clinical_mpt.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import pool_tasks  # noqa: E402


def _nli(task: str, split: str, i: int) -> dict:
    return {"id": f"{task}-{split}-{i}", "type": "nli", "task": task, "premise": f"{task} premise {split} {i}",
            "hypothesis": "The patient is stable.", "label": ("entailment", "neutral", "contradiction")[i % 3]}


@pytest.fixture
def suite_dir(tmp_path):
    root = tmp_path / "suite"
    tasks = [("a_nli", "source", "nli"), ("b_nli", "target", "nli"), ("c_ner", "source", "ner")]
    for name, role, type_ in tasks:
        for split, n in (("train", 4), ("dev", 2), ("test", 3)):
            rows = [_nli(name, split, i) for i in range(n)] if type_ == "nli" else \
                [{"id": f"{name}-{split}-{i}", "type": "ner", "text": "aspirin", "entities": []} for i in range(n)]
            write_jsonl(root / role / name / f"{split}.jsonl", rows)
    write_json(root / "suite.json", {"name": "hand-made", "tasks": [
        {"name": n, "type": t, "role": r, "instruction": f"{n} instruction", "labels": []} for n, r, t in tasks]})
    return root


def test_pool_adds_one_source_task_with_every_row_of_its_parts(suite_dir, tmp_path):
    out = tmp_path / "pooled"
    pool_tasks.main(["--suite", str(suite_dir), "--out", str(out), "--name", "nli_pool", "a_nli", "b_nli"])
    suite = load_suite(out)
    spec = select_tasks(suite, "source", ["nli_pool"])[0]
    assert spec["type"] == "nli" and spec["role"] == "source" and spec["pooled_from"] == ["a_nli", "b_nli"]
    assert spec["instruction"] == "a_nli instruction" and spec["sizes"] == {"train": 8, "dev": 4, "test": 6}
    for split in ("train", "dev", "test"):
        pooled = load_split(out, spec, split).examples
        parts = read_jsonl(suite_dir / "source/a_nli" / f"{split}.jsonl") + read_jsonl(suite_dir / "target/b_nli" / f"{split}.jsonl")
        assert sorted(r["id"] for r in pooled) == sorted(r["id"] for r in parts)
        assert {r["task"] for r in pooled} == {"nli_pool"}
    # the other tasks are copied unchanged, and the shuffle is deterministic
    assert (out / "source/c_ner/train.jsonl").read_bytes() == (suite_dir / "source/c_ner/train.jsonl").read_bytes()
    again = tmp_path / "again"
    pool_tasks.main(["--suite", str(suite_dir), "--out", str(again), "--name", "nli_pool", "a_nli", "b_nli"])
    assert (again / "source/nli_pool/train.jsonl").read_bytes() == (out / "source/nli_pool/train.jsonl").read_bytes()


@pytest.mark.parametrize("tasks, name, match", [(["a_nli", "zzz"], "p", "no task zzz"),
                                                (["a_nli", "c_ner"], "p", "one type"),
                                                (["a_nli"], "b_nli", "already has")])
def test_pool_refuses_unknown_mixed_or_taken(suite_dir, tmp_path, tasks, name, match):
    with pytest.raises(ConfigError, match=match):
        pool_tasks.pool(suite_dir, tmp_path / "out", tasks, name)
    assert not (tmp_path / "out").exists()


def test_pool_refuses_an_existing_out_folder(suite_dir, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(ConfigError, match="exists"):
        pool_tasks.pool(suite_dir, tmp_path / "out", ["a_nli"], "p")


def test_a_pooled_target_is_scored_on_the_given_test_rows(suite_dir, tmp_path):
    test = tmp_path / "check.jsonl"
    rows = [dict(_nli("x", "check", i), id=f"check-{i}") for i in range(5)]
    for r in rows:
        del r["task"]
    write_jsonl(test, rows)
    out = tmp_path / "pooled"
    pool_tasks.main(["--suite", str(suite_dir), "--out", str(out), "--name", "nli_real", "--role", "target",
                     "--test", str(test), "a_nli", "b_nli"])
    spec = select_tasks(load_suite(out), "target", ["nli_real"])[0]
    assert spec["role"] == "target" and spec["test_from"] == str(test)
    assert spec["sizes"] == {"train": 8, "dev": 4, "test": 5}
    assert [r["id"] for r in load_split(out, spec, "test").examples] == [f"check-{i}" for i in range(5)]
    assert {r["task"] for r in load_split(out, spec, "test").examples} == {"nli_real"}
    assert len(load_split(out, spec, "dev").examples) == 4     # train and dev stay the pooled synthetic rows


def test_a_test_file_of_another_type_is_refused(suite_dir, tmp_path):
    from clinical_mpt.errors import DataError

    test = tmp_path / "check.jsonl"
    write_jsonl(test, [{"id": "n1", "type": "ner", "text": "aspirin", "entities": []}])
    with pytest.raises(DataError, match="type 'ner' does not match the expected type 'nli'"):
        pool_tasks.pool(suite_dir, tmp_path / "out", ["a_nli"], "p", role="target", test=test)
    assert not (tmp_path / "out").exists()
