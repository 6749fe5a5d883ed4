"""The console's routes over real HTTP: the page and its files, /v1/library, /v1/roi, /v1/samples."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import httpx
import pytest
from console_fixtures import RUN_COMMAND, TASKS, live

from clinical_mpt.data.canonical import TYPES
from clinical_mpt.serve.console_routes import CONSOLE_DIR, STATIC, load_samples
from clinical_mpt.serve.inputs import check_input, type_forms
from clinical_mpt.tasks import TASK_TYPES

QWEN_CONFIG = {  # a small local config.json, as a user would upload it
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
    "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
    "tie_word_embeddings": True, "_name_or_path": "my-qwen2",
}


def cli_roi(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "clinical_mpt", "roi", *args, "--json"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def client(console_server):
    with httpx.Client(base_url=console_server.url, timeout=30) as c:
        yield c


def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    for src in re.findall(r'(?:src|href)="(/console/[^"]+)"', r.text):
        f = client.get(src)
        assert f.status_code == 200 and f.headers["x-content-type-options"] == "nosniff", src
    assert client.get("/console/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/console/style.css").headers["content-type"].startswith("text/css")
    for name in ("samples.json", "console_routes.py", "..%2Fserver.py", "index.html"):
        r = client.get(f"/console/{name}")
        assert r.status_code == 404 and "error" in r.json(), name


def test_console_needs_no_internet():
    """No CDN, no remote font or script: every URL in the page's files is the SVG namespace."""
    for name in ["index.html", *STATIC]:
        text = (CONSOLE_DIR / name).read_text(encoding="utf-8")
        urls = set(re.findall(r"https?://[^\s\"')]+", text))
        assert urls <= {"http://www.w3.org/2000/svg"}, (name, urls)


def test_api_key_guards_the_api_not_the_page(keyed_server):
    with httpx.Client(base_url=keyed_server.url, timeout=30) as c:
        assert c.get("/").status_code == 200 and c.get("/console/roi.js").status_code == 200
        for path in ("/v1/library", "/v1/samples", "/v1/tasks"):
            r = c.get(path)
            assert r.status_code == 401 and "API key" in r.json()["error"], path
        assert c.post("/v1/roi", json={"n_tasks": 3}).status_code == 401
        assert c.get("/v1/library", headers={"X-API-Key": "s3cret-key"}).status_code == 200
        assert c.post("/v1/roi", json={"n_tasks": 3}, headers={"Authorization": "Bearer s3cret-key"}).status_code == 200


def test_library_lists_every_entry_without_tensors(client, tiny_backbone):
    body = client.get("/v1/library").json()
    fingerprint = tiny_backbone.fingerprint.to_dict()
    assert body["backbone"] == {"name": "tiny-random-llama", "fingerprint": fingerprint}
    entries = {e["task"]: e for e in body["entries"]}
    assert sorted(entries) == sorted(TASKS)
    for name, (type_, method, metrics) in TASKS.items():
        e = entries[name]
        assert (e["type"], e["method"], e["metrics"], e["prompt_length"]) == (type_, method, metrics, 4)
        assert e["backbone"] == fingerprint and e["command"] == (RUN_COMMAND if metrics else None)
        assert "prompt" not in e
    assert entries["med_ner"]["parameters"] == 4 + 64 and entries["med_ner"]["rank"] == 1
    assert entries["drug_re"]["parameters"] == 4 * 64
    assert entries["problem_nli"]["primary_metric"] == "macro_f1"


def test_library_without_a_folder_uses_the_engine(console_engine):
    """An app built from an engine alone (no library folder) still lists its tasks; no command then."""
    with live(console_engine, None) as server:
        entries = httpx.get(f"{server.url}/v1/library", timeout=30).json()["entries"]
    assert [e["task"] for e in entries] == sorted(TASKS)
    assert all(e["command"] is None and e["backbone"]["hidden_size"] == 64 for e in entries)
    assert {e["task"]: e["parameters"] for e in entries}["med_ner"] == 68


