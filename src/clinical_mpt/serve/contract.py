"""The OpenAPI document as the server's contract: what `/openapi.json` adds to FastAPI's own schema.

FastAPI documents the routes and their bodies; the rest of what the server enforces lives in the
`Guard` middleware and in `parse_items`, so it is written into the document here:

- the API key, as two security schemes (`Authorization: Bearer KEY` or `X-API-Key: KEY`), required on
  every documented route when the server has a key;
- the statuses every route can answer: 401 (key missing or wrong, when there is a key), 405 (another
  method; the answer carries `Allow`), 413 (body over `max_request_bytes`), and for routes with a
  body 400 (a body that cannot be read) and 422 (a body that does not fit the schema);
- the limits of a prediction request: at least one and at most `max_items` items. (The input
  limit, `max_input_chars` over the fields the task's type reads, depends on the task and is stated
  in the description: a schema cannot say it.)

Every error answers JSON {"error": "..."} (`ErrorBody`).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from clinical_mpt.serve.schemas import ErrorBody

ERROR_REF = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
WHY = {
    400: "the request body could not be read (e.g. not valid UTF-8)",
    401: "missing or invalid API key",
    404: "unknown task, or no such route",
    405: "method not allowed on this route (the `Allow` header lists the allowed ones)",
    413: "request body, item count or input length over the server's limits",
    422: "the request body does not fit the schema, or an input lacks a field its task type needs",
    500: "the prediction failed inside the server (see its log)",
    504: "not answered within the server's timeout; retry, or send fewer items",
}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer KEY"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "X-API-Key: KEY"},
}


def error_response(status: int) -> dict:
    return {"description": WHY[status], **ERROR_REF}


def _statuses(operation: dict, api_key: bool) -> list[int]:
    statuses = [405, 413] + ([401] if api_key else [])
    if "requestBody" in operation:
        statuses += [400, 422]
    return statuses


def _limit_predict_body(schema: dict, max_items: int, max_input_chars: int) -> None:
    """minItems/maxItems on the list form of POST /v1/predict; the input limit in its description."""
    items = schema["components"]["schemas"].get("PredictItem")
    if items is not None:
        items["properties"]["input"]["description"] += (
            f". At most {max_input_chars} characters over the fields the task's type reads (else 413)")
    body = schema["paths"].get("/v1/predict", {}).get("post", {}).get("requestBody")
    if body is None:
        return
    for alternative in body["content"]["application/json"]["schema"].get("anyOf", []):
        if alternative.get("type") == "array":
            alternative.update(minItems=1, maxItems=max_items)


def contract_schema(app: FastAPI, api_key: bool, max_items: int, max_input_chars: int) -> dict:
    """FastAPI's OpenAPI document plus the security, statuses and limits the server enforces."""
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["ErrorBody"] = ErrorBody.model_json_schema()
    if api_key:
        components["securitySchemes"] = SECURITY_SCHEMES
        schema["security"] = [{"bearer": []}, {"apiKey": []}]
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status in _statuses(operation, api_key):  # FastAPI's own 422 body is not what the server sends
                responses[str(status)] = error_response(status)
    _limit_predict_body(schema, max_items, max_input_chars)
    return schema


def install_contract(app: FastAPI, api_key: bool, max_items: int, max_input_chars: int) -> None:
    """Serve `contract_schema` at /openapi.json (built once, on the first request)."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = contract_schema(app, api_key, max_items, max_input_chars)
        return app.openapi_schema

    app.openapi = openapi
