"""`clinical-mpt predict`: a TEXT or a JSONL file in, JSON lines out; the backbone comes from the library."""

from __future__ import annotations

import argparse
import json

import pytest

from clinical_mpt.commands import predict
from clinical_mpt.errors import ConfigError, DataError
from clinical_mpt.library import ENV_VAR, LibraryError


def run_predict(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    predict.configure(parser)
    return predict.main(parser.parse_args(argv))


def test_text_to_stdout(tiny_library, capsys):
    assert run_predict(["--library", str(tiny_library), "--task", "med_ner", "--dtype", "float32",
                        "Pt started on metformin 500 mg PO daily."]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["id"] == "1" and row["task"] == "med_ner" and isinstance(row["entities"], list)


def test_jsonl_file_to_file_matches_the_engine(tiny_library, tiny_backbone, tmp_path, monkeypatch):
    from clinical_mpt.serve.engine import Engine, EngineConfig, Request

    rows = [{"id": f"p{i}", "type": "nli", "premise": f"Admitted with fever day {i}.",
             "hypothesis": "The patient has fever.", "label": "entailment"} for i in range(5)]
    rows.append({"premise": "No id here.", "hypothesis": "Fine."})
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv(ENV_VAR, str(tiny_library))                 # --library defaults to $CLINICAL_MPT_LIBRARY
    assert run_predict(["--task", "problem_nli", "--input", str(src), "--out", str(out), "--batch-size", "2",
                        "--dtype", "float32"]) == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in got] == ["p0", "p1", "p2", "p3", "p4", "6"]
    assert all(g["task"] == "problem_nli" and "label" in g for g in got)
    engine = Engine.from_library(tiny_library, backbone=tiny_backbone, tasks=["problem_nli"],
                                 config=EngineConfig(classification="rank"))    # predict's default, as evaluation
    expected = engine.predict([Request("problem_nli", r, r.get("id", "6")) for r in rows])
    assert got == expected


def test_user_errors(tiny_library, tmp_path, monkeypatch):
    lib = str(tiny_library)
    with pytest.raises(ConfigError, match="nli task: its inputs need premise, hypothesis"):
        run_predict(["--library", lib, "--task", "problem_nli", "some text"])
    with pytest.raises(ConfigError, match="either a TEXT argument or --input"):
        run_predict(["--library", lib, "--task", "med_ner"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "a", "premise": "only a premise"}) + "\n")
    with pytest.raises(DataError, match="bad.jsonl:1: a nli task needs a non-empty string 'hypothesis'"):
        run_predict(["--library", lib, "--task", "problem_nli", "--input", str(bad)])
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(LibraryError, match="no prompt library at"):
        run_predict(["--task", "med_ner", "x"])
