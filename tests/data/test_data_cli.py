"""`clinical-mpt data` through a real subprocess: converts every format, and on bad input exits 2 with
one `error:` line naming the file (and line) and leaves no output file - not even a temporary one."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.jsonl import read_jsonl
from clinical_mpt.data.loaders import LOADERS

FIXTURES = Path(__file__).parent / "fixtures"

FIXTURE_INPUTS = {
    "brat": "brat",
    "i2b2-2010": "i2b2-2010",
    "mednli": "mednli/mednli.jsonl",
    "squad": "squad/emrqa.json",
    "mcqa-jsonl": "mcqa-jsonl/mcqa.jsonl",
    "headqa": "headqa/headqa.json",
    "summarization-jsonl": "summarization-jsonl/summaries.jsonl",
    "csv": "csv/summaries.csv",
}


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clinical_mpt", "data", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("fmt", sorted(FIXTURE_INPUTS))
def test_convert_every_format(tmp_path, fmt):
    out = tmp_path / "out" / f"{fmt}.jsonl"
    result = cli("convert", "--format", fmt, FIXTURES / FIXTURE_INPUTS[fmt], "--out", out, "--task", f"my-{fmt}")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("wrote ")
    rows = read_jsonl(out)
    validate_examples(rows, str(out))
    assert all(r["task"] == f"my-{fmt}" for r in rows)
    expected = LOADERS[fmt](FIXTURES / FIXTURE_INPUTS[fmt])
    assert [{k: v for k, v in r.items() if k != "task"} for r in rows] == json.loads(json.dumps(expected))
    assert f"wrote {len(rows)} " in result.stderr and str(out) in result.stderr


def test_convert_brat_re_chunks_and_reports_dropped_relations(tmp_path):
    (tmp_path / "a.txt").write_text("Aspirin was started. It was for chest pain.")
    (tmp_path / "a.ann").write_text("T1\tDrug 0 7\tAspirin\nT2\tReason 32 42\tchest pain\nR1\tReason-Drug Arg1:T2 Arg2:T1\n")
    out = tmp_path / "re.jsonl"
    result = cli("convert", "--format", "brat", tmp_path, "--type", "re", "--chunk", "sentences", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "dropped 1 relation(s)" in result.stderr
    assert "wrote 2 re examples" in result.stderr
    assert [r["text"] for r in read_jsonl(out)] == ["Aspirin was started.", "It was for chest pain."]


def _bad_brat(tmp: Path) -> Path:
    (tmp / "n.txt").write_text("Chest pain.")
    (tmp / "n.ann").write_text("T1\tProblem 0 10\tChest pain\nT2\tProblem 0 5\tChest\tx\n")
    return tmp


def _write(name: str, content: bytes):
    def make(tmp: Path) -> Path:
        (tmp / name).write_bytes(content)
        return tmp / name
    return make


FAILURES = [
    ("brat", _bad_brat, [], r"n.ann:2: mention 'Chest\tx' does not match"),
    ("mednli", _write("m.jsonl", b'{"pairID": "1", "sentence1": "a", "sentence2": "b", "gold_label": "-"}\n'),
     [], "m.jsonl:1: unknown gold_label '-'"),
    ("mednli", _write("m.jsonl", b'{"pairID": "1", "sentence1": "a", "sentence2": "b", "gold_label": "-"}\n'),
     ["--skip-unlabeled"], "m.jsonl: no labelled pairs"),
    ("mcqa-jsonl", _write("q.jsonl", b'{"question": "q", "options": ["a", "b"], "answer": 0}\n{"q\xff": 1}\n'),
     [], "q.jsonl:2: not valid UTF-8"),
    ("squad", _write("s.json", b'{"data": [\n\n  {"paragraphs": [}]}'), [], "s.json:3: invalid JSON"),
    ("csv", _write("c.csv", b'id,text,summary\n1,"never closed,x\n'), [], "c.csv:2: malformed CSV"),
    ("summarization-jsonl", _write("e.jsonl", b"\n\n"), [], "e.jsonl: file is empty"),
    ("mcqa-jsonl", _write("q.jsonl", b'{"question": "q", "options": {"A": "B", "B": "C"}, "answer": "B"}\n'), [],
     "q.jsonl:1: answer 'B' is ambiguous (field 'answer': as key it names option B, as text it names option A)"),
    ("headqa", _write("h.json", b'{"exams": {"E1": {"data": [{"qid": "1", "ra": "1", "answers": '
                                b'[{"aid": 1, "atext": "a"}, {"aid": 2, "atext": "b"}]}]}}}'), [],
     "h.json: exams['E1'].data[0]: missing field 'qtext'"),
    ("csv", _write("c.csv", b"id,text,summary\n1,,s\n"), ["--skip-empty"],
     "every row has an empty 'text' or 'summary'"),
    ("mednli", _write("m.jsonl", b"{}\n"), ["--chunk", "chars"], "--chunk does not apply to --format mednli"),
    ("brat", _bad_brat, ["--chunk", "chars"], "--chunk chars needs --max-chars N"),
    ("csv", lambda tmp: tmp / "missing.csv", [], "missing.csv: file not found"),
    ("squad", lambda tmp: tmp, [], "in: is a folder; this format reads a single file"),
    ("i2b2-2010", lambda tmp: tmp, ["--type", "re"], "in: expected a folder with txt/ and concept/"),
]


@pytest.mark.parametrize("fmt, make_input, extra, message", FAILURES)
def test_convert_errors_one_line_exit_2_no_output(tmp_path, fmt, make_input, extra, message):
    src = tmp_path / "in"
    src.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = cli("convert", "--format", fmt, make_input(src), "--out", out_dir / "x.jsonl", *extra)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert list(out_dir.iterdir()) == []  # no output file, no temporary file


def test_convert_skip_empty_prints_the_count(tmp_path):
    src = tmp_path / "c.csv"
    src.write_text("id,text,summary\n1,Cough.,Cough.\n2,,Empty text.\n3,Fever.,\n")
    result = cli("convert", "--format", "csv", src, "--skip-empty", "--out", tmp_path / "o.jsonl")
    assert result.returncode == 0, result.stderr
    assert "skipped 2 row(s) with an empty 'text' or 'summary'" in result.stderr
    assert [r["id"] for r in read_jsonl(tmp_path / "o.jsonl")] == ["1"]


def test_convert_to_a_folder_is_an_error(tmp_path):
    result = cli("convert", "--format", "mednli", FIXTURES / "mednli" / "mednli.jsonl", "--out", tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: --out {tmp_path} is a folder; give a .jsonl file path"]


def test_help_lists_formats():
    result = cli("convert", "--help")
    assert result.returncode == 0
    assert all(fmt in result.stdout for fmt in LOADERS)


def _has_synth() -> bool:
    try:
        return hasattr(importlib.import_module("clinical_mpt.data.synth"), "generate_suite")
    except ImportError:
        return False


@pytest.mark.skipif(not _has_synth(), reason="the synthetic suite generator is not written yet")
def test_synth_writes_a_suite(tmp_path):
    result = cli("synth", "--out", tmp_path / "suite", "--seed", "0")
    assert result.returncode == 0, result.stderr
    assert "wrote the synthetic suite" in result.stderr
    assert any((tmp_path / "suite").rglob("*.jsonl"))


def test_describe_suite_reads_a_manifest_or_counts():
    from clinical_mpt.data.cli import describe_suite

    manifest = {"tasks": [{"role": "source", "sizes": {"train": 3, "dev": 1}},
                          {"role": "source", "sizes": {"train": 2}}, {"role": "target", "sizes": {"test": 4}}]}
    assert describe_suite(manifest) == "2 source tasks, 1 target tasks, 10 examples"
    assert describe_suite({"source_tasks": ["a"], "target_tasks": 2, "examples": 7}) == \
        "1 source tasks, 2 target tasks, 7 examples"


def test_synth_extra_writes_the_extra_task_and_refuses_an_unknown_one(tmp_path):
    result = cli("synth", "--out", tmp_path / "suite", "--extra", "note_nli")
    assert result.returncode == 0, result.stderr
    assert "22 source tasks, 10 target tasks" in result.stderr
    assert len(read_jsonl(tmp_path / "suite" / "source" / "note_nli" / "train.jsonl")) == 2400
    result = cli("synth", "--out", tmp_path / "other", "--extra", "nope")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: no extra synthetic task nope; extra tasks: note_nli"]
