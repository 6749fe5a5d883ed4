"""Hostile requests against the REST server (real HTTP, uvicorn in a thread): path escapes, oversized
and malformed bodies, slow generations, and clinical text that must never reach the logs. Every
answer is a 4xx (or 504) with a JSON {"error": ...}; never a 500, never a file outside the library.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import LiveServer

from clinical_mpt.serve.engine import Engine, EngineConfig
from clinical_mpt.serve.server import ServerConfig, create_app

NER = {"task": "med_ner", "input": {"text": "Pt started on metformin 500 mg PO daily."}}
LIMITS = ServerConfig(max_items=8, max_input_chars=2000, max_request_bytes=20_000, max_wait_ms=5, timeout_s=30)


class OpenedFiles:
    """Records every file opened by this process while active (a sys.audit hook; hooks cannot be
    removed, so it stays installed but idle outside `with`)."""

    _instance = None

    def __init__(self):
        self.paths: list[str] = []
        self.active = False
        sys.addaudithook(self._hook)

    @classmethod
    def get(cls) -> "OpenedFiles":
        cls._instance = cls._instance or cls()
        return cls._instance

    def _hook(self, event, args):
        if self.active and event == "open" and args and isinstance(args[0], (str, bytes, Path)):
            self.paths.append(str(args[0]))

    def __enter__(self):
        self.paths, self.active = [], True
        return self

    def __exit__(self, *exc):
        self.active = False


@pytest.fixture(scope="module")
def sandbox(tiny_library, tmp_path_factory) -> tuple[Path, Path]:
    """(library, secret folder beside it holding what a `../secret` path escape would reach)."""
    root = tmp_path_factory.mktemp("sandbox")
    lib = Path(shutil.copytree(tiny_library, root / "library"))
    secret = Path(shutil.copytree(lib / "med_ner", root / "secret"))
    return lib, secret


@pytest.fixture(scope="module")
def engine(sandbox, tiny_backbone):
    return Engine.from_library(sandbox[0], backbone=tiny_backbone, config=EngineConfig(max_new_tokens=4))


@pytest.fixture(scope="module")
def client(engine):
    with LiveServer(create_app(engine, LIMITS)) as live, httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


def is_json_error(r: httpx.Response) -> bool:
    try:
        return isinstance(r.json().get("error"), str) and r.json()["error"] != ""
    except (ValueError, AttributeError):
        return False


# ---- path escapes ----------------------------------------------------------------------------------

ESCAPES = ["../secret", "../../etc/passwd", "/etc/passwd", "..", ".", "", "med_ner/../../secret",
           "med_ner/config.json", "..\\secret", "%2e%2e/secret", "manifest.json", "~/.ssh/id_rsa", "med_ner\x00"]


@pytest.mark.parametrize("task", ESCAPES)
def test_a_task_name_cannot_reach_a_file(client, sandbox, task):
    lib, secret = sandbox
    with OpenedFiles.get() as opened:
        r = client.post("/v1/predict", json={"task": task, "input": {"text": "x"}})
    assert r.status_code in (404, 422) and is_json_error(r), r.text
    reached = [p for p in opened.paths if Path(p).resolve().is_relative_to(secret.parent)]
    assert reached == [], f"a request opened {reached}"


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/docs/../../etc/passwd", "/docs/%2e%2e/%2e%2e/etc/passwd",
                                  "/v1/tasks/..%2f..%2fsecret", "/static/../secret/config.json"])
def test_url_paths_cannot_reach_a_file(client, sandbox, path):
    with OpenedFiles.get() as opened:
        r = client.get(path)
    assert r.status_code == 404 and is_json_error(r) and "root:" not in r.text
    assert not [p for p in opened.paths if Path(p).resolve().is_relative_to(sandbox[1].parent)]


def raw_get(url: str, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    """GET `path` exactly as written (httpx would normalise '..' segments away before sending)."""
    import http.client

    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


CONSOLE_ESCAPES = ["/console/..%2fserver.py", "/console/%2e%2e%2fconsole_routes.py", "/console/../server.py",
                   "/console/app.js/../../server.py", "/console/..%2f..%2f..%2fpyproject.toml", "/console/index.html",
                   "/console/samples.json", "/console/%00app.js", "/console/APP.JS"]


@pytest.mark.parametrize("path", CONSOLE_ESCAPES)
def test_the_console_serves_only_its_own_files(engine, path):
    """Raw paths (not normalised by a client) never reach a file beyond the console's whitelist."""
    from clinical_mpt.serve import console_routes

    with LiveServer(create_app(engine, LIMITS)) as live, OpenedFiles.get() as opened:
        status, body = raw_get(live.url, path)
    assert status in (400, 404) and b"import" not in body and b"[project]" not in body
    allowed = {str(console_routes.CONSOLE_DIR / name) for name in console_routes.STATIC}
    served = [p for p in opened.paths if "clinical_mpt" in p and not p.endswith((".py", ".pyc")) and p not in allowed]
    assert served == []


