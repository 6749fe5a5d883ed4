"""The registry, the TaskType contract, id alignment in score_predictions, and round trips."""

import pytest

from clinical_mpt.data.canonical import PREDICTION_FIELD, TYPES, validate_example
from clinical_mpt.errors import ConfigError, DataError
from clinical_mpt.tasks import TASK_TYPES, get_task_type, score_predictions
from clinical_mpt.tasks.base import INPUT_CUE

TEXT = "Metformin 500 mg po daily; aspirin 81 mg.\nNo heparin."
GOLD = {
    "ner": [{"id": "n1", "type": "ner", "text": TEXT, "entities": [
                {"type": "Drug", "start": 0, "end": 9, "text": "Metformin"},
                {"type": "Strength", "start": 10, "end": 16, "text": "500 mg"},
                {"type": "Drug", "start": 27, "end": 34, "text": "aspirin"},
                {"type": "Negated Drug", "start": 45, "end": 52, "text": "heparin"}]},
            {"id": "n2", "type": "ner", "text": "No medications.", "entities": []}],
    "re": [{"id": "r1", "type": "re", "text": TEXT, "relations": [
                {"type": "Strength-Drug", "head": {"text": "500 mg"}, "tail": {"text": "Metformin"}},
                {"type": "Route_Drug", "head": {"text": "po"}, "tail": {"text": "Metformin"}}]},
           {"id": "r2", "type": "re", "text": "Nothing.", "relations": []}],
    "qa": [{"id": "q1", "type": "qa", "context": TEXT, "question": "Which dose of aspirin?", "answers": ["81 mg", "81"]}],
    "mcqa": [{"id": "m1", "type": "mcqa", "question": "Which is negated?", "options": {"A": "aspirin", "B": "heparin"},
              "answer": "B", "context": TEXT},
             {"id": "m2", "type": "mcqa", "question": "Q?", "options": {"1": "x", "2": "y", "3": "z"}, "answer": "3"}],
    "nli": [{"id": "i1", "type": "nli", "premise": TEXT, "hypothesis": "The patient takes heparin.", "label": "contradiction"},
            {"id": "i2", "type": "nli", "premise": TEXT, "hypothesis": "The patient takes aspirin.", "label": "entailment"}],
    "summarization": [{"id": "s1", "type": "summarization", "text": TEXT, "summary": "On metformin and\naspirin."}],
}


def test_registry_covers_every_canonical_type():
    assert tuple(TASK_TYPES) == TYPES
    for name, tt in TASK_TYPES.items():
        assert get_task_type(name) is tt and tt.name == name
        assert tt.max_new_tokens > 0 and tt.default_instruction.strip()
    assert {n: t.primary_metric for n, t in TASK_TYPES.items()} == {
        "ner": "f1", "re": "f1", "qa": "f1", "mcqa": "accuracy", "nli": "macro_f1", "summarization": "rougeL"}


def test_unknown_type_lists_known_ones():
    with pytest.raises(ConfigError, match="ner, re, qa, mcqa, nli, summarization"):
        get_task_type("sentiment")
    with pytest.raises(ConfigError):
        score_predictions("pos", [], [])


@pytest.mark.parametrize("name", TYPES)
def test_round_trip_scores_perfect(name):
    tt, gold = TASK_TYPES[name], GOLD[name]
    for ex in gold:
        validate_example(ex, "fixture")
        text = tt.format_input(ex, None)
        target = tt.format_target(ex)
        assert text.endswith(INPUT_CUE) and tt.format_input(ex, "Custom.").startswith("Custom.\n")
        assert target.startswith(" ") and not target.startswith("  ") and "\n" not in target
    preds = [tt.parse(tt.format_target(ex), ex) for ex in gold]
    assert [p["id"] for p in preds] == [ex["id"] for ex in gold]
    metrics = tt.score(gold, preds)
    assert metrics[tt.primary_metric] == pytest.approx(1.0) and metrics["n"] == len(gold)
    assert all(0.0 <= v <= 1.0 for k, v in metrics.items() if k != "n")
    # ... and through the id-aligning entry point, with predictions shuffled
    assert score_predictions(name, gold, preds[::-1])[tt.primary_metric] == pytest.approx(1.0)


def test_ner_round_trip_also_recovers_spans():
    tt, gold = TASK_TYPES["ner"], GOLD["ner"]
    assert tt.score(gold, [tt.parse(tt.format_target(ex), ex) for ex in gold])["span_f1"] == 1.0


def test_missing_ids_count_as_empty_and_unknown_ids_are_ignored():
    gold = GOLD["mcqa"]
    preds = [{"id": "m1", "answer": "B"}, {"id": "zzz", "answer": "3"}]     # m2 missing, zzz not in gold
    assert score_predictions("mcqa", gold, preds) == {"accuracy": 0.5, "n": 2}
    ner = GOLD["ner"]
    # n1 missing -> no entities: tp 0, pred 0, gold 4; n2 empty both -> P 0, R 0, F1 0
    assert score_predictions("ner", ner, [{"id": "n2", "entities": []}]) == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "n": 2}
    assert score_predictions("nli", GOLD["nli"], []) == {"accuracy": 0.0, "macro_f1": 0.0, "n": 2}
    assert score_predictions("qa", GOLD["qa"], []) == {"exact_match": 0.0, "f1": 0.0, "n": 1}
    assert score_predictions("summarization", GOLD["summarization"], [])["rougeL"] == 0.0


@pytest.mark.parametrize("name", TYPES)
def test_duplicate_ids_are_an_error(name):
    gold = GOLD[name]
    field = PREDICTION_FIELD[name]
    empty = [] if name in ("ner", "re") else ""
    pred = {"id": gold[0]["id"], field: empty}
    with pytest.raises(DataError, match="duplicate id"):
        score_predictions(name, gold, [pred, dict(pred)])
    with pytest.raises(DataError, match="duplicate id"):
        score_predictions(name, gold + [gold[0]], [pred])
