"""`clinical-mpt serve`: the REST API over a prompt library (see docs/serving.md).

    clinical-mpt serve [--library DIR] [--host 127.0.0.1] [--port 8000] [--api-key KEY]
    curl -s localhost:8000/v1/predict -H 'content-type: application/json' \
         -d '{"task": "med_ner", "input": {"text": "Pt started on metformin 500 mg."}}'
"""

from __future__ import annotations

import logging
import os
import sys

API_KEY_ENV = "CLINICAL_MPT_API_KEY"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def configure(parser) -> None:
    parser.add_argument("--library", metavar="DIR",
                        help="prompt library (default: $CLINICAL_MPT_LIBRARY, else the shipped libraries/default)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", help=f"require this key on every request (default: ${API_KEY_ENV}, else none)")
    parser.add_argument("--backbone", help="backbone to load (default: the library's)")
    parser.add_argument("--dtype", default="auto", help="auto | bfloat16 | float32 | float16")
    parser.add_argument("--tasks", help="comma-separated tasks to serve (default: all of the library)")
    parser.add_argument("--max-batch-size", type=int, default=16, help="rows merged into one forward pass")
    parser.add_argument("--max-wait-ms", type=float, default=10.0, help="time the worker waits to fill a batch")
    parser.add_argument("--timeout-s", type=float, default=60.0, help="per-request limit, then 504")
    parser.add_argument("--max-request-bytes", type=int, default=1_000_000, help="larger bodies get 413")
    parser.add_argument("--max-input-chars", type=int, default=20_000, help="longer inputs get 413")
    parser.add_argument("--max-items", type=int, default=64, help="items per request, more get 413")
    parser.add_argument("--max-input-tokens", type=int, default=320, help="inputs are truncated to this")
    parser.add_argument("--max-new-tokens", type=int, help="cap on generated tokens (default: the task type's)")
    parser.add_argument("--decode", default="eager", choices=["eager", "static", "compiled"],
                        help="eager: the reference decoder, batch by batch (default); static: a static KV cache "
                             "with continuous batching; compiled: the same with a torch.compile'd decode step "
                             "(see docs/performance.md)")
    parser.add_argument("--cache-size", type=int, default=64, help="prompt K/V states kept in memory (tasks, LRU)")
    parser.add_argument("--classification", choices=("rank", "generate"), default="rank", help="nli / mcqa: rank the labels / options by log-likelihood, as evaluation scores them (default), or generate the answer")
    parser.add_argument("--reload-interval", type=float, default=2.0, metavar="S",
                        help="check the library for added, removed or changed entries every S seconds "
                             "(0 = only on POST /v1/library/reload)")
    parser.add_argument("--shutdown-timeout", type=float, default=30.0, metavar="S",
                        help="on SIGTERM, answer the requests in flight for at most S seconds, then exit")


def main(args) -> int:
    from clinical_mpt.commands.library import task_names
    from clinical_mpt.errors import ConfigError
    from clinical_mpt.library import resolve_library
    from clinical_mpt.serve.engine import Engine, EngineConfig
    from clinical_mpt.serve.server import ServerConfig, run_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    if args.host not in LOOPBACK and not api_key:
        print(f"warning: serving on {args.host} without an API key; anyone who can reach this port can use it "
              f"(set --api-key or ${API_KEY_ENV})", file=sys.stderr)
    tasks = task_names(args.tasks)
    if args.reload_interval < 0 or args.shutdown_timeout <= 0:
        raise ConfigError(f"--reload-interval {args.reload_interval:g} / --shutdown-timeout {args.shutdown_timeout:g}: "
                          "give seconds, >= 0 for the interval (0 = no polling) and > 0 for the timeout")
    engine = Engine.from_library(args.library, backbone_name=args.backbone, dtype=args.dtype, tasks=tasks,
                                 config=EngineConfig(max_batch_size=args.max_batch_size,
                                                     max_input_tokens=args.max_input_tokens,
                                                     max_new_tokens=args.max_new_tokens,
                                                     cache_capacity=args.cache_size, decode=args.decode,
                                                     classification=args.classification))
    cfg = ServerConfig(host=args.host, port=args.port, api_key=api_key, max_batch_size=args.max_batch_size,
                       max_wait_ms=args.max_wait_ms, timeout_s=args.timeout_s,
                       max_request_bytes=args.max_request_bytes, max_input_chars=args.max_input_chars,
                       max_items=args.max_items, library=str(resolve_library(args.library)),
                       reload_interval_s=args.reload_interval or None, tasks=tasks,
                       shutdown_timeout_s=args.shutdown_timeout)
    print(f"serving {len(engine.tasks)} tasks on http://{args.host}:{args.port} (docs at /docs)", file=sys.stderr)
    run_server(engine, cfg)
    return 0
