"""The inference engine: mixed-task batches and cached prompt states change nothing but speed."""

from __future__ import annotations

import random

import pytest
import torch

from clinical_mpt.batching import TaskData
from clinical_mpt.decoding import DecodeBatch, prefill
from clinical_mpt.hf_compat import cache_kwarg, returned_cache
from clinical_mpt.library import LibraryError
from clinical_mpt.predict import predict_task
from clinical_mpt.serve import prompt_cache
from clinical_mpt.serve.engine import Engine, EngineConfig, Request, TaskPrompt, UnknownTaskError
from clinical_mpt.serve.inputs import InputError
from clinical_mpt.tasks import get_task_type

TYPES = ["ner", "qa", "nli", "summarization", "mcqa", "re"]
WORDS = "aspirin heparin pain fever mg daily the patient denies reports chest cough was given".split()


@pytest.fixture
def short_budgets(monkeypatch):
    """Every task type generates at most 16 tokens (for predict_task and the engine alike): faster."""
    import dataclasses

    from clinical_mpt.tasks import TASK_TYPES

    for name, tt in list(TASK_TYPES.items()):
        monkeypatch.setitem(TASK_TYPES, name, dataclasses.replace(tt, max_new_tokens=min(tt.max_new_tokens, 16)))


def random_prompts(lengths=(8,) * 6, seed=0) -> list[TaskPrompt]:
    g = torch.Generator().manual_seed(seed)
    return [TaskPrompt(f"task{i}_{t}", t, None, 0.05 * torch.randn(n, 64, generator=g))
            for i, (t, n) in enumerate(zip(TYPES, lengths))]


def random_input(type_: str, rng: random.Random) -> dict:
    def text(n):
        return " ".join(rng.choice(WORDS) for _ in range(n))
    n = rng.randint(2, 30)
    return {"ner": {"text": text(n)}, "re": {"text": text(n)}, "summarization": {"text": text(n)},
            "qa": {"context": text(n), "question": text(3)}, "nli": {"premise": text(n), "hypothesis": text(4)},
            "mcqa": {"question": text(n), "options": {"A": text(1), "B": text(1), "C": text(1)}}}[type_]


def requests_for(tasks: list[TaskPrompt], per_task: int = 3, seed: int = 0) -> list[Request]:
    rng = random.Random(seed)
    reqs = [Request(t.name, random_input(t.type, rng), f"{t.name}-{j}") for j in range(per_task) for t in tasks]
    rng.shuffle(reqs)
    return reqs


def test_mixed_batch_equals_one_task_at_a_time(lively_backbone):
    tasks = random_prompts()
    reqs = requests_for(tasks, per_task=2)
    engine = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=32, max_new_tokens=24))
    mixed = engine.predict(reqs)
    alone = [r for t in tasks for r in engine.predict([q for q in reqs if q.task == t.name])]
    assert sorted(mixed, key=lambda r: r["id"]) == sorted(alone, key=lambda r: r["id"])
    assert [r["id"] for r in mixed] == [q.id for q in reqs]                 # request order kept
    assert len({r["generation"] for r in mixed}) > len(reqs) // 2          # the outputs really differ


def test_cached_prompt_states_give_the_plain_predict_task_outputs(lively_backbone, short_budgets):
    tasks = random_prompts()
    reqs = requests_for(tasks, per_task=2)
    cached = Engine(lively_backbone, tasks).predict(reqs)
    uncached = Engine(lively_backbone, tasks, EngineConfig(prompt_cache=False)).predict(reqs)
    assert cached == uncached
    by_id = {r["id"]: r for r in cached}
    for t in tasks:
        rows = [dict(q.input, id=q.id) for q in reqs if q.task == t.name]
        plain = predict_task(lively_backbone, t.prompt, TaskData(t.name, t.type, None, rows), batch_size=4)
        for p in plain:
            assert p["generation"] == by_id[p["id"]]["generation"]