def test_an_api_key_protects_everything_but_the_console_page(engine):
    cfg = ServerConfig(api_key="k3y")
    with LiveServer(create_app(engine, cfg)) as live:
        for path in ("/", "/console/app.js", "/console/style.css"):
            assert raw_get(live.url, path)[0] == 200, path
        for path in ("/v1/library", "/v1/samples", "/v1/tasks", "/health", "/docs", "/openapi.json",
                     "/console/../v1/library", "/console/app.js/../../v1/library", "//v1/library", "/v1/library/",
                     "/v1/library?/console/app.js", "/v1/library#/console/app.js"):
            status, body = raw_get(live.url, path)
            assert status in (401, 404) and b"fingerprint" not in body, (path, status)
        assert raw_get(live.url, "/v1/library", {"X-API-Key": "k3y"})[0] == 200


def test_a_library_manifest_cannot_name_a_folder_outside_the_library(sandbox, tmp_path):
    """A tampered manifest listing '../secret' is refused on open: nothing outside is read or removed."""
    from clinical_mpt.library import Library, LibraryError

    lib = Path(shutil.copytree(sandbox[0], tmp_path / "lib"))
    secret = Path(shutil.copytree(sandbox[1], tmp_path / "secret"))
    manifest = json.loads((lib / "manifest.json").read_text())
    manifest["entries"]["../secret"] = manifest["entries"]["med_ner"]
    (lib / "manifest.json").write_text(json.dumps(manifest))
    with OpenedFiles.get() as opened, pytest.raises(LibraryError, match="'../secret' is not a task name"):
        Library.open(lib)
    assert not [p for p in opened.paths if Path(p).resolve().is_relative_to(secret)]
    with pytest.raises(LibraryError, match="no entry"):
        Library.open(sandbox[0]).load("../secret")
    assert (secret / "config.json").is_file()
    with OpenedFiles.get() as sanity:                     # the recorder does see the files a load reads
        Library.open(sandbox[0]).load("med_ner")
    assert any(p.endswith("med_ner/prompt.safetensors") for p in sanity.paths)


# ---- sizes and malformed bodies --------------------------------------------------------------------

