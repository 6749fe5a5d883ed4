"""Prompts through `inputs_embeds` (modeling.py), the one greedy decoder (decoding.py), prediction (predict.py)."""

from __future__ import annotations

import pytest
import torch

from clinical_mpt.batching import TaskData, collate
from clinical_mpt.decoding import DecodeBatch, compute_prompt_states, greedy_generate, prefill, text_stop
from clinical_mpt.modeling import answer_hidden_and_logits, answer_positions, prompted_embeds, text_hidden

TEXTS = ["hello there", "a longer piece of clinical text here", "x", "medication list: aspirin 81 mg"]


@pytest.fixture(scope="module")
def token_lists(tiny_backbone):
    return [tiny_backbone.tokenizer(t, add_special_tokens=False).input_ids for t in TEXTS]


def _reference_greedy(model, prompt, ids, max_new_tokens, eos_id):
    """One row, no cache, no padding: recompute the whole sequence at every step."""
    emb = model.get_input_embeddings()
    out = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            x = emb(torch.tensor(ids + out))
            if prompt is not None:
                x = torch.cat([prompt.to(x.dtype), x])
            nxt = model(inputs_embeds=x[None]).logits[0, -1].argmax().item()
            if nxt == eos_id:
                break
            out.append(nxt)
    return out


def _plain_text_hidden(model, prompts, input_ids, attention_mask):
    """Reference: run the model on [prompt | text] built by hand; -> hidden states of the text (B, T, d)."""
    embeds, mask = prompted_embeds(model, prompts, input_ids, attention_mask)
    out = model(inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True)
    return out.hidden_states[-1][:, prompts.shape[1]:], out.logits[:, prompts.shape[1]:]


def test_answer_positions_pick_exactly_the_target_tokens():
    rows = [([5, 6, 7], [8, 9]), ([10], [11]), ([12, 13], [14, 15, 16])]
    batch = collate(rows, pad_id=0)
    r, pos, targets = answer_positions(batch["labels"])
    assert targets.tolist() == [8, 9, 11, 14, 15, 16]
    assert r.tolist() == [0, 0, 1, 2, 2, 2]
    # the hidden state of text position p predicts text token p + 1
    assert pos.tolist() == [2, 3, 0, 1, 2, 3]
    assert batch["input_ids"][r, pos + 1].tolist() == targets.tolist()


def test_prompted_embeds_puts_the_prompt_first(tiny_backbone):
    model = tiny_backbone.model
    batch = collate([([5, 6, 7], [8]), ([9], [10])], pad_id=0)
    prompts = torch.randn(2, 3, 64)
    embeds, mask = prompted_embeds(model, prompts, batch["input_ids"], batch["attention_mask"])
    assert embeds.shape == (2, 3 + 4, 64) and mask.shape == (2, 7)
    assert torch.equal(embeds[:, :3], prompts)
    assert torch.equal(embeds[:, 3:], model.get_input_embeddings()(batch["input_ids"]))
    assert mask.tolist() == [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]]


def test_prompted_embeds_casts_fp32_prompts_to_the_backbone_dtype():
    from clinical_mpt.backbone import load_backbone

    model = load_backbone("tiny-random-llama", "bfloat16").model
    ids = torch.tensor([[5, 6]])
    embeds, _ = prompted_embeds(model, torch.randn(1, 3, 64), ids, torch.ones_like(ids))
    assert embeds.dtype == torch.bfloat16


