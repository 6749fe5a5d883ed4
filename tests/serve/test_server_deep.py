"""Deep library entries over the REST API: a deep-only library and a mixed one (deep and input-level
tasks in one request list) are served through /v1/predict and listed by /v1/tasks."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import httpx
import pytest
from test_server import INPUTS

from clinical_mpt.serve.engine import Engine, EngineConfig, Request
from clinical_mpt.serve.server import ServerConfig, create_app
from live_server import LiveServer


def library_cli(argv: list[str]) -> int:
    from clinical_mpt.commands import library

    parser = argparse.ArgumentParser()
    library.configure(parser)
    return library.main(parser.parse_args(argv))


@pytest.fixture(scope="module")
def deep_only_library(deep_run, tmp_path_factory) -> Path:
    lib = tmp_path_factory.mktemp("deep_only") / "lib"
    assert library_cli(["add", str(lib), "--from-run", str(deep_run), "--method", "prefix"]) == 0
    return lib


@pytest.fixture(scope="module")
def mixed_library(tiny_library, deep_run, tmp_path_factory) -> Path:
    """The tiny library (mpt targets, teachers: L = 8) with dose_qa replaced by its deep-mpt prefix (L = 8)."""
    lib = Path(shutil.copytree(tiny_library, tmp_path_factory.mktemp("mixed") / "lib"))
    assert library_cli(["add", str(lib), "--from-run", str(deep_run), "--method", "deep-mpt", "--tasks", "dose_qa",
                        "--replace"]) == 0
    return lib


def serve(library: Path, backbone):
    engine = Engine.from_library(library, backbone=backbone, config=EngineConfig(max_new_tokens=8))
    cfg = ServerConfig(max_items=8, max_input_chars=2000, max_request_bytes=20_000, max_wait_ms=50,
                       library=str(library))
    return engine, LiveServer(create_app(engine, cfg))


@pytest.mark.parametrize("which", ["deep_only_library", "mixed_library"])
def test_deep_entries_are_listed_and_predicted_over_http(which, request, tiny_backbone):
    library = request.getfixturevalue(which)
    engine, live = serve(library, tiny_backbone)
    items = [{"task": name, "input": INPUTS[name], "id": f"{name}-{k}"}
             for k in range(2) for name in sorted(engine.tasks)]
    alone = {it["id"]: engine.predict([Request(it["task"], it["input"], it["id"])])[0] for it in items}
    with live, httpx.Client(base_url=live.url, timeout=60) as client:
        tasks = {t["name"]: t for t in client.get("/v1/tasks").json()["tasks"]}
        answers = client.post("/v1/predict", json=items)
        single = client.post("/v1/predict", json=items[0])
        console = {e["task"]: e for e in client.get("/v1/library").json()["entries"]}   # the console's library view
    assert tasks["dose_qa"]["depth"] == "deep" and tasks["dose_qa"]["prompt_length"] == 8
    assert {n: e["depth"] for n, e in console.items()} == {n: t["depth"] for n, t in tasks.items()}
    if which == "mixed_library":
        assert tasks["dose_qa"]["method"] == "deep-mpt"
        assert {n for n, t in tasks.items() if t["depth"] == "input"} == {"drug_mcqa", "med_ner", "problem_nli"}
    else:
        assert {t["depth"] for t in tasks.values()} == {"deep"} and tasks["drug_mcqa"]["method"] == "prefix"
    assert answers.status_code == 200, answers.text
    assert answers.json() == [alone[it["id"]] for it in items]     # batched together = each alone
    assert single.status_code == 200 and single.json() == alone[items[0]["id"]]


def test_a_live_reload_refuses_only_the_deep_entries_that_do_not_fit(mixed_library, tiny_backbone):
    from clinical_mpt.serve.live_library import load_snapshot

    snap = load_snapshot(mixed_library, tiny_backbone.fingerprint, geometry=(3, 2, 16))   # a 3-layer backbone
    assert set(snap.refused) == {"dose_qa"} and "layers = 2 but the backbone has 3" in snap.refused["dose_qa"]
    assert sorted(t.name for t in snap.tasks) == ["drug_mcqa", "med_ner", "problem_nli"]  # the input-level ones


def test_predict_serves_a_deep_entry_from_the_shell(deep_only_library, tiny_backbone, capsys):
    from test_predict_cli import run_predict

    from clinical_mpt.serve.engine import Engine, Request

    item = INPUTS["dose_qa"]
    src = deep_only_library.parent / "in.jsonl"
    src.write_text(json.dumps(dict(item, id="q1")) + "\n")
    assert run_predict(["--library", str(deep_only_library), "--task", "dose_qa", "--input", str(src),
                        "--dtype", "float32", "--max-new-tokens", "8"]) == 0
    row = json.loads(capsys.readouterr().out.strip())
    engine = Engine.from_library(deep_only_library, backbone=tiny_backbone, config=EngineConfig(max_new_tokens=8))
    assert row == engine.predict([Request("dose_qa", item, "q1")])[0]
