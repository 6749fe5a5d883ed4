"""Distillation in deep form: deep teachers (one per source task, same init), a DeepMPTPrompt student whose
P* starts at their mean, trained on a mixed-task batch with the distillation loss (LM + KL + hidden MSE)
through deep_answer_hidden_and_logits: the loss falls, and P*, u and v all learn."""

from __future__ import annotations

import torch

from clinical_mpt.deep_modeling import deep_answer_hidden_and_logits
from clinical_mpt.losses import hidden_mse, kl_full, lm_loss
from clinical_mpt.prompts import DeepMPTPrompt, DeepPrompt
from clinical_mpt.prompts.deep_prompt import init_prefix


def _teachers(backbone, k: int = 2, length: int = 4) -> list[DeepPrompt]:
    start = init_prefix(backbone.model, backbone.tokenizer, "Find the dose.", length)   # the same init for all
    g = torch.Generator().manual_seed(0)
    return [DeepPrompt(start + 0.5 * start.std() * torch.randn(start.shape, generator=g)) for _ in range(k)]


def _batch():
    ids = torch.tensor([[40, 50, 60, 70, 80], [41, 51, 61, 71, 81], [42, 52, 62, 72, 82], [43, 53, 63, 73, 83]])
    labels = ids.clone()
    labels[:, :2] = -100
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def test_a_deep_student_distils_from_deep_teachers(tiny_backbone):
    model, batch = tiny_backbone.model, _batch()
    teachers = _teachers(tiny_backbone)
    task_ids = torch.tensor([0, 1, 0, 1])                                  # a mixed-task batch
    stacked = torch.stack([t.weight.detach() for t in teachers])        # (K, layers, 2, kv, L, hd)
    with torch.no_grad():
        t_hidden, t_logits, _ = deep_answer_hidden_and_logits(model, lambda ids: stacked[ids], task_ids, batch)
    student = DeepMPTPrompt.from_teachers(stacked, rank=1)
    assert torch.allclose(student(torch.tensor([0, 1])), stacked.mean(0).expand(2, *stacked.shape[1:]), atol=1e-6)
    start = {n: p.detach().clone() for n, p in student.named_parameters()}
    opt = torch.optim.Adam(student.parameters(), lr=0.05)

    def loss():
        hidden, logits, targets = deep_answer_hidden_and_logits(model, student, task_ids, batch)
        return lm_loss(logits, targets) + kl_full(t_logits, logits, 2.0) + hidden_mse(hidden, t_hidden)

    first = loss()
    losses = [first.item()]
    for _ in range(6):
        opt.zero_grad()
        value = loss()
        value.backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
        opt.step()
        losses.append(loss().item())
    assert losses[-1] < losses[0]
    assert all(not torch.equal(start[n], p) for n, p in student.named_parameters()), "P*, u and v all learn"
    assert torch.equal(stacked, torch.stack([t.weight.detach() for t in teachers])), "teachers stay fixed"