@pytest.mark.parametrize("rows_of", [[0, 0], [0, 1]], ids=["shared states", "every row its own prompt"])
def test_text_hidden_equals_the_model_on_hand_built_embeds(sharp_model, rows_of):
    prompts = torch.randn(2, 5, 64) * 0.3
    rows_of = torch.tensor(rows_of)
    ids = torch.tensor([[7, 8, 9, 10, 11, 12], [13, 14, 15, 16, 17, 18]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        hidden = text_hidden(sharp_model, prompts[:len(rows_of.unique())], rows_of, ids, mask)
        expected, _ = _plain_text_hidden(sharp_model, prompts[rows_of], ids, mask)
    assert hidden.shape == (2, 6, 64)
    assert torch.allclose(hidden, expected, atol=1e-4)


def test_shared_prompts_with_padding_equal_per_row_concatenation(sharp_model):
    """m = 2 distinct prompts broadcast to B = 4 right-padded rows, in a shuffled row order."""
    prompts = torch.randn(2, 4, 64) * 0.3
    rows_of = torch.tensor([1, 0, 1, 0])
    batch = collate([([7, 8, 9, 10, 11], [12, 13]), ([20, 21], [22]), ([30], [31, 32]), ([40, 41, 42], [43])], 0)
    with torch.no_grad():
        hidden = text_hidden(sharp_model, prompts, rows_of, batch["input_ids"], batch["attention_mask"])
        expected, _ = _plain_text_hidden(sharp_model, prompts[rows_of], batch["input_ids"], batch["attention_mask"])
    real = batch["attention_mask"].bool()
    assert torch.allclose(hidden[real], expected[real], atol=1e-4)


def test_prompt_gradients_through_the_shared_cache_equal_plain_concatenation(sharp_model):
    batch = collate([([7, 8, 9], [10, 11]), ([20, 21, 22, 23], [24]), ([30, 31], [32, 33])], 0)
    rows_of = torch.tensor([0, 1, 0])
    base = torch.randn(2, 4, 64) * 0.3
    weights = torch.randn(3, batch["input_ids"].shape[1], 64)
    real = batch["attention_mask"].unsqueeze(-1)

    p1 = base.clone().requires_grad_(True)
    h1 = text_hidden(sharp_model, p1, rows_of, batch["input_ids"], batch["attention_mask"])
    (h1 * weights * real).sum().backward()
    p2 = base.clone().requires_grad_(True)
    h2, _ = _plain_text_hidden(sharp_model, p2[rows_of], batch["input_ids"], batch["attention_mask"])
    (h2 * weights * real).sum().backward()
    assert p1.grad.abs().sum() > 0
    assert torch.allclose(p1.grad, p2.grad, atol=1e-4, rtol=1e-3)


def test_text_hidden_without_a_prompt_is_the_bare_model(sharp_model):
    batch = collate([([7, 8, 9], [10]), ([20], [21])], 0)
    with torch.no_grad():
        hidden = text_hidden(sharp_model, None, None, batch["input_ids"], batch["attention_mask"])
        expected = sharp_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                               output_hidden_states=True).hidden_states[-1]
    real = batch["attention_mask"].bool()
    assert torch.allclose(hidden[real], expected[real], atol=1e-5)


def test_answer_logits_are_the_full_model_logits_at_the_answer_positions(sharp_model):
    rows = [([7, 8, 9], [10, 11, 2]), ([20, 21, 22, 23, 24], [25, 2]), ([30, 31], [32, 2])]
    batch = collate(rows, pad_id=0)
    table = torch.randn(3, 4, 64) * 0.3                     # one prompt per task id
    task_ids = torch.tensor([2, 0, 2])
    with torch.no_grad():
        h, logits, targets = answer_hidden_and_logits(sharp_model, lambda ids: table[ids], task_ids, batch)
        _, full = _plain_text_hidden(sharp_model, table[task_ids], batch["input_ids"], batch["attention_mask"])
    assert targets.tolist() == [10, 11, 2, 25, 2, 32, 2]
    assert h.shape == (7, 64) and logits.shape == (7, 259)
    expected = torch.stack([full[0, 2], full[0, 3], full[0, 4], full[1, 4], full[1, 5], full[2, 1], full[2, 2]])
    assert torch.allclose(logits, expected, atol=1e-4)


def test_answer_logits_with_an_mpt_prompt_module(tiny_backbone):
    from clinical_mpt.prompts import MPTPrompt

    mpt = MPTPrompt(torch.randn(3, 64), num_tasks=2, init_std=0.5, generator=torch.Generator().manual_seed(0))
    batch = collate([([7, 8], [9]), ([10, 11], [12])], 0)
    task_ids = torch.tensor([1, 0])
    _, logits, _ = answer_hidden_and_logits(tiny_backbone.model, mpt, task_ids, batch)
    logits.sum().backward()
    assert mpt.u.grad[0].abs().sum() > 0 and mpt.u.grad[1].abs().sum() > 0
    with torch.no_grad():
        _, full = _plain_text_hidden(tiny_backbone.model, mpt(task_ids), batch["input_ids"], batch["attention_mask"])
    assert torch.allclose(logits.detach(), full[:, 1], atol=1e-5)


def test_generation_matches_an_uncached_reference(sharp_model, token_lists):
    prompt = torch.randn(5, 64) * 0.3
    for ids in token_lists[1:3]:
        got = greedy_generate(sharp_model, DecodeBatch.uniform([ids], 8, prompt[None]), eos_id=2, pad_id=0)[0]
        assert got == _reference_greedy(sharp_model, prompt, ids, 8, eos_id=2)
        assert len(got) == 8  # no EOS met on this model: the budget is used


def test_left_padded_batch_equals_each_row_alone(sharp_model, token_lists):
    prompts = torch.randn(len(token_lists), 5, 64) * 0.3
    batch = greedy_generate(sharp_model, DecodeBatch.uniform(token_lists, 8, prompts), eos_id=2, pad_id=0)
    alone = [greedy_generate(sharp_model, DecodeBatch.uniform([ids], 8, prompts[i:i + 1]), eos_id=2, pad_id=0)[0]
             for i, ids in enumerate(token_lists)]
    assert batch == alone
    assert len({tuple(b) for b in batch}) == len(batch)  # the rows really differ


def test_each_row_gets_its_own_prompt(sharp_model, token_lists):
    ids = token_lists[1]
    prompts = torch.randn(2, 5, 64) * 0.3
    out = greedy_generate(sharp_model, DecodeBatch.uniform([ids, ids], 6, prompts), eos_id=2, pad_id=0)
    alone = [greedy_generate(sharp_model, DecodeBatch.uniform([ids], 6, prompts[i:i + 1]), eos_id=2, pad_id=0)[0]
             for i in range(2)]
    assert out == alone
    assert out[0] != out[1]


def test_generation_without_a_prompt(sharp_model, token_lists):
    out = greedy_generate(sharp_model, DecodeBatch.uniform(token_lists[:3], 5), eos_id=2, pad_id=0)
    assert out == [_reference_greedy(sharp_model, None, ids, 5, 2) for ids in token_lists[:3]]


def test_generation_stops_at_eos_and_leaves_it_out(sharp_model, token_lists):
    prompts = torch.randn(2, 5, 64) * 0.3
    free = greedy_generate(sharp_model, DecodeBatch.uniform(token_lists[:2], 6, prompts), eos_id=2, pad_id=0)
    eos = free[0][2]  # pretend row 0's 3rd token is the end of sequence
    assert eos not in free[0][:2]
    out = greedy_generate(sharp_model, DecodeBatch.uniform(token_lists[:2], 6, prompts), eos_id=eos, pad_id=0)
    assert out[0] == free[0][:2]
    assert out[1] == _reference_greedy(sharp_model, prompts[1], token_lists[1], 6, eos)


def test_generation_on_the_tiny_backbone_in_bf16(token_lists):
    from clinical_mpt.backbone import load_backbone

    bf16 = load_backbone("tiny-random-llama", "bfloat16")
    batch = DecodeBatch.uniform(token_lists[:2], 5, torch.randn(2, 3, 64))
    out = greedy_generate(bf16.model, batch, eos_id=2, pad_id=0)
    assert len(out) == 2 and all(len(o) <= 5 for o in out)



def test_prefix_states_in_the_cache_give_the_tokens_of_prompts_through_the_embeddings(sharp_model, token_lists):
    """Serving's layout (each row's prompt K/V in the cache, then [pads | text]) and evaluation's
    ([pads | prompt | text]) are one function with the same tokens, mixed prompts and lengths included."""
    prompts = torch.randn(len(token_lists), 5, 64) * 0.3
    states = [compute_prompt_states(sharp_model, p) for p in prompts]
    budgets = [8, 3, 6, 1]
    embedded = greedy_generate(sharp_model, DecodeBatch(token_lists, budgets, prompts=prompts), 2, 0)
    cached = greedy_generate(sharp_model, DecodeBatch(token_lists, budgets, prefixes=states), 2, 0)
    assert cached == embedded and [len(g) for g in cached] == budgets  # each row used its own budget
    # a prompt split in two: its first 3 positions as prefix states, the other 2 through the embeddings
    heads = [compute_prompt_states(sharp_model, p[:3]) for p in prompts]
    split = DecodeBatch(token_lists, budgets, prompts=prompts[:, 3:], prefixes=heads)
    assert greedy_generate(sharp_model, split, 2, 0) == embedded


def test_prefill_logits_of_both_layouts_are_those_of_each_row_alone(sharp_model, token_lists):
    prompts = torch.randn(len(token_lists), 5, 64) * 0.3
    states = [compute_prompt_states(sharp_model, p) for p in prompts]
    budgets = [1] * len(token_lists)
    layouts = (DecodeBatch(token_lists, budgets, prompts=prompts), DecodeBatch(token_lists, budgets, prefixes=states))
    for batch in layouts:
        state = prefill(sharp_model, batch, logits_to_keep=0)
        for i, ids in enumerate(token_lists):
            row = torch.tensor([ids])
            with torch.no_grad():
                _, alone = _plain_text_hidden(sharp_model, prompts[i:i + 1], row, torch.ones_like(row))
            assert torch.allclose(state.out.logits[i, -len(ids):], alone[0], atol=1e-4)


def test_a_row_stops_where_its_answer_is_finished(sharp_model, token_lists):
    prompts = torch.randn(2, 5, 64) * 0.3
    free = greedy_generate(sharp_model, DecodeBatch.uniform(token_lists[:2], 6, prompts), 2, 0)
    stops = [lambda ids: ids[-1] == free[0][2], None]  # row 0's answer ends with its 3rd token (kept)
    out = greedy_generate(sharp_model, DecodeBatch(token_lists[:2], [6, 6], prompts=prompts, stops=stops), 2, 0)
    assert out == [free[0][:free[0].index(free[0][2]) + 1], free[1]]


def test_a_text_stop_reads_the_decoded_answer(tiny_backbone):
    tok = tiny_backbone.tokenizer
    stop = text_stop(tok, lambda text: text.endswith("\n"))
    assert stop(tok("yes\n", add_special_tokens=False).input_ids)
    assert not stop(tok("yes", add_special_tokens=False).input_ids)


def test_decode_batches_refuse_rows_that_do_not_fit(sharp_model):
    with pytest.raises(ValueError, match="budgets: 1 entries for 2 rows"):
        DecodeBatch([[5], [6]], [3])
    with pytest.raises(ValueError, match="prompts of one"):
        DecodeBatch([[5], [6]], [3, 3], prompts=[torch.zeros(2, 64), torch.zeros(3, 64)])
    states = [compute_prompt_states(sharp_model, torch.zeros(n, 64)) for n in (2, 3)]
    with pytest.raises(ValueError, match="prefixes of one length"):
        DecodeBatch([[5], [6]], [3, 3], prefixes=states)
    with pytest.raises(ValueError, match="at least one token"):
        DecodeBatch([[5], []], [3, 3])

def _mcqa(i: int, question: str) -> dict:
    return {"id": f"q{i}", "type": "mcqa", "question": question, "answer": "B",
            "options": {"A": "aspirin", "B": "warfarin", "C": "insulin", "D": "heparin"}}


def test_predict_task_keeps_order_and_does_not_depend_on_batching(tiny_backbone):
    from clinical_mpt.predict import predict_task

    questions = ["Which drug was started in this long note about anticoagulation? " * 2, "Which drug?",
                 "Which drug was held before surgery?"]
    task = TaskData(name="mc", type="mcqa", instruction=None, examples=[_mcqa(i, q) for i, q in enumerate(questions)])
    prompt = torch.randn(4, 64)
    batched = predict_task(tiny_backbone, prompt, task, batch_size=3)
    single = predict_task(tiny_backbone, prompt, task, batch_size=1)
    assert [p["id"] for p in batched] == ["q0", "q1", "q2"]
    assert batched == single
    for p in batched:
        assert set(p) == {"id", "answer", "generation"} and isinstance(p["generation"], str)
    unprompted = predict_task(tiny_backbone, None, task, batch_size=2)
    assert [p["id"] for p in unprompted] == ["q0", "q1", "q2"]


def test_the_last_logits_are_asked_for_as_an_index_giving_one_contiguous_row():
    """HF slices hidden[:, -1:] for logits_to_keep=1: a non-contiguous view, which torch's matmul
    multiplies by expanding and copying the LM head per row. keep_logits(1) selects the same row by
    index, so it arrives contiguous (one mm); other counts are passed through."""
    from transformers.modeling_utils import slice_logits_to_keep

    from clinical_mpt.hf_compat import keep_logits

    hidden = torch.randn(4, 12, 8)                                              # (B, T, d)
    by_index, by_slice = (slice_logits_to_keep(hidden, k) for k in (keep_logits(1, "cpu"), 1))
    assert torch.equal(by_index, by_slice) and by_index.shape == (4, 1, 8)
    assert by_index.is_contiguous() and not by_slice.is_contiguous()
    assert keep_logits(0, "cpu") == 0 and keep_logits(3, "cpu") == 3
