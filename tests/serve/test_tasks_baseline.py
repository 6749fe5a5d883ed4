"""`/v1/tasks` says whether each prompt beats its task's majority baseline (library/baseline.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from clinical_mpt.serve.engine import Engine
from clinical_mpt.serve.server import create_app


def test_task_list_carries_the_below_baseline_flag(tiny_library, tiny_backbone):
    app = create_app(Engine.from_library(tiny_library, backbone=tiny_backbone))
    with TestClient(app) as client:
        tasks = {t["name"]: t for t in client.get("/v1/tasks").json()["tasks"]}
    assert tasks["med_ner"]["below_baseline"] is None  # a teacher with no recorded score: unknown
    assert isinstance(tasks["dose_qa"]["below_baseline"], bool)  # scored on test, baseline known
