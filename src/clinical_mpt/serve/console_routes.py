"""The web console of `clinical-mpt serve`: a plain HTML/JS/CSS page and the three API routes it needs.

    GET  /                    the console (console/index.html); no API key needed, no CDN, no build step
    GET  /console/<file>      its scripts and style sheet (app.js, render.js, roi.js, style.css)
    GET  /v1/library          {"backbone": {"name", "fingerprint"}, "entries": [entry metadata, no tensors]}
    POST /v1/roi              ROIRequest -> exactly the JSON of `clinical-mpt roi --json` (same `compute_roi`)
    GET  /v1/samples          {"samples": {type: [{"title", "input": {...}}]}}  made-up texts for the page

The /v1 routes sit behind the server's API key like every other API route; the page asks the user
for the key and sends it as `X-API-Key`. Bad ROI values answer 422 {"error": "..."} naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from clinical_mpt.backbone_shapes import ALIASES, BUILTIN_CONFIGS
from clinical_mpt.errors import ClinicalMPTError

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
JS, CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
STATIC = {"app.js": JS, "render.js": JS, "roi.js": JS, "style.css": CSS}
PUBLIC_PATHS = frozenset({"/", *(f"/console/{name}" for name in STATIC)})  # served without the API key
HEADERS = {  # the page loads nothing from elsewhere and runs no inline script
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
ENTRY_FIELDS = ("task", "type", "method", "depth", "prompt_length", "hidden_size", "rank", "parameters", "instruction",
                "metrics", "command", "training", "created_at", "backbone")


BIG = 10**9  # upper bound of every ROI number: far past any real deployment, and no float overflow
BACKBONES = [*BUILTIN_CONFIGS, *ALIASES, "local"]  # "local": the console's choice when backbone_config is sent
LORA_NAMES = "q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|gate_up_proj"


def at_least(n: float) -> dict:
    """A lower bound that `compute_roi` enforces (with its own message), stated in the schema."""
    return {"json_schema_extra": {"minimum": n}}


class ROIRequest(BaseModel):
    """The inputs of `clinical-mpt roi`, with the same defaults and limits (see `clinical_mpt.roi.compute_roi`).

    Strict: a boolean is never a number (`"gpu_price_per_hour": false` is refused, not read as 0). The
    bounds `compute_roi` checks are in the schema too; what no schema can say (targets the architecture
    lacks, a config.json that is not a supported model) is answered 422 naming the field."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"backbone": "llama-3.1-8b", "n_tasks": 10, "prompt_length": 100, "lora_rank": 8,
                      "requests_per_day": 5000, "gpu_price_per_hour": 2.5}]})

    backbone: str = Field("smollm2-135m", max_length=200, json_schema_extra={"enum": BACKBONES},
                          description="a built-in backbone: smollm2-135m, llama-3.1-8b, meditron3-8b, gpt-oss-20b")
    backbone_config: dict | None = Field(None, description="a model's config.json (uploaded from the browser); "
                                                           "when given it replaces `backbone`")
    n_tasks: int = Field(le=BIG, description="how many clinical tasks to serve (--tasks)", **at_least(1))
    prompt_length: int = Field(100, le=BIG, **at_least(1))
    rank: int = Field(1, le=BIG, description="MPT rank r", **at_least(1))
    lora_rank: int = Field(8, le=BIG, **at_least(1))
    lora_targets: str = Field("q_proj,k_proj,v_proj,o_proj", max_length=200,
                              json_schema_extra={"pattern": rf"^\s*({LORA_NAMES})\s*(,\s*({LORA_NAMES})\s*)*$"},
                              description="comma-separated linears; gate_up_proj only on MoE models, "
                                          "gate_proj and up_proj only on dense ones")
    dtype_bytes: int = Field(2, description="1 (int8/fp8), 2 (bf16/fp16) or 4 (fp32)",
                             json_schema_extra={"enum": [1, 2, 4]})
    batch_size: int = Field(8, le=BIG, **at_least(1))
    seq_len: int = Field(512, le=BIG, **at_least(1))
    requests_per_day: int | None = Field(None, le=BIG, **at_least(1))
    gpu_price_per_hour: float | None = Field(None, le=BIG, allow_inf_nan=False, **at_least(0))
    gpu_memory_gb: float = Field(80.0, ge=0.01, le=BIG, allow_inf_nan=False,
                                 description="GB per GPU; from 0.01 (smaller would overflow the GPU count)")