def test_library_prompts_on_the_plain_tiny_model(tiny_library, tiny_backbone, short_budgets):
    engine = Engine.from_library(tiny_library, backbone=tiny_backbone)
    rng = random.Random(1)
    reqs = [Request(name, random_input(t.type, rng), f"{name}-{j}") for j in range(2)
            for name, t in engine.tasks.items()]
    results = engine.predict(reqs)
    for name, t in engine.tasks.items():
        rows = [dict(q.input, id=q.id) for q in reqs if q.task == name]
        plain = predict_task(tiny_backbone, t.prompt, TaskData(name, t.type, t.instruction, rows))
        assert [p["generation"] for p in plain] == [r["generation"] for r in results if r["task"] == name]


def _oracle_logits(model, prompt, ids):
    """Unpadded forward of one row [prompt | text] -> logits at the text positions (n, V)."""
    emb = model.get_input_embeddings()(torch.tensor([ids]))
    embeds = torch.cat([prompt[None].to(emb.dtype), emb], dim=1)
    return model(inputs_embeds=embeds).logits[0, prompt.shape[0]:]


@torch.no_grad()
def test_cached_and_uncached_logits_agree_within_1e_5(lively_backbone):
    model = lively_backbone.model
    tasks = random_prompts()[:4]
    rng = random.Random(3)
    inputs = [[rng.randrange(3, 259) for _ in range(n)] for n in (5, 17, 1, 11)]
    states = [prompt_cache.compute_prompt_states(model, t.prompt) for t in tasks]
    budgets = [1] * len(inputs)
    cached = prefill(model, DecodeBatch(inputs, budgets, prefixes=states), logits_to_keep=0)
    uncached = prefill(model, DecodeBatch(inputs, budgets, prompts=[t.prompt for t in tasks]), logits_to_keep=0)
    (out_c, mask_c, pos_c), (out_u, mask_u, pos_u) = ((p.out, p.mask, p.position_ids) for p in (cached, uncached))
    for i, ids in enumerate(inputs):
        n = len(ids)
        oracle = _oracle_logits(model, tasks[i].prompt, ids)
        assert (out_c.logits[i, -n:] - oracle).abs().max().item() <= 1e-5
        assert (out_u.logits[i, -n:] - oracle).abs().max().item() <= 1e-5
    # one decoding step on top of each cache agrees too
    next_ids = out_c.logits[:, -1].argmax(-1)[:, None]
    steps = []
    for out, mask, pos in ((out_c, mask_c, pos_c), (out_u, mask_u, pos_u)):
        mask = torch.cat([mask, mask.new_ones(len(inputs), 1)], dim=1)
        steps.append(model(input_ids=next_ids, attention_mask=mask, position_ids=pos[:, -1:] + 1, use_cache=True,
                           **{cache_kwarg(model): returned_cache(out)}).logits[:, -1])
    assert (steps[0] - steps[1]).abs().max().item() <= 1e-5


def test_prompt_states_are_computed_once_per_task_and_capped(lively_backbone, monkeypatch):
    tasks = random_prompts()
    reqs = requests_for(tasks, per_task=2)
    calls = []
    real = prompt_cache.compute_prompt_states
    monkeypatch.setattr(prompt_cache, "compute_prompt_states", lambda m, p: calls.append(1) or real(m, p))
    engine = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=64, max_new_tokens=8))
    first = engine.predict(reqs)
    second = engine.predict(reqs)
    assert first == second and len(calls) == len(tasks)                    # reused, never re-encoded
    small = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=4, cache_capacity=2, max_new_tokens=8))
    assert small.predict(reqs) == first
    assert len(small.cache) == 2 and small.cache.nbytes() > 0


