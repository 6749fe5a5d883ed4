"""Dynamic batching: one worker thread owns the model; requests wait on futures.

Request handlers `submit` validated requests and get one Future each. The worker takes the oldest
waiting request, then gathers more (of any task) until the batch holds `max_batch_size` rows or
`max_wait_s` has passed since it took the first, runs them as one mixed-task `Engine.predict`, and
resolves the futures. A cancelled future (its HTTP request timed out) is skipped.

`call(fn)` runs fn on the same thread between two batches (a library reload swaps the engine's
tasks this way): requests queued before it run as one batch first, with the prompts they were
accepted with; a request whose task is gone by the time its batch runs fails alone (UnknownTaskError).

Continuous batching (an engine with a slot decoder, `EngineConfig.decode` static or compiled): the worker
takes the oldest waiting request and runs `Engine.run_continuous`, which pulls the next waiting requests
into free slots at every decode step and resolves each future as its row finishes; a `call` or stop
waits for the rows in flight, then runs (no request queued after it joins them).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

from clinical_mpt.serve.engine import Engine, Request, UnknownTaskError

log = logging.getLogger("clinical_mpt.serve")
_STOP = object()


@dataclass
class _Call:
    """A function to run on the model thread between batches, and the Future of its result."""

    fn: Callable
    future: Future


class DynamicBatcher:
    def __init__(self, engine: Engine, max_batch_size: int = 16, max_wait_s: float = 0.01):
        self.engine, self.max_batch_size, self.max_wait_s = engine, max_batch_size, max_wait_s
        self.queue: queue.Queue = queue.Queue()
        self.thread: threading.Thread | None = None
        self.batches = self.rows = 0
        self.on_batch: Callable[[int], None] | None = None  # called with each batch's row count (metrics)
        self._in_flight: list[Future] = []  # continuous batching: futures of the rows being decoded

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

    def call(self, fn: Callable) -> Future:
        """Run `fn()` on the model thread after the requests queued so far; -> the Future of its result.
        With no worker running it runs at once, here."""
        future: Future = Future()
        if self.thread is not None:
            self.queue.put(_Call(fn, future))
            return future
        try:
            future.set_result(fn())
        except Exception as e:
            future.set_exception(e)
        return future

    def _collect(self) -> tuple[list, object]:
        """Block for one item, then gather up to a full batch within max_wait_s;
        -> (requests, the control item that ended the batch early: _STOP, a _Call, or None)."""
        first = self.queue.get()
        if not isinstance(first, tuple):
            return [], first
        items, deadline = [first], time.monotonic() + self.max_wait_s
        while len(items) < self.max_batch_size:
            try:
                item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if not isinstance(item, tuple):
                return items, item
            items.append(item)
        return items, None

    def _loop(self) -> None:
        while True:
            items, control = self._continuous() if self.engine.decoder is not None else self._collect()
            self._run(items)
            if control is _STOP:
                return
            if control is not None:
                try:
                    control.future.set_result(control.fn())
                except Exception as e:  # the caller gets the error; the worker keeps running
                    control.future.set_exception(e)

    def _continuous(self) -> tuple[list, object]:
        """Block for one item; if a request, decode it and every request that arrives meanwhile, each in
        the next free slot -> ([], the control item that ended the run: _STOP, a _Call, or None)."""
        first = self.queue.get()
        if not isinstance(first, tuple):
            return [], first
        control, pending = None, [first]

        def pull(k: int) -> list:
            nonlocal control
            rows = []
            while len(rows) < k and control is None:
                if pending:
                    item = pending.pop()
                else:
                    try:
                        item = self.queue.get_nowait()
                    except queue.Empty:
                        break
                if not isinstance(item, tuple):
                    control = item  # no more rows: the run ends with the rows in flight
                    break
                row = self._row(*item)
                if row is not None:
                    rows.append(row)
            if rows:
                self.batches += 1
                self.rows += len(rows)
                if self.on_batch is not None:
                    self.on_batch(len(rows))
            return rows

        def done(future: Future, result: dict) -> None:
            future.set_result(result)

        try:
            self.engine.run_continuous(pull, done)
        except Exception as e:  # fail the rows in flight; the worker keeps running
            log.error("continuous decoding failed: %s", type(e).__name__)
            for f in self._in_flight:
                if not f.done():
                    f.set_exception(e)
        self._in_flight.clear()
        return [], control

    def _row(self, request: Request, future: Future):
        """The engine's row for a waiting request, or None (cancelled, or failed here: its task is gone,
        its input invalid)."""
        if not future.set_running_or_notify_cancel():
            return None
        if request.task not in self.engine.tasks:
            future.set_exception(UnknownTaskError(f"unknown task {request.task!r}: it was removed from the library"))
            return None
        try:
            if self.engine.ranks(request.task):  # NLI / MCQA under classification rank: one ranking pass, no slot
                future.set_result(self.engine.predict([request])[0])
                return None
            row = self.engine.request_row(request, future)
        except Exception as e:
            future.set_exception(e)
            return None
        self._in_flight = [f for f in self._in_flight if not f.done()] + [future]
        return row

    def _run(self, items: list) -> None:
        live = [(r, f) for r, f in items if f.set_running_or_notify_cancel()]
        served = self.engine.tasks
        for r, f in live:
            if r.task not in served:  # removed from the library after the request was accepted
                f.set_exception(UnknownTaskError(f"unknown task {r.task!r}: it was removed from the library"))
        live = [(r, f) for r, f in live if r.task in served]
        if not live:
            return
        start = time.perf_counter()
        try:
            results = self.engine.predict([r for r, _ in live])
        except Exception as e:  # resolve every waiting request; the worker keeps running
            log.error("batch of %d failed: %s", len(live), type(e).__name__)
            for _, f in live:
                f.set_exception(e)
            return
        self.batches += 1  # counted before the futures resolve: a client that has its answer sees its batch
        self.rows += len(live)
        if self.on_batch is not None:
            self.on_batch(len(live))
        for (_, f), res in zip(live, results):
            f.set_result(res)
        log.info("batch rows=%d tasks=%d ms=%.1f", len(live), len({r.task for r, _ in live}),
                 1000 * (time.perf_counter() - start))
