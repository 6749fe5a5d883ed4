"""The REST server over real HTTP: a uvicorn server in a background thread on a free 127.0.0.1 port."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from clinical_mpt.serve.engine import Engine, EngineConfig
from clinical_mpt.serve.server import ServerConfig, create_app
from live_server import LiveServer

INPUTS = {
    "dose_qa": {"context": "Pt started on heparin 5000 units SC.", "question": "What dose of heparin?"},
    "drug_mcqa": {"question": "Which drug was started?", "options": {"A": "heparin", "B": "aspirin"}},
    "med_ner": {"text": "Pt started on metformin 500 mg PO daily."},
    "problem_nli": {"premise": "Admitted with pneumonia.", "hypothesis": "The patient has pneumonia."},
}
FIELD = {"dose_qa": "answer", "drug_mcqa": "answer", "med_ner": "entities", "problem_nli": "label"}


@pytest.fixture(scope="module")
def engine(tiny_library, tiny_backbone):
    return Engine.from_library(tiny_library, backbone=tiny_backbone, config=EngineConfig(max_new_tokens=8))


@pytest.fixture(scope="module")
def server(engine):
    cfg = ServerConfig(max_items=8, max_input_chars=2000, max_request_bytes=20_000, max_wait_ms=20)
    app = create_app(engine, cfg)
    with LiveServer(app) as live:
        live.app = app
        yield live


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def test_health_and_tasks(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["tasks"] == 4
    assert len(r.headers["x-request-id"]) == 12
    tasks = {t["name"]: t for t in client.get("/v1/tasks").json()["tasks"]}
    assert sorted(tasks) == sorted(INPUTS)
    assert tasks["dose_qa"]["parameters"] == 72 and tasks["dose_qa"]["method"] == "mpt"
    assert tasks["med_ner"]["type"] == "ner" and tasks["med_ner"]["input_fields"] == ["text"]
    assert tasks["drug_mcqa"]["input_fields"] == ["question", "options", "context?"]


def test_single_and_list_predict(client):
    r = client.post("/v1/predict", json={"task": "med_ner", "input": INPUTS["med_ner"], "id": "note-7"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "note-7" and body["task"] == "med_ner" and isinstance(body["entities"], list)
    assert "generation" in body
    items = [{"task": t, "input": inp} for t, inp in INPUTS.items()]
    r = client.post("/v1/predict", json=items)
    assert r.status_code == 200, r.text
    out = r.json()
    assert [o["task"] for o in out] == list(INPUTS) and [o["id"] for o in out] == ["0", "1", "2", "3"]
    assert all(FIELD[o["task"]] in o for o in out)


@pytest.mark.parametrize("body, status, message", [
    ({"task": "nope", "input": {"text": "x"}}, 404, "unknown task 'nope'"),
    ([{"task": "med_ner", "input": {"text": "x"}}] * 9, 413, "too many items: 9"),
    ({"task": "med_ner", "input": {"text": "x" * 2001}}, 413, "input is 2001 characters; the limit is 2000"),
    ({"task": "med_ner", "input": {"text": "x" * 30_000}}, 413, "request body too large"),
    ({"task": "problem_nli", "input": {"premise": "x"}}, 422, "needs a non-empty string 'hypothesis'"),
    ({"input": {"text": "x"}}, 422, "malformed request: body"),
    ({"task": "med_ner", "input": {"text": "x"}, "extra": 1}, 422, "malformed request"),
    ([], 422, "empty list"),
])
def test_client_errors_are_json(client, body, status, message):
    r = client.post("/v1/predict", json=body)
    assert r.status_code == status and message in r.json()["error"], r.text


def test_malformed_json_and_unknown_routes(client):
    r = client.post("/v1/predict", content=b'{"task": "med_ner", "input": {', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"].startswith("malformed request")
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and "error" in r.json()


def test_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v1/predict" in spec["paths"] and "PredictItem" in json.dumps(spec)


def test_api_key_is_checked_on_every_request(engine):
    with LiveServer(create_app(engine, ServerConfig(api_key="s3cret"))) as live, \
            httpx.Client(base_url=live.url, timeout=30) as c:
        for path in ("/health", "/v1/tasks", "/docs"):
            r = c.get(path)
            assert r.status_code == 401 and "API key" in r.json()["error"]
        item = {"task": "med_ner", "input": INPUTS["med_ner"]}
        assert c.post("/v1/predict", json=item, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.post("/v1/predict", json=item, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/health", headers={"X-API-Key": "s3cret"}).status_code == 200


class SlowEngine:
    """The real engine, made slower than the server's timeout."""

    def __init__(self, engine):
        self.inner = engine

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def predict(self, requests):
        time.sleep(0.5)
        return self.inner.predict(requests)


def test_a_slow_generation_gets_504(engine):
    with LiveServer(create_app(SlowEngine(engine), ServerConfig(timeout_s=0.1))) as live, \
            httpx.Client(base_url=live.url, timeout=30) as c:
        r = c.post("/v1/predict", json={"task": "med_ner", "input": INPUTS["med_ner"]})
        assert r.status_code == 504 and "timed out" in r.json()["error"]


def test_100_concurrent_requests_across_tasks(client, server, caplog):
    names = list(INPUTS)
    secret = "ZEBRA-{}-TEXT"

    def one(i):
        task = names[i % len(names)]
        inp = dict(INPUTS[task])
        key = next(iter(inp))                                  # text, context, question or premise
        inp[key] = f"{inp[key]} {secret.format(i)}"
        r = client.post("/v1/predict", json={"task": task, "input": inp, "id": f"req-{i}"}, timeout=60)
        return i, task, r.status_code, r.json()

    with caplog.at_level(logging.INFO, logger="clinical_mpt.serve"), ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(100)))
    assert [code for _, _, code, _ in results] == [200] * 100
    for i, task, _, body in results:
        assert body["id"] == f"req-{i}" and body["task"] == task and FIELD[task] in body
    batches = [line for line in caplog.text.splitlines() if "batch rows=" in line]
    assert len(batches) < 100                                                   # requests were merged
    assert any(int(line.split("tasks=")[1].split()[0]) > 1 for line in batches)  # ... across tasks
    assert "ZEBRA" not in caplog.text                                           # no clinical text in logs