def roi_result(body: ROIRequest) -> dict:
    """`compute_roi` on the request: the same dict `clinical-mpt roi --json` prints. ConfigError on bad values."""
    from clinical_mpt.backbone_shapes import builtin_shape, shape_from_hf_config
    from clinical_mpt.roi import compute_roi

    if body.backbone_config is not None:
        shape = shape_from_hf_config(body.backbone_config,
                                     name=str(body.backbone_config.get("_name_or_path") or "local config"))
    else:  # built-ins only: a web request never names a file on the server
        shape = builtin_shape(body.backbone)
    targets = tuple(t.strip() for t in body.lora_targets.split(",") if t.strip())
    return compute_roi(shape, body.n_tasks, prompt_length=body.prompt_length, rank=body.rank,
                       lora_rank=body.lora_rank, lora_targets=targets, dtype_bytes=body.dtype_bytes,
                       batch_size=body.batch_size, seq_len=body.seq_len, requests_per_day=body.requests_per_day,
                       gpu_price_per_hour=body.gpu_price_per_hour, gpu_memory_gb=body.gpu_memory_gb)


def entry_metadata(config: dict) -> dict:
    """The fields of an entry's config.json the console shows, plus the type's primary metric."""
    from clinical_mpt.tasks import get_task_type

    out = {key: config.get(key) for key in ENTRY_FIELDS}
    out["depth"] = out["depth"] or "input"  # entries written before deep prompts are input-level
    out["primary_metric"] = get_task_type(config["type"]).primary_metric
    return out


def library_metadata(engine, library: str | Path | None = None) -> dict:
    """Metadata of every served task: from the library's (checksum-verified) config.json files when
    `library` is the folder the engine was loaded from, else from the engine alone (no command then).
    An entry changed on disk since the engine loaded it is described from the engine too."""
    from clinical_mpt.library import Library, LibraryError

    lib = Library.open(library) if library is not None else None
    fingerprint = engine.backbone.fingerprint.to_dict()
    entries = []
    for info in engine.task_info():
        try:
            config = lib.entry_config(info["name"]) if lib is not None and info["name"] in lib.names() else None
        except LibraryError:
            config = None
        entries.append(entry_metadata(config or {**info, "task": info["name"], "backbone": fingerprint}))
    name = lib.backbone_name if lib is not None else engine.backbone.name
    return {"backbone": {"name": name, "fingerprint": fingerprint}, "entries": entries}


def load_samples() -> dict:
    """{type: [{"title", "input"}]} from console/samples.json (made-up texts, no real patients)."""
    return json.loads((CONSOLE_DIR / "samples.json").read_text(encoding="utf-8"))


def console_router(engine, library: str | Path | None = None) -> APIRouter:
    """The console's routes for `engine`; `library` is the folder its prompts came from, if known."""
    router = APIRouter()
    samples = {"samples": load_samples()}

    @router.get("/", include_in_schema=False)
    async def index():
        return FileResponse(CONSOLE_DIR / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)

    @router.get("/console/{name}", include_in_schema=False)
    async def static(name: str):
        if name not in STATIC:
            raise HTTPException(404, f"no console file {name!r}")
        return FileResponse(CONSOLE_DIR / name, media_type=STATIC[name], headers=HEADERS)

    @router.get("/v1/library")
    def library_entries():  # read at each request: the live library may have changed the served tasks
        return library_metadata(engine, library)

    @router.post("/v1/roi")
    async def roi(body: ROIRequest):
        try:
            return JSONResponse(roi_result(body))
        except ClinicalMPTError as e:
            raise HTTPException(422, str(e)) from None

    @router.get("/v1/samples")
    async def sample_texts():
        return samples

    return router