def _chunks(total: int):
    for _ in range(total // 1000):
        yield b"x" * 1000


@pytest.mark.parametrize("name, kwargs, status, message", [
    ("declared too large", dict(json={"task": "med_ner", "input": {"text": "x" * 30_000}}), 413, "body too large"),
    ("chunked, no length", dict(content=_chunks(50_000)), 413, "body too large"),
    ("too many items", dict(json=[NER] * 9), 413, "too many items"),
    ("input too long", dict(json={"task": "med_ner", "input": {"text": "x" * 2001}}), 413, "2001 characters"),
    ("options too long", dict(json={"task": "drug_mcqa", "input": {"question": "q", "options": {
        "A": "a" * 1000, "B": "b" * 1000}}}), 413, "characters; the limit is 2000"),
    ("deep nesting", dict(content=b"[" * 9000 + b"]" * 9000), 400, ""),
    ("huge integer", dict(content=b'{"task": "med_ner", "input": {"text": "x"}, "id": ' + b"9" * 5000 + b"}"), 400, ""),
    ("invalid UTF-8", dict(content=b'{"task": "med_ner", "input": {"text": "\xff\xfe"}}'), 400, ""),
    ("lone surrogate", dict(content=b'{"task": "med_ner", "input": {"text": "\\ud800 x"}}'), 422, "lone surrogate"),
    ("NaN text", dict(content=b'{"task": "med_ner", "input": {"text": NaN}}'), 422, "non-empty string 'text'"),
    ("not an object", dict(json="med_ner"), 422, "malformed request"),
    ("empty body", dict(content=b""), 422, "malformed request"),
    ("unknown field", dict(json={**NER, "debug": True}), 422, "malformed request"),
    ("id not a string", dict(json={**NER, "id": 7}), 422, "malformed request: body"),
    ("task too long", dict(json={"task": "t" * 101, "input": {"text": "x"}}), 422, "malformed request"),
    ("nested options", dict(json={"task": "drug_mcqa", "input": {"question": "q", "options": {"A": {"x": 1}, "B": "b"}}}),
     422, "'options' must map"),
])
def test_oversized_and_malformed_bodies_get_a_json_4xx(client, name, kwargs, status, message):
    r = client.post("/v1/predict", headers={"content-type": "application/json"}, **kwargs)
    assert r.status_code == status and is_json_error(r) and message in r.json()["error"], r.text


BODIES = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10 ** 30) | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["task", "input", "id", "text", "premise", "hypothesis", "question", "context", "options", "A"])
        | st.text(max_size=5), inner, max_size=4),
    max_leaves=12)
TASKS = st.sampled_from(["med_ner", "problem_nli", "dose_qa", "drug_mcqa"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES | st.fixed_dictionaries({"task": TASKS, "input": BODIES}))
def test_random_bodies_never_cause_a_server_error(client, body):
    r = client.post("/v1/predict", content=json.dumps(body, allow_nan=True).encode(),  # NaN, Infinity too
                    headers={"content-type": "application/json"})
    assert r.status_code == 200 or (400 <= r.status_code < 500 and is_json_error(r)), (r.status_code, r.text)


ROI_VALUES = st.integers(-3, 3) | st.integers(-10 ** 20, 10 ** 20) | st.floats() | st.none() | st.text(max_size=4)
HF_CONFIG = {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
             "intermediate_size": 128, "vocab_size": 259}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(st.sampled_from(["n_tasks", "prompt_length", "rank", "lora_rank", "dtype_bytes",
                                               "batch_size", "seq_len", "requests_per_day", "gpu_price_per_hour",
                                               "gpu_memory_gb", "backbone", "lora_targets"]), ROI_VALUES),
       config=st.none() | st.dictionaries(st.sampled_from([*HF_CONFIG, "architectures", "head_dim",
                                                           "num_key_value_heads", "sliding_window"]), ROI_VALUES)
       .map(lambda d: {**HF_CONFIG, **d}))
def test_random_roi_requests_never_cause_a_server_error(client, fields, config):
    body = {"n_tasks": 3, **fields, "backbone_config": config}
    r = client.post("/v1/roi", content=json.dumps(body, allow_nan=True).encode(),
                    headers={"content-type": "application/json"})
    assert r.status_code == 200 or (400 <= r.status_code < 500 and is_json_error(r)), (r.status_code, r.text)


# ---- timeouts ----------------------------------------------------------------------------------------

