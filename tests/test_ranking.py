"""Classification by ranking: batched option log-likelihoods equal a brute-force per-option
computation on a tiny random Llama, in one forward pass over all options."""

from __future__ import annotations

import pytest
import torch

from clinical_mpt.batching import TaskData, encode_input
from clinical_mpt.modeling import prompted_embeds
from clinical_mpt.ranking import candidate_texts, rank_task

NLI = [{"id": f"n{i}", "premise": p, "hypothesis": h, "label": y} for i, (p, h, y) in enumerate([
    ("Admitted with chest pain.", "The patient has chest pain.", "entailment"),
    ("Denies fever.", "The patient has a fever.", "contradiction"),
    ("Pt on metformin 500 mg daily for years.", "The patient smokes.", "neutral")])]
MCQA = [{"id": "m0", "question": "Which drug lowers glucose?", "options": {"A": "heparin", "B": "metformin",
                                                                          "C": "aspirin"}, "answer": "B"},
        {"id": "m1", "question": "Route of 'PO'?", "options": {"A": "by mouth", "B": "IV"}, "answer": "A"}]


def brute_force_logprob(model, prompt, input_ids: list[int], option_ids: list[int]) -> float:
    """One option alone: [prompt | input + option] through the model, summed option log-probs."""
    ids = torch.tensor([input_ids + option_ids])
    mask = torch.ones_like(ids)
    if prompt is None:
        logits = model(input_ids=ids, attention_mask=mask).logits[0]
        offset = 0
    else:
        embeds, mask = prompted_embeds(model, prompt[None], ids, mask)
        logits = model(inputs_embeds=embeds, attention_mask=mask).logits[0]
        offset = prompt.shape[0]
    lp = torch.log_softmax(logits.float(), -1)
    start = offset + len(input_ids)
    return sum(lp[start + j - 1, t].item() for j, t in enumerate(option_ids))


@pytest.mark.parametrize("type_,examples", [("nli", NLI), ("mcqa", MCQA)])
@pytest.mark.parametrize("with_prompt", [True, False])
def test_ranking_matches_brute_force(tiny_backbone, type_, examples, with_prompt):
    model, tok = tiny_backbone.model, tiny_backbone.tokenizer
    prompt = torch.randn(4, tiny_backbone.hidden_size) if with_prompt else None
    task = TaskData("t", type_, None, examples)
    preds = rank_task(tiny_backbone, prompt, task, batch_size=2)
    for ex, pred in zip(examples, preds, strict=True):
        input_ids = encode_input(tok, task, ex, 320)
        expected = {text.strip(): brute_force_logprob(model, prompt, input_ids,
                                                      tok(text, add_special_tokens=False).input_ids)
                    for text, _ in candidate_texts(task.task_type, ex)}
        assert pred["option_logprobs"] == pytest.approx(expected, abs=2e-4)
        best = max(expected, key=expected.get)
        assert pred["generation"].strip() == best
        assert pred["id"] == ex["id"]
        field = "label" if type_ == "nli" else "answer"
        assert pred[field] == best
        assert task.task_type.score([ex], [pred])["n"] == 1


def test_all_options_go_through_one_forward_pass(tiny_backbone):
    """Per batch of examples: one pass over every (input, option) row (plus, with a prompt, the prompt's
    own one-row pass that fills the shared key/value cache); never one pass per option."""
    calls = []
    hook = tiny_backbone.model.get_decoder().register_forward_pre_hook(
        lambda mod, args, kwargs: calls.append((kwargs.get("input_ids") if kwargs.get("input_ids") is not None
                                                else kwargs["inputs_embeds"]).shape[0]), with_kwargs=True)
    try:
        rank_task(tiny_backbone, torch.randn(4, tiny_backbone.hidden_size), TaskData("t", "nli", None, NLI),
                  batch_size=8)
    finally:
        hook.remove()
    assert sorted(calls) == [1, 3 * len(NLI)]


def test_ranking_refuses_generation_tasks(tiny_backbone):
    with pytest.raises(ValueError, match="rank scores"):
        rank_task(tiny_backbone, None, TaskData("t", "qa", None, []))
