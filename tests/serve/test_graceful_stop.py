"""SIGTERM while `clinical-mpt serve` has requests queued and a batch running: every accepted request
gets its answer, the process exits 0, and it takes no new connections afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from live_server import free_port

REPO = Path(__file__).resolve().parents[2]
REQUESTS = 24
QUEUED = 4           # requests waiting for the model when SIGTERM comes


def test_sigterm_answers_every_accepted_request_then_exits_0(tiny_library, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "clinical_mpt", "serve", "--library", str(tiny_library), "--backbone",
           "tiny-random-llama", "--dtype", "float32", "--port", str(port), "--max-new-tokens", "16",
           "--max-batch-size", "1", "--max-wait-ms", "1", "--shutdown-timeout", "60"]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        answers: dict[int, object] = {}
        clients = [httpx.Client(base_url=url, timeout=90) for _ in range(REQUESTS)]
        ready = threading.Barrier(REQUESTS + 1)

        def one(i: int) -> None:
            ready.wait()                                   # all requests leave together
            try:
                r = clients[i].post("/v1/predict", json={"task": "med_ner", "input": {"text": f"note {i} " * 30}})
                answers[i] = r.status_code
            except httpx.ConnectError:
                answers[i] = "not accepted"
            except httpx.HTTPError as e:                   # accepted, then dropped: what must not happen
                answers[i] = type(e).__name__

        threads = [threading.Thread(target=one, args=(i,)) for i in range(REQUESTS)]
        for t in threads:
            t.start()
        ready.wait()
        queued = 0
        while queued < QUEUED and len(answers) < REQUESTS:  # one row per batch: they queue up
            queued = httpx.get(f"{url}/health", timeout=10).json()["queued"]
        assert queued >= QUEUED, f"requests did not queue up ({answers}); the test would prove nothing"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(90)
        for t in threads:
            t.join(90)
        for c in clients:
            c.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    assert code == 0, text[-2000:]
    assert sorted(answers) == list(range(REQUESTS))
    accepted = [v for v in answers.values() if v != "not accepted"]
    assert len(accepted) >= queued and set(accepted) == {200}, answers
    assert "stopped on SIGTERM" in text
    try:
        httpx.get(f"{url}/health", timeout=2)
        raise AssertionError("the stopped server still answers")
    except httpx.ConnectError:
        pass