class SlowOnce:
    """The real engine, but the first batch takes longer than the server's timeout."""

    def __init__(self, engine, seconds: float):
        self.inner, self.seconds, self.slow = engine, seconds, True

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def predict(self, requests):
        if self.slow:
            self.slow = False
            time.sleep(self.seconds)
        return self.inner.predict(requests)


def test_a_slow_generation_gets_504_and_the_server_keeps_serving(engine):
    cfg = ServerConfig(timeout_s=0.3, max_wait_ms=1)
    with LiveServer(create_app(SlowOnce(engine, 1.0), cfg)) as live, httpx.Client(base_url=live.url, timeout=30) as c:
        r = c.post("/v1/predict", json=NER)
        assert r.status_code == 504 and "timed out after 0.3 s" in r.json()["error"]
        time.sleep(1.0)                                   # the slow batch finishes in the background
        r = c.post("/v1/predict", json=NER)
        assert r.status_code == 200 and "entities" in r.json()


# ---- no clinical text in the logs --------------------------------------------------------------------

class Exploding:
    """An engine whose model fails with the input text in the exception message."""

    def __init__(self, engine):
        self.inner = engine

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def predict(self, requests):
        raise RuntimeError(f"CUDA error while processing {requests[0].input}")


def test_no_request_text_reaches_the_logs(engine, caplog, capfd):
    secret = "OKAPI-PATIENT-7731"
    bodies = [
        {"task": "med_ner", "input": {"text": f"{secret} started on heparin."}, "id": "ok"},        # 200
        {"task": "med_ner", "input": {"text": f"{secret} " * 300}},                                # 413 length
        {"task": "problem_nli", "input": {"premise": f"{secret}"}},                                 # 422 field
        {"task": f"{secret}", "input": {"text": f"{secret}"}},                                      # 404 task
        {"task": "med_ner", "input": {"text": f"{secret}"}, "extra": f"{secret}"},                  # 422 schema
        {"task": "med_ner", "input": {"text": 5}, "id": f"{secret}"},                               # 422 input
    ]
    with caplog.at_level(logging.DEBUG):
        with LiveServer(create_app(engine, LIMITS)) as live, httpx.Client(base_url=live.url, timeout=30) as c:
            codes = [c.post("/v1/predict", json=b).status_code for b in bodies]
            codes.append(c.post("/v1/predict", content=f'{{"task": "{secret}", "input": {{'.encode(),
                                headers={"content-type": "application/json"}).status_code)
        with LiveServer(create_app(Exploding(engine), LIMITS)) as live, httpx.Client(base_url=live.url, timeout=30) as c:
            r = c.post("/v1/predict", json={"task": "med_ner", "input": {"text": f"{secret} on heparin"}})
            codes.append(r.status_code)
            assert secret not in r.text                     # not echoed in the 500 either
    assert codes == [200, 413, 422, 404, 422, 422, 422, 500]
    assert "predict id=" in caplog.text and "RuntimeError" in caplog.text       # the log did record the events
    captured = capfd.readouterr()
    for where, text in [("log records", caplog.text), ("stdout", captured.out), ("stderr", captured.err)]:
        assert secret not in text, f"request text in the {where}"


def test_the_api_key_is_checked_before_the_body_is_read(engine):
    """An unauthenticated client cannot make the server buffer a large body (401 comes first)."""
    cfg = ServerConfig(api_key="k3y", max_request_bytes=1000)
    with LiveServer(create_app(engine, cfg)) as live, httpx.Client(base_url=live.url, timeout=30) as c:
        r = c.post("/v1/predict", content=_chunks(20_000), headers={"content-type": "application/json"})
        assert r.status_code == 401 and is_json_error(r)
        r = c.post("/v1/predict", json=NER, headers={"X-API-Key": "k3y"})
        assert r.status_code == 200
        assert c.post("/v1/predict", json=NER, headers={"X-API-Key": "k3y0"}).status_code == 401
        assert c.post("/v1/predict", json=NER, headers={"Authorization": "Basic k3y"}).status_code == 401

