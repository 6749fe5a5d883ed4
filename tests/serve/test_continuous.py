"""The engine's fast decoding (`EngineConfig.decode` static / compiled): a static KV cache with continuous
batching gives every request the eager engine's prediction, offline (`predict`) and behind the server's
worker (requests arriving while others decode)."""

from __future__ import annotations

import time

import pytest
from test_engine import random_prompts, requests_for

from clinical_mpt.errors import ClinicalMPTError
from clinical_mpt.serve.batcher import DynamicBatcher
from clinical_mpt.serve.engine import Engine, EngineConfig, Request, UnknownTaskError


@pytest.fixture(scope="module")
def mixed():
    """Tasks of three prompt lengths and every type: NLI labels next to summaries."""
    tasks = random_prompts(lengths=(8, 4, 8, 4, 12, 8))
    return tasks, requests_for(tasks, per_task=3, seed=1)


@pytest.fixture(scope="module")
def eager(lively_backbone, mixed):
    """The eager engine's predictions and its count of generated tokens."""
    tasks, reqs = mixed
    engine = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=4, max_new_tokens=24))
    return engine.predict(reqs), engine.generated_tokens


@pytest.fixture(scope="module")
def expected(eager):
    return eager[0]


@pytest.mark.parametrize("prompt_cache", [True, False], ids=["cached", "reencode"])
def test_static_decode_with_continuous_batching_gives_the_eager_predictions(lively_backbone, mixed, eager,
                                                                              prompt_cache):
    expected, tokens = eager
    tasks, reqs = mixed
    engine = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=4, max_new_tokens=24, decode="static",
                                                         prompt_cache=prompt_cache))
    assert engine.predict(reqs) == expected
    assert len({r["generation"] for r in expected}) > len(reqs) // 2      # the outputs really differ
    assert engine.generated_tokens == tokens


def test_engine_generate_on_the_static_cache_gives_the_eager_batch(lively_backbone, mixed):
    tasks, _ = mixed
    names = [t.name for t in tasks if t.prompt.shape[0] == 8]
    inputs = [[40 + i, 50, 60 + i][: 1 + i % 3] for i in range(len(names))]
    eager = Engine(lively_backbone, tasks, EngineConfig(max_new_tokens=20))
    fast = Engine(lively_backbone, tasks, EngineConfig(max_new_tokens=20, decode="static"))
    assert fast.generate(names, inputs) == eager.generate(names, inputs)


def test_an_unknown_decode_mode_is_refused():
    with pytest.raises(ClinicalMPTError, match="decode='fast'.*eager, static, compiled"):
        EngineConfig(decode="fast")


def test_the_worker_decodes_requests_as_they_arrive(lively_backbone, mixed, expected):
    """Requests submitted one by one while others decode: each gets its eager prediction; invalid and
    removed-task requests fail alone; a `call` runs after the rows in flight."""
    tasks, reqs = mixed
    engine = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=4, max_new_tokens=24, decode="static"))
    batcher = DynamicBatcher(engine, max_batch_size=4)
    batcher.start()
    try:
        futures = []
        for r in reqs:
            futures += batcher.submit([r])
            time.sleep(0.002)
        bad = batcher.submit([Request("nope", {"text": "x"})])[0]
        called = batcher.call(lambda: "ran")
        more = batcher.submit(reqs[:2])
        results = [f.result(timeout=120) for f in futures]
        assert called.result(timeout=120) == "ran"
        assert [f.result(timeout=120) for f in more] == expected[:2]
    finally:
        batcher.stop()
    assert results == expected
    with pytest.raises(UnknownTaskError):
        bad.result(timeout=1)
    assert batcher.rows == len(reqs) + 2


@pytest.mark.slow
def test_compiled_decode_gives_the_eager_predictions(lively_backbone, mixed, expected):
    tasks, reqs = mixed
    engine = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=4, max_new_tokens=24, decode="compiled"))
    assert engine.predict(reqs) == expected


def test_the_http_server_with_continuous_batching_answers_as_the_eager_one(tiny_library, lively_backbone):
    """The library's tasks over real HTTP, concurrent clients: a static-decode server gives the eager
    engine's predictions (and keeps the ids and order of a list request)."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from test_server import INPUTS

    from clinical_mpt.serve.server import ServerConfig, create_app
    from live_server import LiveServer

    def engine(decode: str) -> Engine:
        return Engine.from_library(tiny_library, backbone=lively_backbone,
                                   config=EngineConfig(max_batch_size=2, max_new_tokens=8, decode=decode))

    items = [{"task": t, "input": inp, "id": f"{t}-{k}"} for k in range(2) for t, inp in INPUTS.items()]
    expected = engine("eager").predict([Request(i["task"], i["input"], i["id"]) for i in items])
    with LiveServer(create_app(engine("static"), ServerConfig(max_batch_size=2))) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        with ThreadPoolExecutor(4) as pool:
            single = list(pool.map(lambda item: client.post("/v1/predict", json=item).json(), items))
        listed = client.post("/v1/predict", json=items).json()
    assert single == expected and listed == expected


def test_predict_cli_with_static_decoding_writes_the_eager_predictions(tiny_library, tmp_path):
    import json

    from test_predict_cli import run_predict

    rows = [{"id": f"p{i}", "premise": f"Admitted with fever day {i}.", "hypothesis": "The patient has fever."}
            for i in range(5)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    outs = {}
    for decode in ("eager", "static"):
        outs[decode] = tmp_path / f"{decode}.jsonl"
        assert run_predict(["--library", str(tiny_library), "--task", "problem_nli", "--input", str(src),
                            "--out", str(outs[decode]), "--batch-size", "2", "--dtype", "float32",
                            "--decode", decode]) == 0
    assert outs["static"].read_text() == outs["eager"].read_text()
    assert len(outs["eager"].read_text().splitlines()) == 5
