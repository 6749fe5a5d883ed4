"""The synthetic clinical suite: 21 source + 10 target tasks, valid canonical examples whose labels
are correct by construction, deterministic from a seed, laid out as the training code expects."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from clinical_mpt.data.canonical import NLI_LABELS, TYPES, validate_examples
from clinical_mpt.data.jsonl import read_jsonl
from clinical_mpt.data.synth import build_suite, generate_suite
from clinical_mpt.data.synth.compose import Doc, Slot, choose, expand, required_slots
from clinical_mpt.data.synth.styles import STYLES
from clinical_mpt.data.synth.suite import SPLITS

# the study's five task types: NER, RE, QA (extractive or multiple choice), NLI, summarization
FIVE_TYPES = {"ner": "ner", "re": "re", "qa": "qa", "mcqa": "qa", "nli": "nli", "summarization": "summarization"}
MAIN_TEXT = {"ner": "text", "re": "text", "qa": "context", "mcqa": "question", "nli": "premise", "summarization": "text"}


@pytest.fixture(scope="module")
def built():
    return build_suite(0)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth0")
    return out, generate_suite(out, seed=0)


def _rows(data: dict, name: str) -> list[dict]:
    return [ex for split in SPLITS for ex in data[name][split]]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---- the task table ----------------------------------------------------------------------------
def test_21_sources_and_10_targets_covering_every_type(built):
    suite, _ = built
    sources = [t for t in suite["tasks"] if t["role"] == "source"]
    targets = [t for t in suite["tasks"] if t["role"] == "target"]
    assert len(sources) == 21 and len(targets) == 10
    assert {t["type"] for t in sources} == set(TYPES)   # every canonical type, extractive QA included
    assert {FIVE_TYPES[t["type"]] for t in targets} == set(FIVE_TYPES.values())
    assert not {t["name"] for t in sources} & {t["name"] for t in targets}
    assert len({t["name"] for t in suite["tasks"]}) == 31


def test_suite_json_has_the_keys_training_reads(built):
    suite, _ = built
    assert suite["name"] == "clinical-synth" and suite["version"] == 1 and suite["seed"] == 0
    assert suite["synthetic"] is True and "SYNTHETIC" in suite["description"]
    for t in suite["tasks"]:
        assert {"name", "type", "role", "style", "description", "instruction", "labels", "sizes"} <= set(t)
        assert t["style"] in STYLES and t["instruction"] and "\n" not in t["instruction"]
        assert set(t["sizes"]) == set(SPLITS) and all(n > 0 for n in t["sizes"].values())
        if t["type"] == "nli":
            assert sorted(t["labels"]) == sorted(NLI_LABELS)
        if t["type"] in ("qa", "summarization"):
            assert t["labels"] == []


def test_at_least_two_targets_use_a_style_no_source_uses(built):
    suite, _ = built
    source_styles = {t["style"] for t in suite["tasks"] if t["role"] == "source"}
    unseen = [t["name"] for t in suite["tasks"] if t["role"] == "target" and t["style"] not in source_styles]
    assert len(unseen) >= 2, unseen
    assert len({t["style"] for t in suite["tasks"]}) >= 5


# ---- every example ------------------------------------------------------------------------------
def test_every_example_validates_with_unique_ids_and_declared_sizes(built):
    suite, data = built
    for t in suite["tasks"]:
        for split in SPLITS:
            rows = data[t["name"]][split]
            assert len(rows) == t["sizes"][split]
            validate_examples(rows, f"{t['name']}/{split}", t["type"])
            assert all(ex["task"] == t["name"] and ex["id"].startswith(f"{t['name']}-{split}-") for ex in rows)
        ids = [ex["id"] for ex in _rows(data, t["name"])]
        assert len(ids) == len(set(ids))


def test_entity_and_relation_offsets_point_at_their_text(built):
    suite, data = built
    for t in suite["tasks"]:
        if t["type"] not in ("ner", "re"):
            continue
        for ex in _rows(data, t["name"]):
            spans = ex.get("entities", []) + [r[a] for r in ex.get("relations", []) for a in ("head", "tail")]
            for ent in spans:
                assert ex["text"][ent["start"]:ent["end"]] == ent["text"], (ex["id"], ent)
                assert ent["text"] == ent["text"].strip()
            keys = {(e["start"], e["end"], e["type"]) for e in ex.get("entities", [])}
            for rel in ex.get("relations", []):   # relation arguments are entities of the example
                assert (rel["head"]["start"], rel["head"]["end"], rel["head"]["type"]) in keys
                assert (rel["tail"]["start"], rel["tail"]["end"], rel["tail"]["type"]) in keys


def test_labels_are_declared_and_all_used(built):
    suite, data = built
    for t in suite["tasks"]:
        rows = _rows(data, t["name"])
        if t["type"] == "ner":
            used = {e["type"] for ex in rows for e in ex["entities"]}
        elif t["type"] == "re":
            used = {r["type"] for ex in rows for r in ex["relations"]}
        elif t["type"] == "nli":
            used = {ex["label"] for ex in rows}
        elif t["type"] == "mcqa":
            assert all(sorted(ex["options"]) == sorted(t["labels"]) for ex in rows)
            used = {ex["answer"] for ex in rows}
        else:
            continue
        assert used == set(t["labels"]), (t["name"], used ^ set(t["labels"]))


def test_qa_answers_are_spans_of_the_context(built):
    suite, data = built
    for t in suite["tasks"]:
        if t["type"] == "qa":
            for ex in _rows(data, t["name"]):
                assert all(a and a in ex["context"] for a in ex["answers"]), ex["id"]


def test_mcqa_options_are_distinct_and_answers_balanced(built):
    suite, data = built
    for t in suite["tasks"]:
        if t["type"] == "mcqa":
            rows = _rows(data, t["name"])
            assert all(len(set(ex["options"].values())) == len(ex["options"]) for ex in rows)
            counts = Counter(ex["answer"] for ex in rows)
            assert max(counts.values()) < 2.5 * min(counts.values()), (t["name"], counts)


def test_texts_vary_and_stay_short(built):
    suite, data = built
    for t in suite["tasks"]:
        rows = _rows(data, t["name"])
        texts = [ex[MAIN_TEXT[t["type"]]] for ex in rows]
        assert len(set(texts)) > 0.5 * len(texts), t["name"]
        limit = 700 if t["type"] == "summarization" else 450
        assert sum(len(x) < limit for x in texts) >= 0.95 * len(texts), t["name"]
        inputs = [json.dumps([ex.get(k) for k in ("text", "context", "question", "options", "premise", "hypothesis")])
                  for ex in rows]
        assert len(set(inputs)) == len(inputs), f"{t['name']}: an input repeats (possibly across splits)"


def test_texts_read_like_notes(built):
    _, data = built
    corpus = "\n".join(ex.get("text", "") + ex.get("context", "") + ex.get("premise", "")
                       for rows in data.values() for split in rows.values() for ex in split)
    for marker in (r"\bdenies\b", r"\bno evidence of\b", r"\bpt\b|\bPt\b", r"\bhx\b|\bh/o\b", r"\bBID\b|\bbid\b",
                   r"\bPRN\b|\bprn\b", r"\bc/o\b", r"\bmg\b", r"^- ", r"\bS: ", r"FINDINGS:"):
        assert re.search(marker, corpus, re.MULTILINE), marker


# ---- files and determinism ------------------------------------------------------------------------
def test_files_are_laid_out_and_read_back(written, built):
    out, suite = written
    assert json.loads((out / "suite.json").read_text(encoding="utf-8")) == suite
    _, data = built
    for t in suite["tasks"]:
        for split in SPLITS:
            path = out / t["role"] / t["name"] / f"{split}.jsonl"
            assert read_jsonl(path) == data[t["name"]][split]
    expected = {"suite.json"} | {f"{t['role']}/{t['name']}/{s}.jsonl" for t in suite["tasks"] for s in SPLITS}
    assert set(_files(out)) == expected   # nothing else (no temporary files)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(written, tmp_path):
    out0, _ = written
    generate_suite(tmp_path / "again", seed=0)
    assert _files(tmp_path / "again") == _files(out0)
    generate_suite(tmp_path / "seed1", seed=1)
    other = _files(tmp_path / "seed1")
    first = _files(out0)
    assert set(other) == set(first)
    changed = [k for k in first if k != "suite.json" and first[k] != other[k]]
    assert len(changed) == len(first) - 1   # every data file differs


def test_build_is_independent_of_the_global_rng(built):
    random.seed(12345)
    suite, data = build_suite(0)
    assert (suite, data) == built


# ---- composing text ------------------------------------------------------------------------------
def test_doc_offsets_survive_capitalization_abbreviation_and_misspelling():
    style = STYLES["inst_a_terse"]
    for seed in range(30):
        doc = Doc(style, random.Random(seed))
        doc.section("hpi")
        found = doc.sentence("{Drug}[ {Strength}][ {Route}] started for {Reason} with <rash|hives:ADE>",
                             {"Drug": Slot("metoprolol", "Drug"), "Strength": Slot("25 mg", "Strength"),
                              "Reason": Slot("hypertension", "Reason")})
        text = doc.finish()
        assert set(found) == {"Drug", "Strength", "Reason", "ADE"}
        for ent in doc.entities:
            assert text[ent["start"]:ent["end"]] == ent["text"]


def test_narrative_capitalizes_an_entity_that_opens_a_sentence():
    doc = Doc(STYLES["inst_b_narrative"], random.Random(0))
    ent = doc.sentence("{P} improved", {"P": Slot("pneumonia", "Problem")})["P"]
    assert doc.finish() == "Pneumonia improved." and ent == {"type": "Problem", "start": 0, "end": 9, "text": "Pneumonia"}


def test_optional_groups_and_template_choice():
    assert expand("{A}[ {B}][ x{C}]", {"A": 1, "C": 1}) == "{A} x{C}"
    assert required_slots("{A}[ {B}] for {C}") == {"A", "C"}
    with pytest.raises(ValueError):
        choose(random.Random(0), ["{A} {B}"], {"A": 1})
