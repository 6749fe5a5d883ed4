"""Encoding, truncation, collation and task-mixture sampling."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from clinical_mpt.batching import (
    KEEP_HEAD,
    MixtureSampler,
    TaskData,
    collate,
    encode_input,
    encode_task,
    mixture_probs,
    truncate_input,
)


def _qa(i: int, answer: str = "500 mg") -> dict:
    return {"id": f"q{i}", "type": "qa", "context": f"Pt on metformin {answer} daily.",
            "question": "What dose?", "answers": [answer]}


def _task(name: str, n: int) -> TaskData:
    task = TaskData(name=name, type="qa", instruction=None, examples=[_qa(i) for i in range(n)])
    task.encoded = [([i, i], [i]) for i in range(n)]
    return task


def test_collate_right_pads_and_masks_everything_but_the_target():
    rows = [([5, 6, 7], [8, 9]), ([10], [11]), ([12, 13], [14, 15, 16])]
    batch = collate(rows, pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9], [10, 11, 0, 0, 0], [12, 13, 14, 15, 16]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]
    assert batch["labels"].tolist() == [[-100, -100, -100, 8, 9], [-100, 11, -100, -100, -100],
                                        [-100, -100, 14, 15, 16]]
    assert all(t.dtype == torch.long for t in batch.values())


def test_collate_uses_the_given_pad_id():
    batch = collate([([1], [2]), ([3, 4, 5], [6])], pad_id=99)
    assert batch["input_ids"][0].tolist() == [1, 2, 99, 99]
    assert batch["labels"][0].tolist() == [-100, 2, -100, -100]


def test_truncate_input_keeps_short_inputs():
    ids = list(range(10))
    assert truncate_input(ids, 10) == ids and truncate_input(ids, 50) == ids


@pytest.mark.parametrize("max_len, head", [(40, 10), (80, 20), (128, KEEP_HEAD), (300, KEEP_HEAD)])
def test_truncate_input_keeps_head_and_tail(max_len, head):
    ids = list(range(1000))
    out = truncate_input(ids, max_len)
    assert len(out) == max_len
    assert out[:head] == ids[:head]                          # the instruction
    assert out[head:] == ids[len(ids) - (max_len - head):]   # the end, with the answer cue
    assert out[-1] == ids[-1]


def test_encode_task_appends_eos_adds_no_specials_and_truncates(tiny_backbone):
    tok = tiny_backbone.tokenizer
    task = TaskData(name="t", type="qa", instruction="Find the dose.", examples=[_qa(0), _qa(1, "20 units " * 10)])
    encode_task(tok, task, max_input_tokens=1000, max_target_tokens=8)
    (inp0, tgt0), (inp1, tgt1) = task.encoded
    text = task.task_type.format_input(task.examples[0], "Find the dose.")
    assert text.startswith("Find the dose.") and text.endswith("\nAnswer:")
    assert inp0 == tok(text, add_special_tokens=False).input_ids
    assert tok.decode(inp0) == text
    assert tgt0[-1] == tok.eos_token_id and tok.decode(tgt0[:-1]) == " 500 mg"
    assert len(tgt1) == 8 + 1 and tgt1[-1] == tok.eos_token_id  # truncated target + EOS
    assert tok.bos_token_id not in inp0 + tgt0[:-1]


def test_encode_input_truncates_long_inputs(tiny_backbone):
    tok = tiny_backbone.tokenizer
    task = TaskData(name="t", type="qa", instruction=None, examples=[])
    ex = _qa(0)
    ex["context"] = "very long note " * 50
    ids = encode_input(tok, task, ex, 64)
    assert len(ids) == 64
    assert tok.decode(ids).endswith("\nAnswer:")


def test_mixture_probs_by_hand():
    assert mixture_probs([10, 30, 60], "proportional") == pytest.approx([0.1, 0.3, 0.6])
    # temperature 2: weights sqrt(n) = 2, 4, 6
    assert mixture_probs([4, 16, 36], "temperature", 2.0) == pytest.approx([2 / 12, 4 / 12, 6 / 12])
    assert mixture_probs([8, 1], "temperature", 3.0) == pytest.approx([2 / 3, 1 / 3])
    assert mixture_probs([5, 500, 7], "balanced") == pytest.approx([1 / 3] * 3)
    assert mixture_probs([4, 16], "temperature", 1.0) == pytest.approx(mixture_probs([4, 16], "proportional"))


def test_mixture_probs_rejects_unknown_strategies():
    with pytest.raises(ValueError, match="uniform"):
        mixture_probs([1, 2], "uniform")


def test_sampler_is_deterministic_by_seed():
    tasks = [_task("a", 5), _task("b", 9), _task("c", 3)]
    probs = mixture_probs([5, 9, 3], "proportional")

    def draws(seed):
        sampler = MixtureSampler(tasks, probs, seed)
        return [sampler.sample_refs(4) for _ in range(10)]

    assert draws(0) == draws(0)
    assert draws(0) != draws(1)


def test_sampler_batches_are_sorted_by_task_and_aligned():
    tasks = [_task("a", 5), _task("b", 9)]
    sampler = MixtureSampler(tasks, [0.5, 0.5], seed=3)
    for _ in range(10):
        rows, task_ids = sampler.sample(6)
        assert task_ids.tolist() == sorted(task_ids.tolist()) and len(rows) == 6
        for (inp, tgt), k in zip(rows, task_ids.tolist()):
            assert tasks[k].encoded[tgt[0]] == (inp, tgt)


def test_sampler_visits_every_example_of_a_task_each_epoch():
    task = _task("a", 7)
    sampler = MixtureSampler([task], [1.0], seed=0)
    seen = [j for _ in range(7) for _, j in sampler.sample_refs(3)]   # 21 draws = 3 epochs
    for epoch in range(3):
        assert sorted(seen[7 * epoch:7 * (epoch + 1)]) == list(range(7))
    assert seen[:7] != seen[7:14]  # reshuffled each epoch


def test_sampler_epochs_hold_per_task_in_a_mixture():
    tasks = [_task("a", 4), _task("b", 6)]
    sampler = MixtureSampler(tasks, [0.5, 0.5], seed=1)
    per_task = {0: [], 1: []}
    for _ in range(30):
        for k, j in sampler.sample_refs(4):
            per_task[k].append(j)
    for k, n in ((0, 4), (1, 6)):
        full = len(per_task[k]) // n
        assert full >= 2
        for e in range(full):
            assert sorted(per_task[k][e * n:(e + 1) * n]) == list(range(n))


def test_sampler_follows_the_mixture_probabilities():
    tasks = [_task("a", 5), _task("b", 5)]
    counts = Counter(k for k, _ in MixtureSampler(tasks, [0.8, 0.2], seed=0).sample_refs(4000))
    assert abs(counts[0] / 4000 - 0.8) < 0.03


def test_grouped_batches_hold_a_few_distinct_tasks_with_several_rows_each():
    tasks = [TaskData(f"t{k}", "nli", None, [{}] * 10, encoded=[([1], [2])] * 10) for k in range(5)]
    sampler = MixtureSampler(tasks, [0.4, 0.3, 0.2, 0.1, 0.0], seed=0)
    seen = set()
    for _ in range(50):
        refs = sampler.sample_refs(8, tasks_per_batch=2)
        ks = [k for k, _ in refs]
        assert len(refs) == 8 and ks == sorted(ks) and len(set(ks)) == 2
        assert sorted(ks.count(k) for k in set(ks)) == [4, 4]
        seen |= set(ks)
    assert 4 not in seen and seen == {0, 1, 2, 3}         # a zero-probability task is never drawn
    refs = sampler.sample_refs(7, tasks_per_batch=3)     # uneven shares differ by at most one row
    assert sorted([k for k, _ in refs].count(k) for k in {k for k, _ in refs}) == [2, 2, 3]
    assert len({k for k, _ in sampler.sample_refs(8, tasks_per_batch=9)}) == 4  # capped at the drawable tasks
