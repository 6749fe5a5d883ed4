"""The REST API (FastAPI): health, task list, and predictions with dynamic mixed-task batching.

    GET  /health        {"status": "ok", "backbone", "tasks", "queued", "cached_prompts", "library_*"}
    GET  /v1/tasks      {"tasks": [{"name", "type", "method", "parameters", ...}], "types": {type: {"label", "fields"}}}
    POST /v1/predict    {"task", "input": {...}[, "id"]}  or a list of them  -> prediction(s)
    GET  /  and  /v1/library, /v1/roi, /v1/samples: the web console (see console_routes.py)
    GET  /metrics, POST /v1/library/reload: Prometheus metrics and the live library (see ops_routes.py)

Security defaults: binds to 127.0.0.1; optional API key checked on every request except the console's
static files (401); request bodies over `max_request_bytes`, lists over `max_items` and inputs over
`max_input_chars` are refused (413); a request not answered within `timeout_s` gets 504. Errors are
JSON {"error": "..."}. Logs carry request ids, sizes and timings only, never clinical text.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Body, FastAPI
from fastapi import Request as HTTPRequest
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from clinical_mpt.errors import ClinicalMPTError
from clinical_mpt.serve.batcher import DynamicBatcher
from clinical_mpt.serve.console_routes import PUBLIC_PATHS, console_router
from clinical_mpt.serve.contract import error_response, install_contract
from clinical_mpt.serve.engine import Engine, Request, UnknownTaskError
from clinical_mpt.serve.inputs import InputError, input_chars, type_forms
from clinical_mpt.serve.live_library import LiveLibrary
from clinical_mpt.serve.metrics import ServerMetrics
from clinical_mpt.serve.ops_routes import ops_router
from clinical_mpt.serve.schemas import Health, Prediction, PredictItem, TasksResponse

log = logging.getLogger("clinical_mpt.serve")


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None          # if set, every request needs it (Authorization: Bearer / X-API-Key)
    max_batch_size: int = 16            # rows merged into one forward pass
    max_wait_ms: float = 10.0           # how long the worker waits to fill a batch
    timeout_s: float = 60.0             # per HTTP request, queueing included -> 504
    max_request_bytes: int = 1_000_000  # -> 413
    max_input_chars: int = 20_000       # per item, all input fields together -> 413
    max_items: int = 64                 # items per request -> 413
    library: str | None = None          # folder the engine's prompts came from (the console's library page)
    reload_interval_s: float | None = None  # poll `library` for changes this often (None: only POST /v1/library/reload)
    tasks: list[str] | None = None      # the library tasks to serve (None: all of them, as they come and go)
    shutdown_timeout_s: float = 30.0    # on SIGTERM: longest wait for the requests in flight, then exit


class APIError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Guard:
    """ASGI middleware: request id, API key, body-size limit and metadata-only access logging."""

    def __init__(self, app, api_key: str | None, max_bytes: int):
        self.app, self.api_key, self.max_bytes = app, api_key, max_bytes

    def authorized(self, headers: dict) -> bool:
        given = headers.get(b"x-api-key") or b""
        auth = headers.get(b"authorization") or b""
        if auth.lower().startswith(b"bearer "):
            given = auth[7:].strip()
        return hmac.compare_digest(given, self.api_key.encode())

    async def read_body(self, headers: dict, receive) -> bytes | None:
        """The whole body, or None when it is larger than allowed."""
        try:
            if int(headers.get(b"content-length", b"0")) > self.max_bytes:
                return None
        except ValueError:
            return None
        chunks, size, more = [], 0, True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return None
            more = msg.get("more_body", False)
        return b"".join(chunks)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid, start, status = uuid.uuid4().hex[:12], time.perf_counter(), [0]
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(msg):
            if msg["type"] == "http.response.start":
                status[0] = msg["status"]
                msg["headers"] = list(msg.get("headers", [])) + [(b"x-request-id", rid.encode())]
            await send(msg)

        headers = dict(scope.get("headers", []))
        body = b""
        if self.api_key and scope["path"] not in PUBLIC_PATHS and not self.authorized(headers):
            response = error(401, "missing or invalid API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
        elif (body := await self.read_body(headers, receive)) is None:
            body = b""
            response = error(413, f"request body too large: the limit is {self.max_bytes} bytes")
        else:
            response, sent = None, [False]

            async def replay():
                if not sent[0]:
                    sent[0] = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send_with_id)
        if response is not None:
            await response(scope, receive, send_with_id)
        log.info("request id=%s %s %s status=%d bytes=%d ms=%.1f", rid, scope["method"], scope["path"],
                 status[0], len(body), 1000 * (time.perf_counter() - start))


def parse_items(engine: Engine, cfg: ServerConfig, body) -> list[Request]:
    items = body if isinstance(body, list) else [body]
    if not items:
        raise APIError(422, "empty list: send at least one {task, input} item")
    if len(items) > cfg.max_items:
        raise APIError(413, f"too many items: {len(items)} (the limit is {cfg.max_items} per request)")
    requests = []
    for i, item in enumerate(items):
        req = Request(item.task, item.input, item.id if item.id is not None else str(i))
        try:
            requests.append(Request(req.task, engine.check(req, f"item {i}"), req.id))
        except UnknownTaskError as e:
            raise APIError(404, str(e)) from None
        except InputError as e:
            raise APIError(422, str(e)) from None
        n = input_chars(requests[-1].input)
        if n > cfg.max_input_chars:
            raise APIError(413, f"item {i}: input is {n} characters; the limit is {cfg.max_input_chars}")
    return requests


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers JSON {"error": "..."}; validation errors name the field, never its value."""

    @app.exception_handler(APIError)
    async def _api_error(request, exc: APIError):
        return error(exc.status, exc.message)

    @app.exception_handler(HTTPException)
    async def _http_error(request, exc: HTTPException):  # keeps the `Allow` header of a 405
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error(422, f"malformed request: {where}: {first.get('msg', 'invalid')}")


