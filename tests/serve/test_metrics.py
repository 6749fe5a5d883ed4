"""GET /metrics over real HTTP: the Prometheus text format (parsed with prometheus_client.parser),
counters equal to the requests sent concurrently, and no request text anywhere in it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from prometheus_client.parser import text_string_to_metric_families

from clinical_mpt.serve.engine import Engine, EngineConfig
from clinical_mpt.serve.server import ServerConfig, create_app
from live_server import LiveServer

SECRET = "QUAGGA-{}"
INPUTS = {
    "med_ner": lambda i: {"text": f"Pt started on metformin 500 mg PO daily. {SECRET.format(i)}"},
    "problem_nli": lambda i: {"premise": f"Admitted with pneumonia. {SECRET.format(i)}",
                              "hypothesis": "The patient has pneumonia."},
}
SENT = {"med_ner": 12, "problem_nli": 8}   # answered 200
UNKNOWN = 3                                # items naming a task the library does not have: 404


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_parse_and_count_the_requests_sent(tiny_library, tiny_backbone):
    engine = Engine.from_library(tiny_library, backbone=tiny_backbone, config=EngineConfig(max_new_tokens=4))
    cfg = ServerConfig(library=str(tiny_library), max_wait_ms=20, max_batch_size=8)
    jobs = [(task, i) for task, n in SENT.items() for i in range(n)] + [(f"{SECRET.format(i)}", i) for i in range(UNKNOWN)]
    with LiveServer(create_app(engine, cfg)) as live, httpx.Client(base_url=live.url, timeout=60) as c:
        def one(job):
            task, i = job
            body = {"task": task, "input": INPUTS[task](i) if task in INPUTS else {"text": "x"}}
            return task, c.post("/v1/predict", json=body).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(one, jobs))
        r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert sorted(code for _, code in codes) == [200] * sum(SENT.values()) + [404] * UNKNOWN
    got = samples(r.text)
    for task, n in SENT.items():
        assert got[("clinical_mpt_requests_total", (("status", "200"), ("task", task)))] == n
        assert got[("clinical_mpt_request_seconds_count", (("task", task),))] == n
    assert got[("clinical_mpt_requests_total", (("status", "404"), ("task", "unknown")))] == UNKNOWN
    rows = sum(SENT.values())
    assert got[("clinical_mpt_batch_size_sum", ())] == rows
    assert 1 <= got[("clinical_mpt_batch_size_count", ())] <= rows
    assert got[("clinical_mpt_queue_depth", ())] == 0
    assert got[("clinical_mpt_library_tasks", ())] == 4
    assert got[("clinical_mpt_generated_tokens_total", ())] == engine.generated_tokens > 0
    hits, misses = got[("clinical_mpt_prompt_cache_hits_total", ())], got[("clinical_mpt_prompt_cache_misses_total", ())]
    assert misses == 2 and hits + misses == rows             # one prompt state computed per task, then reused
    assert "QUAGGA" not in r.text and "metformin" not in r.text and "pneumonia" not in r.text
