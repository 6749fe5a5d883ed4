"""A new task type is one definition plus one registry line: registering a toy type (here with
monkeypatch, standing for the line in tasks/registry.py) is all the canonical validation, the score
checks, the server's input checks, the console's input forms and the synthetic suite's input keys need."""

import pytest

from clinical_mpt.data.canonical import validate_example, validate_examples
from clinical_mpt.data.synth.suite import input_key
from clinical_mpt.errors import DataError
from clinical_mpt.serve.inputs import InputError, check_input, input_fields, takes_one_text, type_forms
from clinical_mpt.tasks import TASK_TYPES, get_task_type, score_predictions, validate_prediction
from clinical_mpt.tasks.base import InputField, TaskType, build_input, check_aligned
from clinical_mpt.tasks.normalize import clean_generation

# ---- the toy module: triage urgency of a note, with an optional care setting -----------------------
LEVELS = ("urgent", "routine")


def validate(ex: dict, where: str) -> None:
    if ex.get("level") not in LEVELS:
        raise DataError(f"{where}: field 'level' must be one of {', '.join(LEVELS)}")


def format_input(ex: dict, instruction: str | None = None) -> str:
    lines = [f"Setting: {ex['setting']}"] if ex.get("setting") else []
    return build_input(instruction or "Is this urgent or routine?", lines + [f"Note: {ex['note']}"])


def parse(generated: str, ex: dict) -> dict:
    word = clean_generation(generated).lower()
    return {"id": ex.get("id"), "level": word if word in LEVELS else ""}


def score(gold: list[dict], preds: list[dict]) -> dict:
    check_aligned(gold, preds)
    n = len(gold)
    right = sum(g["level"] == p.get("level") for g, p in zip(gold, preds))
    return {"accuracy": right / n if n else 0.0, "n": n}


TRIAGE = TaskType(
    name="triage", label="Triage", primary_metric="accuracy", max_new_tokens=4,
    default_instruction="Is this urgent or routine?",
    inputs=(InputField("setting", "Care setting", "line", optional=True), InputField("note", "Clinical note")),
    prediction_field="level", validate=validate, format_input=format_input,
    format_target=lambda ex: " " + ex["level"], parse=parse, score=score)
# ----------------------------------------------------------------------------------------------------

GOLD = [{"id": "t1", "type": "triage", "note": "Chest pain radiating to the left arm.", "level": "urgent"},
        {"id": "t2", "type": "triage", "note": "Repeat prescription.", "setting": "GP", "level": "routine"}]


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(TASK_TYPES, "triage", TRIAGE)   # the one registry line
    return TRIAGE


def test_unregistered_toy_is_refused():
    assert "triage" not in TASK_TYPES
    with pytest.raises(DataError, match="unknown type 'triage'"):
        validate_example(GOLD[0], "row")


def test_canonical_validation_uses_the_toy_inputs_and_gold_check(toy):
    assert validate_examples([dict(ex) for ex in GOLD], "toy.jsonl") == GOLD
    with pytest.raises(DataError, match="toy.jsonl:1: field 'note' must be a string"):
        validate_example({"id": "x", "type": "triage", "level": "urgent"}, "toy.jsonl:1")
    with pytest.raises(DataError, match="field 'level' must be one of urgent, routine"):
        validate_example({**GOLD[0], "level": "soon"}, "row")
    with pytest.raises(DataError, match="field 'setting' must be a string"):   # optional, but typed when given
        validate_example({**GOLD[0], "setting": 3}, "row")
    assert get_task_type("triage") is toy


def test_predictions_and_scores_use_the_toy_prediction_field(toy):
    assert validate_prediction({"id": "t1", "level": "urgent"}, "pred:1", "triage")
    with pytest.raises(DataError, match="missing the prediction field 'level'"):
        validate_prediction({"id": "t1", "answer": "urgent"}, "pred:1", "triage")
    with pytest.raises(DataError, match="'level' must be a string"):
        validate_prediction({"id": "t1", "level": ["urgent"]}, "pred:1", "triage")
    preds = [toy.parse(toy.format_target(ex), ex) for ex in GOLD]
    assert score_predictions("triage", GOLD, preds) == {"accuracy": 1.0, "n": 2}
    assert score_predictions("triage", GOLD, preds[:1]) == {"accuracy": 0.5, "n": 2}   # t2 missing: ""


def test_server_inputs_use_the_toy_fields(toy):
    assert input_fields("triage") == ["note", "setting?"] and not takes_one_text("triage")
    assert check_input("triage", {"note": "Fever.", "level": "urgent"}) == {"note": "Fever."}   # gold ignored
    assert check_input("triage", {"note": "Fever.", "setting": "ED"}) == {"note": "Fever.", "setting": "ED"}
    with pytest.raises(InputError, match=r"a triage task needs a non-empty string 'note' \(fields: note, setting\?\)"):
        check_input("triage", {"setting": "ED"})


def test_console_forms_and_synth_keys_use_the_toy_fields(toy):
    forms = type_forms()   # what GET /v1/tasks sends the console as "types"
    assert list(forms)[-1] == "triage"   # not in the console's preferred order: listed last
    assert forms["triage"] == {"label": "Triage", "fields": [
        {"name": "setting", "label": "Care setting", "kind": "line", "optional": True},
        {"name": "note", "label": "Clinical note", "kind": "text", "optional": False}]}
    assert input_key(GOLD[1]) == '["GP", "Repeat prescription."]'


def test_input_kinds_are_checked():
    with pytest.raises(ValueError, match="kind 'number' is not one of text, line, options"):
        InputField("age", "Age", "number")
