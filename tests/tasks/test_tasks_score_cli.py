"""`clinical-mpt score` end to end: the real CLI in a subprocess, plus in-process error cases."""

import json
import subprocess
import sys

import pytest

from clinical_mpt import cli

NER_GOLD = [
    {"id": "a", "text": "Metformin 500 mg daily.", "entities": [
        {"type": "Drug", "start": 0, "end": 9, "text": "Metformin"},
        {"type": "Strength", "start": 10, "end": 16, "text": "500 mg"}]},
    {"id": "b", "text": "Aspirin.", "entities": [{"type": "Drug", "start": 0, "end": 7, "text": "Aspirin"}]},
]
NER_PRED = [
    {"id": "a", "entities": [{"type": "Drug", "text": "metformin", "start": 0, "end": 9},
                             {"type": "Frequency", "text": "daily", "start": 17, "end": 22}]},
    {"id": "zzz", "entities": [{"type": "Drug", "text": "ignored"}]},     # not in gold: ignored
]                                                                          # b missing: counted empty


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "clinical_mpt", "score", *args],
                          capture_output=True, text=True, timeout=120)


def test_end_to_end_ner(tmp_path):
    gold, pred = write(tmp_path / "gold.jsonl", NER_GOLD), write(tmp_path / "pred.jsonl", NER_PRED)
    out = run_cli("--type", "ner", "--gold", gold, "--pred", pred)
    assert out.returncode == 0, out.stderr
    # gold rows carry no "type": --type fills it in.  tp 1, predicted 2, gold 3
    # -> P 1/2, R 1/3, F1 2/5; spans the same
    metrics = json.loads(out.stdout)
    assert metrics == pytest.approx({"precision": 0.5, "recall": 1 / 3, "f1": 0.4, "span_f1": 0.4, "n": 2})


def test_end_to_end_bad_prediction_exits_2_naming_file_and_line(tmp_path):
    gold = write(tmp_path / "gold.jsonl", NER_GOLD)
    pred = write(tmp_path / "pred.jsonl", [NER_PRED[0], {"id": "b", "entities": "Aspirin"}])
    out = run_cli("--type", "ner", "--gold", gold, "--pred", pred)
    assert out.returncode == 2 and out.stdout == ""
    assert f"{pred}:2" in out.stderr and "entities" in out.stderr and "Traceback" not in out.stderr


def test_type_inferred_from_gold_rows(tmp_path, capsys):
    gold = write(tmp_path / "g.jsonl", [{"id": "1", "type": "nli", "premise": "p", "hypothesis": "h", "label": "neutral"}])
    pred = write(tmp_path / "p.jsonl", [{"id": "1", "label": "Neutral"}])
    assert cli.main(["score", "--gold", gold, "--pred", pred]) == 0
    assert json.loads(capsys.readouterr().out) == {"accuracy": 1.0, "macro_f1": 1.0, "n": 1}


MCQA = {"id": "1", "question": "q", "options": {"A": "x", "B": "y"}, "answer": "A"}


@pytest.mark.parametrize("gold_rows, pred_rows, message", [
    ([MCQA], ["{not json"], "p.jsonl:1: invalid JSON"),
    ([MCQA], [{"id": "1"}], "p.jsonl:1: missing the prediction field 'answer'"),
    ([MCQA], [{"id": "1", "answer": 1}], "p.jsonl:1: field 'answer' must be a string"),
    ([MCQA], [{"answer": "A"}], "p.jsonl:1: field 'id'"),
    ([MCQA], [{"id": "1", "answer": "A"}, {"id": "1", "answer": "B"}], "p.jsonl:2: duplicate id"),
    ([MCQA, MCQA], [{"id": "1", "answer": "A"}], "g.jsonl:2: duplicate id"),
    ([dict(MCQA, answer="C")], [{"id": "1", "answer": "A"}], "g.jsonl:1: answer 'C'"),
    ([dict(MCQA, type="nli")], [{"id": "1", "answer": "A"}], "does not match the expected type"),
])
def test_bad_files_exit_2(tmp_path, capsys, gold_rows, pred_rows, message):
    gold, pred = write(tmp_path / "g.jsonl", gold_rows), write(tmp_path / "p.jsonl", pred_rows)
    assert cli.main(["score", "--type", "mcqa", "--gold", gold, "--pred", pred]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


@pytest.mark.parametrize("bad_entity, message", [
    ({"type": "Drug"}, "'text' string"),
    ({"text": "x"}, "'type' string"),
    ({"type": "Drug", "text": "x", "start": 0}, "offsets"),
])
def test_bad_ner_items(tmp_path, capsys, bad_entity, message):
    gold, pred = write(tmp_path / "g.jsonl", NER_GOLD), write(tmp_path / "p.jsonl", [{"id": "a", "entities": [bad_entity]}])
    assert cli.main(["score", "--type", "ner", "--gold", gold, "--pred", pred]) == 2
    assert message in capsys.readouterr().err


def test_bad_re_items_and_untyped_gold(tmp_path, capsys):
    gold = write(tmp_path / "g.jsonl", [{"id": "1", "type": "re", "text": "t", "relations": []}])
    pred = write(tmp_path / "p.jsonl", [{"id": "1", "relations": [{"type": "X", "head": "a", "tail": {"text": "b"}}]}])
    assert cli.main(["score", "--gold", gold, "--pred", pred]) == 2
    assert "'head'" in capsys.readouterr().err
    untyped = write(tmp_path / "u.jsonl", [{"id": "1", "text": "t", "relations": []}])
    assert cli.main(["score", "--gold", untyped, "--pred", pred]) == 2
    assert "pass --type" in capsys.readouterr().err