def test_roi_is_the_cli_json(client, tmp_path):
    body = {"backbone": "llama-3.1-8b", "n_tasks": 12, "prompt_length": 50, "rank": 2, "lora_rank": 16,
            "requests_per_day": 5000, "gpu_price_per_hour": 2.5}
    r = client.post("/v1/roi", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == cli_roi("--backbone", "llama-3.1-8b", "--tasks", "12", "--prompt-length", "50", "--rank",
                               "2", "--lora-rank", "16", "--requests-per-day", "5000", "--gpu-price-per-hour", "2.5")
    assert client.post("/v1/roi", json={"n_tasks": 5}).json() == cli_roi("--tasks", "5")
    moe = {"backbone": "gpt-oss-20b", "n_tasks": 3, "lora_targets": "q_proj,down_proj", "dtype_bytes": 1,
           "gpu_memory_gb": 40}
    assert client.post("/v1/roi", json=moe).json() == cli_roi(
        "--backbone", "gpt-oss-20b", "--tasks", "3", "--lora-targets", "q_proj,down_proj", "--dtype-bytes", "1",
        "--gpu-memory-gb", "40")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(QWEN_CONFIG))
    r = client.post("/v1/roi", json={"backbone_config": QWEN_CONFIG, "n_tasks": 4})
    assert r.status_code == 200 and r.json() == cli_roi("--backbone", str(path), "--tasks", "4")


@pytest.mark.parametrize("body, message", [
    ({"n_tasks": 0}, "n_tasks (--tasks) must be an integer >= 1"),
    ({"n_tasks": 3, "prompt_length": -1}, "prompt_length (--prompt-length) must be an integer >= 1"),
    ({"n_tasks": 3, "dtype_bytes": 3}, "dtype_bytes must be 1"),
    ({"n_tasks": 3, "gpu_price_per_hour": -2}, "gpu_price_per_hour must be a number >= 0"),
    ({"n_tasks": 3, "backbone": "gpt-5"}, "unknown backbone 'gpt-5'"),
    ({"n_tasks": 3, "backbone": "/etc/passwd"}, "unknown backbone"),
    ({"n_tasks": 3, "lora_targets": "nope_proj"}, "lora_targets ['nope_proj'] invalid"),
    ({"n_tasks": 3, "backbone_config": {"model_type": "llama"}}, "backbone config lacks 'hidden_size'"),
    ({"n_tasks": 3, "backbone_config": {"model_type": "bert"}}, "model_type 'bert'"),
    ({"n_tasks": "many"}, "malformed request: body.n_tasks"),
    ({"n_tasks": 2.5}, "malformed request: body.n_tasks"),
    ({}, "malformed request: body.n_tasks: Field required"),
    ({"n_tasks": 3, "tasks": 3}, "malformed request: body.tasks"),
])
def test_roi_bad_values_are_422_json(client, body, message):
    r = client.post("/v1/roi", json=body)
    assert r.status_code == 422 and message in r.json()["error"], r.text


def test_samples_cover_every_type_and_are_valid_inputs(client):
    samples = client.get("/v1/samples").json()["samples"]
    assert samples == load_samples() and sorted(samples) == sorted(TYPES)
    for type_, items in samples.items():
        assert len(items) >= 2, type_
        for item in items:
            assert item["title"] and check_input(type_, item["input"], item["title"]) == item["input"]


def test_tasks_give_the_console_each_types_input_form(client, monkeypatch):
    """The page builds its input fields from GET /v1/tasks "types" (the TaskTypes' `inputs`), so a newly
    registered type gets a form with no edit to the JavaScript."""
    types = client.get("/v1/tasks").json()["types"]
    assert types == type_forms() and list(types) == ["ner", "re", "nli", "qa", "mcqa", "summarization"]
    assert types["mcqa"] == {"label": "Multiple choice", "fields": [
        {"name": "context", "label": "Context", "kind": "text", "optional": True},
        {"name": "question", "label": "Question", "kind": "line", "optional": False},
        {"name": "options", "label": "Options", "kind": "options", "optional": False}]}
    toy = dataclasses.replace(TASK_TYPES["nli"], name="toy_pair", label="Toy pairs")
    monkeypatch.setitem(TASK_TYPES, "toy_pair", toy)
    served = client.get("/v1/tasks").json()["types"]
    assert served["toy_pair"] == {"label": "Toy pairs", "fields": types["nli"]["fields"]}
