"""Dynamic batching: one worker thread owns the model; requests wait on futures.

Request handlers `submit` validated requests and get one Future each. The worker takes the oldest
waiting request, then gathers more (of any task) until the batch holds `max_batch_size` rows or
`max_wait_s` has passed since it took the first, runs them as one mixed-task `Engine.predict`, and
resolves the futures. A cancelled future (its HTTP request timed out) is skipped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future

from clinical_mpt.serve.engine import Engine, Request

log = logging.getLogger("clinical_mpt.serve")
_STOP = object()


class DynamicBatcher:
    def __init__(self, engine: Engine, max_batch_size: int = 16, max_wait_s: float = 0.01):
        self.engine, self.max_batch_size, self.max_wait_s = engine, max_batch_size, max_wait_s
        self.queue: queue.Queue = queue.Queue()
        self.thread: threading.Thread | None = None
        self.batches = self.rows = 0

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="clinical-mpt-model", daemon=True)
            self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self.thread is not None:
            self.queue.put(_STOP)
            self.thread.join(timeout)
            self.thread = None

    def submit(self, requests: list[Request]) -> list[Future]:
        futures = []
        for r in requests:
            f: Future = Future()
            self.queue.put((r, f))
            futures.append(f)
        return futures

    def _collect(self) -> tuple[list, bool]:
        """Block for one item, then gather up to a full batch within max_wait_s; -> (items, stop)."""
        first = self.queue.get()
        if first is _STOP:
            return [], True
        items, deadline = [first], time.monotonic() + self.max_wait_s
        while len(items) < self.max_batch_size:
            try:
                item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is _STOP:
                return items, True
            items.append(item)
        return items, False

    def _loop(self) -> None:
        stop = False
        while not stop:
            items, stop = self._collect()
            live = [(r, f) for r, f in items if f.set_running_or_notify_cancel()]
            if not live:
                continue
            start = time.perf_counter()
            try:
                results = self.engine.predict([r for r, _ in live])
            except Exception as e:  # resolve every waiting request; the worker keeps running
                log.error("batch of %d failed: %s", len(live), type(e).__name__)
                for _, f in live:
                    f.set_exception(e)
                continue
            for (_, f), res in zip(live, results):
                f.set_result(res)
            self.batches += 1
            self.rows += len(live)
            log.info("batch rows=%d tasks=%d ms=%.1f", len(live), len({r.task for r, _ in live}),
                     1000 * (time.perf_counter() - start))
