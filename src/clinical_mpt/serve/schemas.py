"""Request and response bodies of the REST API (pydantic; they also make the OpenAPI docs at /docs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

INPUT_HELP = ("Input fields of the task's type, as in the canonical format: ner / re / summarization: "
              "text; nli: premise, hypothesis; qa: context, question; mcqa: question, options {key: text} "
              "[, context]")


class PredictItem(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"task": "med_ner", "input": {"text": "Pt started on metformin 500 mg PO daily."}}]})

    task: str = Field(description="task name, as listed by GET /v1/tasks", max_length=100)
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
    input_fields: list[str] = Field(description="fields the input needs ('?' = optional)")
    metrics: dict[str, Any] = Field(description="evaluation metrics by split, when known")


class TasksResponse(BaseModel):
    tasks: list[TaskInfo]


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
