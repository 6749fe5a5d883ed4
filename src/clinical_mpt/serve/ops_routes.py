"""Operations routes of `clinical-mpt serve`: Prometheus metrics and the library reload.

    GET  /metrics             the Prometheus text format (metrics.py)
    POST /v1/library/reload   re-read and re-verify the library now -> {"manifest_sha256", "loaded_at",
                              "tasks", "refused", "added", "removed", "changed"}  (live_library.py)

Both sit behind the server's API key and bind address like every other route.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from clinical_mpt.library import LibraryError
from clinical_mpt.serve.schemas import ErrorBody


class LibraryReload(BaseModel):
    """What POST /v1/library/reload answers: the library as served now, and what the reload changed."""

    manifest_sha256: str | None = Field(description="SHA-256 of the manifest.json served now")
    loaded_at: str | None = Field(description="when the library was loaded (ISO 8601, UTC)")
    tasks: list[str] = Field(description="tasks served now")
    refused: list[str] = Field(description="entries that failed verification (named in the server log)")
    added: list[str]
    removed: list[str]
    changed: list[str] = Field(description="tasks whose prompt changed (their cached states were dropped)")


def ops_router(metrics, live) -> APIRouter:
    """The routes for `metrics` (ServerMetrics) and `live` (LiveLibrary, or None without a library folder)."""
    router = APIRouter()

    @router.get("/metrics", response_class=Response,
                responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
    async def prometheus_metrics():
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @router.post("/v1/library/reload", response_model=LibraryReload,
                 responses={404: {"model": ErrorBody, "description": "the server has no library folder"},
                            503: {"model": ErrorBody, "description": "the manifest cannot be read; "
                                                                     "the served tasks are unchanged"}})
    def reload_library():  # a plain def: FastAPI runs it in a worker thread, the event loop keeps serving
        if live is None:
            raise HTTPException(404, "this server was started without a library folder; nothing to reload")
        try:
            return live.reload()
        except LibraryError as e:
            raise HTTPException(503, f"library not reloaded, the served tasks are unchanged: {e}") from None

    return router
