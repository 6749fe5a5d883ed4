"""Request and response bodies of the REST API (pydantic; they also make the OpenAPI docs at /docs).

Request models are strict: a JSON boolean is never read as a number, nor a number as a string, so
what `/openapi.json` says a field takes is exactly what the server accepts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clinical_mpt.serve.inputs import input_fields
from clinical_mpt.tasks.registry import TASK_TYPES

INPUT_HELP = ("Input fields of the task's type, as in the canonical format ('?' = optional; options: {key: text}): "
              + "; ".join(f"{name}: {', '.join(input_fields(name))}" for name in TASK_TYPES))


class PredictItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"task": "med_ner", "input": {"text": "Pt started on metformin 500 mg PO daily."}}]})

    task: str = Field(description="task name, as listed by GET /v1/tasks (404 if unknown)", max_length=100)
    input: dict[str, Any] = Field(description=INPUT_HELP)
    id: str | None = Field(None, description="your identifier, echoed back (default: the item's index)",
                           max_length=200)


class Prediction(BaseModel):
    """One structured output: `entities` (ner), `relations` (re), `answer` (qa, mcqa), `label` (nli)
    or `summary` (summarization), plus the raw generated text."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "examples": [{"id": "0", "task": "med_ner", "type": "ner", "generation": "Drug: metformin",
                      "entities": [{"type": "Drug", "text": "metformin", "start": 14, "end": 23}]}]})

    id: str
    task: str
    type: str
    generation: str


class TaskInfo(BaseModel):
    name: str
    type: str
    method: str
    parameters: int = Field(description="parameters stored for this task (MPT: r(L + d))")
    prompt_length: int
    depth: str = Field("input", description="input (a soft prompt at the input embeddings) or deep (a per-layer "
                       "key/value prefix placed straight in the KV cache: no prompt prefill)")
    input_fields: list[str] = Field(description="fields the input needs ('?' = optional)")
    metrics: dict[str, Any] = Field(description="evaluation metrics by split, when known")
    below_baseline: bool | None = Field(None, description="true when the score is at or below the task's majority "
                                        "baseline (the prompt has not learned the task); null when unknown")


class InputFieldInfo(BaseModel):
    name: str
    label: str = Field(description="the field's name in the web console")
    kind: str = Field(description="text (multi-line string), line (one-line string) or options ({key: text})")
    optional: bool


class TypeInfo(BaseModel):
    label: str = Field(description="the task type's name in the web console")
    fields: list[InputFieldInfo]


class TasksResponse(BaseModel):
    tasks: list[TaskInfo]
    types: dict[str, TypeInfo] = Field(description="every task type (in the console's order): its input fields")


class Health(BaseModel):
    status: str
    backbone: str
    tasks: int
    queued: int
    cached_prompts: int
    library_manifest_sha256: str | None = Field(None, description="SHA-256 of the library manifest served now")
    library_loaded_at: str | None = Field(None, description="when the library was last loaded (ISO 8601, UTC)")
    library_refused: list[str] = Field([], description="library entries refused at the last load "
                                                       "(failed verification; see the server log)")


class ErrorBody(BaseModel):
    error: str