def test_tasks_with_other_prompt_lengths_go_to_separate_batches(lively_backbone):
    tasks = random_prompts(lengths=(8, 4, 8, 4, 12, 8))
    reqs = requests_for(tasks, per_task=1)
    engine = Engine(lively_backbone, tasks, EngineConfig(max_batch_size=64, max_new_tokens=16))
    lengths = {t.name: t.prompt.shape[0] for t in tasks}
    batches = engine.batches([q.task for q in reqs], [1] * len(reqs))
    assert len(batches) == 3 and all(len({lengths[reqs[i].task] for i in b}) == 1 for b in batches)
    mixed = engine.predict(reqs)
    assert mixed == [engine.predict([q])[0] for q in reqs]


def test_each_row_keeps_its_own_generation_budget(lively_backbone):
    tasks = random_prompts()
    engine = Engine(lively_backbone, tasks)
    names = [t.name for t in tasks]
    inputs = [[40 + i, 50, 60 + i] for i in range(len(tasks))]
    generated = engine.generate(names, inputs)
    budgets = [engine.budget(n) for n in names]
    assert budgets == [get_task_type(t).max_new_tokens for t in TYPES]  # the task types' own budgets
    assert all(len(g) <= b for g, b in zip(generated, budgets))
    assert max(len(g) for g in generated) > 4                      # short rows did not stop the long ones
    capped = Engine(lively_backbone, tasks, EngineConfig(max_new_tokens=2))
    assert all(len(g) <= 2 for g in capped.generate(names, inputs))


def test_requests_are_validated_before_anything_runs(lively_backbone):
    engine = Engine(lively_backbone, random_prompts())
    with pytest.raises(UnknownTaskError, match="unknown task 'nope'"):
        engine.predict([Request("task0_ner", {"text": "ok"}), Request("nope", {"text": "x"})])
    with pytest.raises(InputError, match="request 1: a nli task needs a non-empty string 'hypothesis'"):
        engine.predict([Request("task0_ner", {"text": "ok"}), Request("task2_nli", {"premise": "x"})])
    with pytest.raises(InputError, match="'options' must map at least two keys"):
        engine.predict([Request("task4_mcqa", {"question": "q", "options": {"A": "x"}})])
    assert len(engine.cache) == 0


def test_from_library_refuses_another_backbone(tiny_library):
    from clinical_mpt.backbone import Backbone, fingerprint, tiny_random_llama, tiny_tokenizer

    model = tiny_random_llama(seed=1)
    other = Backbone("tiny-random-llama", model, tiny_tokenizer(), fingerprint(model))
    with pytest.raises(LibraryError, match="different backbone"):
        Engine.from_library(tiny_library, backbone=other)
    with pytest.raises(UnknownTaskError, match="no task 'nope'"):
        Engine.from_library(tiny_library, backbone=other, tasks=["nope"])


def test_ranked_classification_answers_as_evaluation_scores(lively_backbone):
    """classification: rank (what `serve` and `predict` default to): NLI / MCQA requests get rank_task's
    predictions, the other types are generated as before, and request order is kept."""
    from clinical_mpt.ranking import rank_task

    tasks = random_prompts()
    reqs = requests_for(tasks, per_task=2)
    ranked = Engine(lively_backbone, tasks, EngineConfig(classification="rank")).predict(reqs)
    generated = Engine(lively_backbone, tasks).predict(reqs)
    assert [r["id"] for r in ranked] == [q.id for q in reqs]
    by_id = {r["id"]: r for r in ranked}
    kinds = set()
    for t in tasks:
        rows = [dict(q.input, id=q.id) for q in reqs if q.task == t.name]
        if t.type in ("nli", "mcqa"):
            kinds.add(t.type)
            for p in rank_task(lively_backbone, t.prompt, TaskData(t.name, t.type, None, rows)):
                assert {k: v for k, v in by_id[p["id"]].items() if k not in ("task", "type")} == p
        else:
            assert [by_id[r["id"]] for r in rows] == [g for g in generated if g["task"] == t.name]
    assert kinds == {"nli", "mcqa"}
