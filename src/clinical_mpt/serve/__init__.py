"""Multi-task inference: the engine (mixed-task batches, prompt K/V states cached per task), the
dynamic batcher and the REST server. See docs/serving.md.

    engine.py        Engine, EngineConfig, TaskPrompt, Request
    prompt_cache.py  per-task prompt K/V states (LRU), stacked into a batch cache
    (the prefill and greedy loop: clinical_mpt.decoding, the decoder evaluation uses too)
    inputs.py        the input fields each task type needs
    batcher.py       one model thread, requests on futures, batches mixing tasks
    server.py        FastAPI app: /health, /v1/tasks, /v1/predict; API key, size limits, timeouts
    schemas.py       request / response models (OpenAPI at /docs)
    live_library.py  the library followed while serving: polled, re-verified, swapped between batches
    metrics.py       Prometheus metrics (a registry per app)
    ops_routes.py    GET /metrics, POST /v1/library/reload
"""
