"""Prometheus metrics of `clinical-mpt serve`, exposed at GET /metrics (text format, prometheus-client).

    clinical_mpt_requests_total{task, status}        prediction items answered, by task and HTTP status
    clinical_mpt_request_seconds{task}               histogram: time to answer a request, per item's task
    clinical_mpt_batch_size                          histogram: rows per model batch
    clinical_mpt_queue_depth                         gauge: requests waiting for the model
    clinical_mpt_generated_tokens_total              tokens decoded, all tasks
    clinical_mpt_prompt_cache_hits_total             prompt K/V states found in the cache
    clinical_mpt_prompt_cache_misses_total           prompt K/V states computed
    clinical_mpt_library_tasks                       gauge: tasks served now
    clinical_mpt_library_refused_entries             gauge: library entries refused at the last load

Each app has its own CollectorRegistry, so several servers in one process do not clash. Labels carry
task names of the library and status codes only: a task name the library does not serve is counted as
task="unknown", so no label or value ever holds request text.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, float("inf"))
UNKNOWN_TASK = "unknown"


def batch_buckets(max_batch_size: int) -> tuple[float, ...]:
    """1, 2, 4, ... up to the largest batch the server makes."""
    edges, b = [], 1
    while b < max_batch_size:
        edges.append(float(b))
        b *= 2
    return (*edges, float(max_batch_size), float("inf"))


class EngineCollector:
    """Counters the engine keeps itself (generated tokens, prompt cache hits and misses), read at scrape."""

    def __init__(self, engine):
        self.engine = engine

    def collect(self):
        cache = self.engine.cache
        yield CounterMetricFamily("clinical_mpt_generated_tokens", "tokens decoded, all tasks",
                                  value=self.engine.generated_tokens)
        yield CounterMetricFamily("clinical_mpt_prompt_cache_hits", "prompt K/V states found in the cache",
                                  value=cache.hits)
        yield CounterMetricFamily("clinical_mpt_prompt_cache_misses", "prompt K/V states computed (not cached)",
                                  value=cache.misses)


class ServerMetrics:
    """The metrics of one app: `observe` wraps each prediction request; the rest is read at scrape time."""

    def __init__(self, engine, batcher, live=None, max_batch_size: int = 16):
        self.engine = engine
        self.registry = CollectorRegistry()
        self.requests = Counter("clinical_mpt_requests", "prediction items answered, by task and HTTP status",
                                ["task", "status"], registry=self.registry)
        self.request_seconds = Histogram("clinical_mpt_request_seconds", "time to answer a prediction request",
                                         ["task"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("clinical_mpt_batch_size", "rows per model batch",
                                    buckets=batch_buckets(max_batch_size), registry=self.registry)
        Gauge("clinical_mpt_queue_depth", "requests waiting for the model",
              registry=self.registry).set_function(batcher.queue.qsize)
        Gauge("clinical_mpt_library_tasks", "tasks served now",
              registry=self.registry).set_function(lambda: len(engine.tasks))
        Gauge("clinical_mpt_library_refused_entries", "library entries refused at the last load",
              registry=self.registry).set_function(lambda: len(live.refused) if live is not None else 0)
        self.registry.register(EngineCollector(engine))
        batcher.on_batch = self.batch_size.observe

    @contextmanager
    def observe(self, tasks: list[str]):
        """Count and time one prediction request of items for `tasks`; the status is 200, or that of
        the error raised (its `status` / `status_code`, else 500)."""
        start, status = time.perf_counter(), "200"
        try:
            yield
        except BaseException as e:
            status = str(getattr(e, "status", getattr(e, "status_code", 500)))
            raise
        finally:
            seconds, served = time.perf_counter() - start, self.engine.tasks
            for task in tasks:
                label = task if task in served else UNKNOWN_TASK
                self.requests.labels(label, status).inc()
                self.request_seconds.labels(label).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """(the text exposition of every metric, its content type)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
