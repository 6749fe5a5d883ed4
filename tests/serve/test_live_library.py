"""The live library over real HTTP, while clients keep sending requests for the other tasks:
a removed task 404s within the poll interval and its cached prompt states are dropped, an added one is
served, a tampered entry is refused (named in the log) while the rest keeps serving; POST
/v1/library/reload and /health report the manifest. An entry of another backbone is refused."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time

import httpx
import pytest
import torch

from clinical_mpt.library import Entry, Library
from clinical_mpt.serve.engine import Engine, EngineConfig
from clinical_mpt.serve.live_library import load_snapshot
from clinical_mpt.serve.server import ServerConfig, create_app
from live_server import LiveServer

INTERVAL = 0.2          # the poll interval the tests serve with (seconds)
SLACK = 3.0             # the batch in flight and a busy CI machine, on top of one interval
INPUTS = {
    "dose_qa": {"context": "Pt started on heparin 5000 units SC.", "question": "What dose of heparin?"},
    "drug_mcqa": {"question": "Which drug was started?", "options": {"A": "heparin", "B": "aspirin"}},
    "med_ner": {"text": "Pt started on metformin 500 mg PO daily."},
    "problem_nli": {"premise": "Admitted with pneumonia.", "hypothesis": "The patient has pneumonia."},
}


class Load:
    """`with Load(url, tasks) as load:` clients send requests for `tasks` in a loop until the block ends;
    `load.answers` counts them, `load.errors` keeps every answer that was not 200."""

    def __init__(self, url: str, tasks: list[str], clients: int = 3):
        self.url, self.tasks, self.answers, self.errors = url, tasks, 0, []
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(clients)]

    def client(self, i: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            k = i
            while not self.stopped.is_set():
                task = self.tasks[k % len(self.tasks)]
                r = c.post("/v1/predict", json={"task": task, "input": INPUTS[task]})
                self.answers += 1
                if r.status_code != 200:
                    self.errors.append(f"{task}: HTTP {r.status_code} {r.text[:200]}")
                k += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        for t in self.threads:
            t.join(30)


def wait_for(condition, timeout: float) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"not within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture()
def library(tiny_library, tmp_path):
    """A writable copy of the tiny library (4 tasks)."""
    return shutil.copytree(tiny_library, tmp_path / "library")


@pytest.fixture()
def served(library, tiny_backbone):
    """(live server, engine) over the copy, polling it every INTERVAL seconds."""
    engine = Engine.from_library(library, backbone=tiny_backbone, config=EngineConfig(max_new_tokens=4))
    cfg = ServerConfig(library=str(library), reload_interval_s=INTERVAL, max_wait_ms=5)
    with LiveServer(create_app(engine, cfg)) as live:
        yield live, engine


def status(c: httpx.Client, task: str) -> int:
    return c.post("/v1/predict", json={"task": task, "input": INPUTS[task]}).status_code


def test_removed_task_404s_within_the_poll_interval_and_is_served_again_once_added(served, library):
    live, engine = served
    lib = Library.open(library)
    entry = lib.load("med_ner")
    with httpx.Client(base_url=live.url, timeout=30) as c, Load(live.url, ["dose_qa", "drug_mcqa", "problem_nli"]) as load:
        assert status(c, "med_ner") == 200 and "med_ner" in engine.cache
        lib.remove("med_ner")                                        # what `clinical-mpt library remove` does
        assert wait_for(lambda: status(c, "med_ner") == 404, INTERVAL + SLACK) < INTERVAL + SLACK
        assert "med_ner" not in engine.cache and "med_ner" not in engine.cache.prompts
        assert "med_ner" not in [t["name"] for t in c.get("/v1/tasks").json()["tasks"]]
        assert "med_ner" not in [e["task"] for e in c.get("/v1/library").json()["entries"]]  # the console's list
        lib.add(entry)                                               # what `clinical-mpt library add` does
        wait_for(lambda: status(c, "med_ner") == 200, INTERVAL + SLACK)
        health = c.get("/health").json()
        time.sleep(2 * INTERVAL)                                     # the load keeps running a little longer
    assert health["tasks"] == 4
    assert health["library_manifest_sha256"] == hashlib.sha256((library / "manifest.json").read_bytes()).hexdigest()
    assert load.answers > 0 and load.errors == [], load.errors[:3]


def test_tampered_entry_is_refused_and_named_while_the_rest_keeps_serving(served, library, caplog):
    live, engine = served
    with caplog.at_level(logging.INFO, logger="clinical_mpt.serve"), \
            httpx.Client(base_url=live.url, timeout=30) as c, Load(live.url, ["drug_mcqa", "med_ner", "problem_nli"]) as load:
        assert status(c, "dose_qa") == 200
        path = library / "dose_qa" / "prompt.safetensors"
        data = bytearray(path.read_bytes())
        data[-1] ^= 0x01                                             # one bit of the prompt's values
        path.write_bytes(bytes(data))
        wait_for(lambda: status(c, "dose_qa") == 404, INTERVAL + SLACK)
        assert c.get("/health").json()["library_refused"] == ["dose_qa"]
        r = c.post("/v1/library/reload")                             # re-verifies every entry now
        time.sleep(2 * INTERVAL)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["refused"] == ["dose_qa"] and body["tasks"] == ["drug_mcqa", "med_ner", "problem_nli"]
    assert body["removed"] == [] and body["added"] == []
    assert any("refused entry dose_qa" in line and "SHA-256" in line for line in caplog.text.splitlines())
    assert load.answers > 0 and load.errors == [], load.errors[:3]


def test_reload_and_metrics_need_the_api_key(library, tiny_backbone):
    engine = Engine.from_library(library, backbone=tiny_backbone, config=EngineConfig(max_new_tokens=4))
    cfg = ServerConfig(library=str(library), api_key="k3y")
    with LiveServer(create_app(engine, cfg)) as live, httpx.Client(base_url=live.url, timeout=30) as c:
        assert c.post("/v1/library/reload").status_code == 401
        assert c.get("/metrics").status_code == 401
        r = c.post("/v1/library/reload", headers={"X-API-Key": "k3y"})
        assert r.status_code == 200 and r.json()["tasks"] == sorted(INPUTS) and r.json()["changed"] == []
        assert c.get("/metrics", headers={"X-API-Key": "k3y"}).status_code == 200


def test_an_entry_of_another_backbone_is_refused(library, tiny_backbone):
    """An entry whose manifest checksums were rewritten to match, but trained on another backbone."""
    config_path = library / "problem_nli" / "config.json"
    config = json.loads(config_path.read_text())
    key = next(iter(config["backbone"]))
    config["backbone"][key] = "another backbone"
    config_path.write_text(json.dumps(config))
    manifest = json.loads((library / "manifest.json").read_text())
    manifest["entries"]["problem_nli"]["files"]["config.json"] = hashlib.sha256(config_path.read_bytes()).hexdigest()
    (library / "manifest.json").write_text(json.dumps(manifest))
    snap = load_snapshot(library, tiny_backbone.fingerprint)
    assert sorted(t.name for t in snap.tasks) == ["dose_qa", "drug_mcqa", "med_ner"]
    assert list(snap.refused) == ["problem_nli"] and "different backbone" in snap.refused["problem_nli"]


def test_replacing_an_entry_under_load_never_fails_a_request(served, library, caplog):
    """`library add --replace` again and again while every task, the replaced one included, is requested:
    each request is answered with the old or the new prompt, never refused half-way."""
    live, engine = served
    lib = Library.open(library)
    original = lib.load("dose_qa")
    changed = Entry(dict(original.config), original.prompt * 1.5)
    with caplog.at_level(logging.INFO, logger="clinical_mpt.serve"), Load(live.url, sorted(INPUTS), clients=4) as load:
        for i in range(8):
            lib.add(changed if i % 2 == 0 else original, replace=True)
            time.sleep(INTERVAL * 1.5)
    assert load.answers > 0 and load.errors == [], load.errors[:3]
    wait_for(lambda: torch.equal(engine.tasks["dose_qa"].prompt, original.prompt), SLACK)
    assert "changed: dose_qa" in caplog.text                      # the new prompts were served in between
