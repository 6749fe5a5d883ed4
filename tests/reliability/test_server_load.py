"""Load: the real `clinical-mpt serve` process, 500 requests from 50 concurrent clients over 4 tasks.

Zero errors; every response equals the answer the server gives to the same input sent alone (the
batcher mixes tasks and rows, yet each row's generation must not depend on its batch-mates); peak
resident memory of the server process (VmHWM) stays bounded and does not grow with the load; the
server log never contains the request text.

The backbone is a local "lively" tiny Llama (tests/reliability/conftest.py) whose generations depend on
the input, so equal answers mean something (the plain tiny model answers ':' to everything).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from reliability_helpers import REPO, free_port

CLIENTS, REQUESTS, DISTINCT = 50, 500, 40
PEAK_RSS_LIMIT_MB = 1500      # generous: the measured peak is ~0.5 GB (torch + tiny model + uvicorn)
GROWTH_LIMIT_MB = 150         # resident memory after the load vs after the warm-up requests
SECRET = "ZEBRA{}QUAGGA"       # marks the clinical text of each request; must never reach the log


def make_input(i: int) -> tuple[str, dict]:
    """The i-th distinct (task, input); every input carries a unique secret marker."""
    tag, drug = SECRET.format(i), ["heparin", "aspirin", "metformin", "insulin", "warfarin"][i % 5]
    task = ["med_ner", "problem_nli", "dose_qa", "drug_mcqa"][i % 4]
    return task, {
        "med_ner": {"text": f"Pt started on {drug} {10 * i} mg PO daily. {tag}"},
        "problem_nli": {"premise": f"Admitted with pneumonia and {drug} allergy. {tag}",
                        "hypothesis": f"The patient takes {drug}."},
        "dose_qa": {"context": f"Pt on {drug} {i} units SC. {tag}", "question": f"What dose of {drug}?"},
        "drug_mcqa": {"question": f"Which drug was started? {tag}", "options": {"A": drug, "B": "aspirin", "C": "none"}},
    }[task]


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB, from /proc."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


@pytest.fixture(scope="module")
def served(tiny_library, lively_folder, tmp_path_factory):
    """(base url, pid, log path) of `clinical-mpt serve` running in its own process."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc to read the server's memory")
    port = free_port()
    log = tmp_path_factory.mktemp("serve_log") / "server.log"
    cmd = [sys.executable, "-m", "clinical_mpt", "serve", "--library", str(tiny_library), "--backbone",
           str(lively_folder), "--dtype", "float32", "--port", str(port), "--max-new-tokens", "8",
           "--max-batch-size", "16", "--max-wait-ms", "20", "--timeout-s", "60"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"server exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "server did not start within 120 s"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, proc.pid, log
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_500_requests_from_50_clients_match_the_single_request_answers(served, record_property):
    url, pid, log = served
    inputs = [make_input(i) for i in range(DISTINCT)]
    with httpx.Client(base_url=url, timeout=30) as c:                 # the reference: one request at a time
        alone = []
        for task, inp in inputs:
            r = c.post("/v1/predict", json={"task": task, "input": inp})
            assert r.status_code == 200, r.text
            alone.append({k: v for k, v in r.json().items() if k != "id"})
    assert len({a["generation"] for a in alone}) > 5, "generations do not depend on the input; the test is vacuous"
    warm = memory_mb(pid)

    def plan(k: int) -> list[int]:
        """Request k asks for these distinct inputs: one, or (every 10th request) a list of three."""
        first = (7 * k) % DISTINCT
        return [first, (first + 1) % DISTINCT, (first + 2) % DISTINCT] if k % 10 == 0 else [first]

    local, clients = threading.local(), []
    errors, mismatches = [], []

    def client() -> httpx.Client:                                     # one connection per client thread
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=60)
            clients.append(local.client)
        return local.client

    def one(k: int) -> None:
        want = plan(k)
        items = [{"task": inputs[i][0], "input": inputs[i][1], "id": f"r{k}-{j}"} for j, i in enumerate(want)]
        try:
            r = client().post("/v1/predict", json=items if len(items) > 1 else items[0])
        except httpx.HTTPError as e:
            errors.append(f"request {k}: {type(e).__name__}")
            return
        if r.status_code != 200:
            errors.append(f"request {k}: HTTP {r.status_code} {r.text[:200]}")
            return
        got = r.json() if isinstance(r.json(), list) else [r.json()]
        for j, (i, answer) in enumerate(zip(want, got)):
            if answer.get("id") != f"r{k}-{j}" or {k2: v for k2, v in answer.items() if k2 != "id"} != alone[i]:
                mismatches.append((k, i, answer, alone[i]))

    start = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, range(REQUESTS)))
    seconds = time.monotonic() - start
    for c in clients:
        c.close()
    after = memory_mb(pid)
    health = httpx.get(f"{url}/health", timeout=10).json()

    record_property("load_seconds", round(seconds, 1))
    record_property("server_peak_rss_mb", round(after["VmHWM"], 1))
    record_property("server_rss_growth_mb", round(after["VmRSS"] - warm["VmRSS"], 1))
    print(f"\n{REQUESTS} requests / {CLIENTS} clients in {seconds:.1f}s ({REQUESTS / seconds:.0f} req/s); server RSS "
          f"{warm['VmRSS']:.0f} MB after warm-up, {after['VmRSS']:.0f} MB after load, peak {after['VmHWM']:.0f} MB")
    assert errors == [], errors[:5]
    assert mismatches == [], mismatches[:3]
    assert health["queued"] == 0
    assert after["VmHWM"] < PEAK_RSS_LIMIT_MB
    assert after["VmRSS"] - warm["VmRSS"] < GROWTH_LIMIT_MB

    text = log.read_text(errors="replace")
    batches = [line for line in text.splitlines() if "batch rows=" in line]
    assert batches and max(int(line.split("rows=")[1].split()[0]) for line in batches) > 1  # requests were merged
    assert "QUAGGA" not in text and "heparin" not in text                                  # no clinical text logged
