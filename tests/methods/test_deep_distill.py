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


def test_deep_teacher_outputs_come_from_the_deep_forward(tiny_backbone):
    """teacher_cache with the deep forward gives exactly a direct deep forward's top-k and hidden states, and
    not those of the input-level prompt made from the same init text (which a deep prompt equals at its start)."""
    from clinical_mpt.config import load_config
    from clinical_mpt.losses import teacher_topk
    from clinical_mpt.prompts import new_soft_prompt
    from clinical_mpt.teacher_cache import compute_teacher_outputs

    model, batch = tiny_backbone.model, _batch()
    encoded = [(row[:2].tolist(), row[2:].tolist()) for row in batch["input_ids"]]
    teacher = _teachers(tiny_backbone, k=1)[0].weight.detach()                 # a deep teacher that moved
    deep = compute_teacher_outputs(model, teacher, encoded, 0, 1.0, 5, batch_size=3,
                                   forward=deep_answer_hidden_and_logits)
    with torch.no_grad():
        hidden, logits, _ = deep_answer_hidden_and_logits(model, lambda ids: teacher.unsqueeze(0),
                                                          torch.zeros(4, dtype=torch.long), batch)
    logp, ids = teacher_topk(logits, 1.0, 5)
    assert torch.allclose(torch.cat([t.hidden for t in deep]), hidden, atol=1e-5)
    assert torch.allclose(torch.cat([t.logp for t in deep]), logp, atol=1e-5)
    assert torch.equal(torch.cat([t.ids for t in deep]), ids)
    cfg = load_config(None, ["prompt.length=4", "prompt.init=text", "prompt.init_text=Find the dose."])
    shallow = compute_teacher_outputs(model, new_soft_prompt(tiny_backbone, cfg.prompt, 0).weight.detach(), encoded,
                                      0, 1.0, 5, batch_size=3)
    assert not torch.allclose(torch.cat([t.hidden for t in shallow]), hidden, atol=1e-3)
