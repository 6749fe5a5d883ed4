"""A sweep of bad input over every CLI surface, through the real `python -m clinical_mpt` process.

Each row is a command line and a fragment of the one-line error it must print: exit code 2, exactly
one line with `error:` on stderr naming what is wrong and where, and no traceback. With `--debug`
the same failure shows its traceback instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from reliability_helpers import run_cli

TINY = "configs/tiny.yaml"
ON_MINI = ["data.suite={SUITE}", "data.source_tasks=[]", "data.target_tasks=[]", "--out", "{TMP}/run"]

# (id, command line with {placeholders}, fragment of the error line)
ROWS = [
    # run configs and overrides
    ("config missing", ["teach", "{TMP}/missing.yaml"], "missing.yaml: config file not found"),
    ("config bad YAML", ["teach", "{TMP}/broken.yaml"], "broken.yaml: invalid YAML"),
    ("config not UTF-8", ["teach", "{TMP}/binary.yaml"], "binary.yaml: invalid YAML"),
    ("config a list", ["teach", "{TMP}/list.yaml"], "list.yaml: expected a mapping, got list"),
    ("unknown key", ["teach", TINY, "teach.stepz=5"], "teach.stepz: unknown key; known keys here:"),
    ("prompt length 0", ["teach", TINY, "prompt.length=0"], "prompt.length: must be > 0, got 0"),
    ("wrong type", ["distill", TINY, "distill.train.lr=fast"], "distill.train.lr: expected float, got str"),
    ("unknown method", ["run", TINY, "methods=[mpt,bert]"], "methods: unknown method 'bert'"),
    ("bad choice", ["teach", TINY, "backbone.dtype=float8"], "backbone.dtype: 'float8' is not one of"),
    ("override without =", ["teach", TINY, "teach.steps"], "expected key=value"),
    ("unknown backbone", ["teach", TINY, "backbone.name=/nowhere/model", *ON_MINI], "backbone.name: '/nowhere/model'"),
    ("k-shot > data", ["evaluate", TINY, "methods=[pt]", "protocol.full_data=false", "protocol.shots=[100]", *ON_MINI],
     "k-shot: 100 is larger than the 16 training examples of dose_qa"),
    ("unknown task", ["teach", TINY, "data.suite={SUITE}", "data.source_tasks=[nope]", "--out", "{TMP}/run"],
     "data.source_tasks: unknown task 'nope'"),
    ("suite.json broken", ["teach", TINY, "data.suite={TMP}/badsuite", "--out", "{TMP}/run"],
     "suite.json: tasks[0]: 'name' must be"),
    ("adapt before distill", ["adapt", TINY, *ON_MINI], "no distilled input meta-prompt"),
    ("sweep untrainable method", ["sweep", TINY, *ON_MINI, "--method", "zero-shot", "--lr", "0.1"], "trains nothing"),
    ("sweep mpt before distill", ["sweep", TINY, *ON_MINI, "--method", "mpt", "--lr", "0.1"], "no distilled input meta-prompt"),
    ("sweep without a rate", ["sweep", TINY, "--method", "pt"], "the following arguments are required: --lr"),
    ("corrupt checkpoint", ["teach", TINY, *ON_MINI[:-1], "{TMP}/ckrun", "--resume"], "unreadable checkpoint"),
    # data conversion and scoring
    ("convert missing file", ["data", "convert", "--format", "mednli", "{TMP}/none.jsonl", "--out", "{TMP}/o.jsonl"],
     "none.jsonl: file not found"),
    ("convert bad JSON line", ["data", "convert", "--format", "mednli", "{TMP}/bad.jsonl", "--out", "{TMP}/o.jsonl"],
     "bad.jsonl:2: invalid JSON"),
    ("convert wrong option", ["data", "convert", "--format", "csv", "{TMP}/bad.jsonl", "--out", "{TMP}/o.jsonl",
                              "--skip-unlabeled"], "--skip-unlabeled does not apply to --format csv"),
    ("convert unknown format", ["data", "convert", "--format", "pdf", "{TMP}/bad.jsonl", "--out", "{TMP}/o.jsonl"],
     "argument --format: invalid choice: 'pdf'"),
    ("score bad predictions", ["score", "--gold", "{TMP}/gold.jsonl", "--pred", "{TMP}/bad.jsonl"], "bad.jsonl:2"),
    ("score missing option", ["score", "--gold", "{TMP}/gold.jsonl"], "the following arguments are required: --pred"),
    # prompt library, predict, serve
    ("not a library", ["library", "list", "{TMP}"], "not a prompt library (no manifest.json)"),
    ("library path escape", ["library", "show", "{LIB}", "../secret"], "no entry '../secret'"),
    ("library tampered", ["library", "export", "{TAMPERED}", "med_ner", "--peft", "{TMP}/exported"], "SHA-256 does not match the manifest"),
    ("pickled peft import", ["library", "import", "{TMP}/newlib", "--peft", "{TMP}/pickled", "--task", "x", "--type",
                             "ner", "--backbone", "tiny-random-llama"], "adapter_model.bin is a pickle and is never loaded"),
    ("add from a non-run", ["library", "add", "{TMP}/newlib", "--from-run", "{TMP}"], "not a run folder"),
    ("predict unknown task", ["predict", "--library", "{LIB}", "--task", "nope", "some text"], "no entry 'nope'"),
    ("predict other backbone", ["predict", "--library", "{LIB}", "--task", "med_ner", "--backbone", "{OTHER}", "text"],
     "trained on a different backbone: embedding_sha256"),
    ("predict wrong input", ["predict", "--library", "{LIB}", "--task", "problem_nli", "some text"],
     "task problem_nli is a nli task: its inputs need premise, hypothesis"),
    ("predict surrogate", ["predict", "--library", "{LIB}", "--task", "med_ner", "--input", "{TMP}/surrogate.jsonl"],
     "surrogate.jsonl:1: a \\u escape encodes a lone surrogate"),
    ("serve no library", ["serve", "--library", "{TMP}/nolib"], "no prompt library at"),
    ("serve unknown task", ["serve", "--library", "{LIB}", "--tasks", "med_ner,nope"], "no task 'nope'"),
    # report
    ("report no run", ["report", "{TMP}/norun"], "no such run folder"),
    ("report bad results", ["report", "{TMP}/badrun", "--no-plots"], "methods.mpt.tasks.t1.score must be a finite number"),
]
DEBUG_ROWS = ["config missing", "corrupt checkpoint", "convert bad JSON line", "library tampered", "predict wrong input",
              "report bad results"]


@pytest.fixture(scope="module")
def places(tmp_path_factory, mini_suite, tiny_library, other_backbone_folder) -> dict[str, str]:
    """The files and folders the rows refer to, made once."""
    tmp = tmp_path_factory.mktemp("bad_input")
    (tmp / "broken.yaml").write_text("teach: [1, 2\n")
    (tmp / "binary.yaml").write_bytes(b"\xff\xfe\x00teach")
    (tmp / "list.yaml").write_text("- teach\n- distill\n")
    (tmp / "badsuite").mkdir()
    (tmp / "badsuite" / "suite.json").write_text('{"tasks": [{"name": "../../etc", "type": "ner", "role": "source"}]}')
    (tmp / "bad.jsonl").write_text('{"id": "1", "type": "nli", "premise": "p", "hypothesis": "h", "label": "neutral"}\n'
                                   '{"id": "2", "type": \n')
    (tmp / "gold.jsonl").write_text('{"id": "1", "type": "nli", "premise": "p", "hypothesis": "h", "label": "neutral"}\n')
    (tmp / "surrogate.jsonl").write_text('{"id": "1", "text": "pt \\ud800 on heparin"}\n')
    ckpt = tmp / "ckrun" / "checkpoints" / "teach" / "med_ner"
    ckpt.mkdir(parents=True)
    (ckpt / "state.json").write_text('{"step": 3, "tensors": ')
    (tmp / "pickled").mkdir()
    (tmp / "pickled" / "adapter_config.json").write_text(json.dumps({"peft_type": "PROMPT_TUNING", "task_type": "CAUSAL_LM"}))
    (tmp / "pickled" / "adapter_model.bin").write_bytes(b"\x80\x04not really a pickle")
    tampered = Path(shutil.copytree(tiny_library, tmp / "tampered"))
    data = bytearray((tampered / "med_ner" / "prompt.safetensors").read_bytes())
    data[-1] ^= 0x01                                                   # one flipped bit in the prompt
    (tampered / "med_ner" / "prompt.safetensors").write_bytes(bytes(data))
    badrun = tmp / "badrun"
    badrun.mkdir()
    (badrun / "results.json").write_text(json.dumps({"methods": {"mpt": {
        "trainable_parameters": 1, "trainable_fraction": 0.1, "bytes_per_task": 4,
        "tasks": {"t1": {"type": "qa", "metric": "f1", "score": "high"}}}}}))
    return {"TMP": str(tmp), "SUITE": str(mini_suite), "LIB": str(tiny_library), "TAMPERED": str(tampered),
            "OTHER": str(other_backbone_folder)}


@pytest.fixture(scope="module")
def outcomes(places) -> dict[tuple[str, bool], subprocess.CompletedProcess]:
    """Every row run as its own process, without and (DEBUG_ROWS) with --debug; a few at a time."""
    jobs = [(name, False, args) for name, args, _ in ROWS] + \
        [(name, True, args) for name, args, _ in ROWS if name in DEBUG_ROWS]

    def run(job):
        name, debug, args = job
        return (name, debug), run_cli(["--debug"] * debug + [a.format(**places) for a in args], timeout=120)

    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        return dict(pool.map(run, jobs))


@pytest.mark.parametrize("name, fragment", [(r[0], r[2]) for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input_gives_one_error_line_and_exit_2(outcomes, name, fragment):
    proc = outcomes[name, False]
    error_lines = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(error_lines) == 1, proc.stderr[-2000:]
    assert fragment in error_lines[0], error_lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("name, fragment", [(r[0], r[2]) for r in ROWS if r[0] in DEBUG_ROWS], ids=DEBUG_ROWS)
def test_debug_shows_the_traceback(outcomes, name, fragment):
    proc = outcomes[name, True]
    assert proc.returncode != 0 and "Traceback (most recent call last)" in proc.stderr
    assert "clinical_mpt.errors" in proc.stderr or "Error: " in proc.stderr
    assert fragment in proc.stderr


def test_the_sweep_covers_every_command():
    from clinical_mpt.cli import COMMANDS

    covered = {r[1][0] for r in ROWS}
    assert set(COMMANDS) - covered <= {"roi"}, set(COMMANDS) - covered