def create_app(engine: Engine, cfg: ServerConfig | None = None, batcher: DynamicBatcher | None = None) -> FastAPI:
    """The FastAPI app; its worker thread starts and stops with the app's lifespan."""
    cfg = cfg or ServerConfig()
    batcher = batcher or DynamicBatcher(engine, cfg.max_batch_size, cfg.max_wait_ms / 1000)
    live = LiveLibrary(cfg.library, engine, batcher, cfg.reload_interval_s, cfg.tasks) if cfg.library else None
    metrics = ServerMetrics(engine, batcher, live, cfg.max_batch_size)

    @asynccontextmanager
    async def lifespan(app):
        batcher.start()
        if live is not None:
            live.start()
        yield
        if live is not None:
            live.stop()
        batcher.stop(cfg.shutdown_timeout_s)

    app = FastAPI(title="clinical-mpt", version="1", lifespan=lifespan,
                  description="Clinical NLP with one frozen LLM and one soft prompt per task. Inputs are "
                              "never logged.")
    app.state.batcher, app.state.live_library, app.state.metrics = batcher, live, metrics
    install_error_handlers(app)
    install_contract(app, cfg.api_key is not None, cfg.max_items, cfg.max_input_chars)

    @app.get("/health", response_model=Health)  # install_contract documents 401, 405, 413 on every route
    async def health():
        return {"status": "ok", "backbone": engine.backbone.name, "tasks": len(engine.tasks),
                "queued": batcher.queue.qsize(), "cached_prompts": len(engine.cache),
                "library_manifest_sha256": live.manifest_sha256 if live else None,
                "library_loaded_at": live.loaded_at if live else None,
                "library_refused": sorted(live.refused) if live else []}

    @app.get("/v1/tasks", response_model=TasksResponse)
    async def tasks():
        return {"tasks": engine.task_info(), "types": type_forms()}

    @app.post("/v1/predict", response_model=Prediction | list[Prediction],
              responses={c: error_response(c) for c in (404, 500, 504)})
    async def predict(request: HTTPRequest, body: PredictItem | list[PredictItem] = Body(...)):
        with metrics.observe([item.task for item in (body if isinstance(body, list) else [body])]):
            return await answer(request, body)

    async def answer(request: HTTPRequest, body: PredictItem | list[PredictItem]):
        start = time.perf_counter()
        requests = parse_items(engine, cfg, body)
        futures = batcher.submit(requests)
        try:
            results = await asyncio.wait_for(asyncio.gather(*[asyncio.wrap_future(f) for f in futures]),
                                              cfg.timeout_s)
        except (asyncio.TimeoutError, TimeoutError):
            for f in futures:
                f.cancel()
            raise APIError(504, f"generation timed out after {cfg.timeout_s:g} s; retry, or send fewer items") from None
        except UnknownTaskError as e:  # removed from the library while the request waited
            raise APIError(404, str(e)) from None
        except ClinicalMPTError as e:
            raise APIError(422, str(e)) from None
        except Exception as e:
            log.error("predict id=%s failed: %s", request.state.request_id, type(e).__name__)
            raise APIError(500, "prediction failed (internal error); see the server log") from None
        log.info("predict id=%s items=%d tasks=%s chars=%d ms=%.1f", request.state.request_id, len(requests),
                 ",".join(sorted({r.task for r in requests})), sum(input_chars(r.input) for r in requests),
                 1000 * (time.perf_counter() - start))
        return results if isinstance(body, list) else results[0]

    app.include_router(console_router(engine, cfg.library))
    app.include_router(ops_router(metrics, live))
    app.add_middleware(Guard, api_key=cfg.api_key, max_bytes=cfg.max_request_bytes)
    return app


def run_server(engine: Engine, cfg: ServerConfig) -> None:
    """Serve until SIGINT or SIGTERM: then stop accepting connections, answer the requests in flight
    (at most `shutdown_timeout_s`), stop the model thread and return (the command exits 0)."""
    import signal

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(engine, cfg), host=cfg.host, port=cfg.port, access_log=False,
                                           log_level="info", timeout_graceful_shutdown=cfg.shutdown_timeout_s))
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for the handler it found
    # installed: this one logs it instead of letting the default handler kill the process (exit 143).
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: log.info("stopped on SIGTERM"))
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
