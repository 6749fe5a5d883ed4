"""Losses against their reference formulas (torch.nn.functional.kl_div, cross_entropy, a hand-written MSE)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from clinical_mpt.losses import hidden_mse, kl_full, kl_topk, lm_loss, teacher_topk


def _reference_kl(teacher, student, T):
    return F.kl_div(F.log_softmax(student / T, -1), F.log_softmax(teacher / T, -1), log_target=True,
                    reduction="batchmean") * T ** 2


@pytest.mark.parametrize("T", [1.0, 2.0, 0.5])
def test_kl_full_matches_torch_kl_div(T):
    g = torch.Generator().manual_seed(0)
    teacher, student = torch.randn(7, 30, generator=g) * 3, torch.randn(7, 30, generator=g) * 3
    assert torch.allclose(kl_full(teacher, student, T), _reference_kl(teacher, student, T), atol=1e-6)


def test_kl_full_direction_is_teacher_to_student():
    g = torch.Generator().manual_seed(1)
    teacher, student = torch.randn(4, 10, generator=g) * 2, torch.randn(4, 10, generator=g)
    assert not torch.allclose(kl_full(teacher, student), kl_full(student, teacher))
    p, q = F.softmax(teacher, -1), F.softmax(student, -1)
    by_hand = (p * (p.log() - q.log())).sum(-1).mean()
    assert torch.allclose(kl_full(teacher, student), by_hand, atol=1e-6)


def test_kl_full_accepts_bf16_and_returns_fp32():
    g = torch.Generator().manual_seed(2)
    teacher, student = torch.randn(3, 20, generator=g), torch.randn(3, 20, generator=g)
    out = kl_full(teacher.bfloat16(), student.bfloat16(), 2.0)
    assert out.dtype == torch.float32
    assert torch.allclose(out, _reference_kl(teacher.bfloat16().float(), student.bfloat16().float(), 2.0), atol=1e-5)


@pytest.mark.parametrize("T", [1.0, 2.0])
def test_kl_is_zero_for_identical_logits(T):
    logits = torch.randn(5, 40) * 4
    assert kl_full(logits, logits.clone(), T).abs() < 1e-6
    logp, ids = teacher_topk(logits, T, 8)
    assert kl_topk(logp, ids, logits.clone(), T).abs() < 1e-5
    logp, ids = teacher_topk(logits, T, 40)
    assert kl_topk(logp, ids, logits.clone(), T).abs() < 1e-6


def test_teacher_topk_shapes_and_values():
    logits = torch.randn(6, 25)
    logp, ids = teacher_topk(logits, 2.0, 4)
    assert logp.shape == ids.shape == (6, 4) and logp.dtype == torch.float32 and ids.dtype == torch.int64
    full = F.log_softmax(logits / 2.0, -1)
    assert torch.allclose(logp, full.gather(-1, ids))
    assert torch.equal(ids, full.topk(4, -1).indices)
    logp, ids = teacher_topk(logits, 1.0, 1000)  # k is capped at V
    assert ids.shape == (6, 25)


@pytest.mark.parametrize("T", [1.0, 2.0])
def test_kl_topk_equals_kl_full_when_k_is_the_vocabulary(T):
    g = torch.Generator().manual_seed(3)
    teacher, student = torch.randn(8, 50, generator=g) * 3, torch.randn(8, 50, generator=g) * 3
    logp, ids = teacher_topk(teacher, T, 50)
    assert torch.allclose(kl_topk(logp, ids, student, T), kl_full(teacher, student, T), atol=1e-5)


def test_kl_topk_approximates_kl_full_for_peaked_teachers():
    g = torch.Generator().manual_seed(4)
    N, V, T = 16, 500, 1.0
    teacher = torch.randn(N, V, generator=g)
    peaks = torch.randint(0, V, (N, 3), generator=g)
    teacher.scatter_(1, peaks, 12.0)  # almost all mass on 3 tokens
    student = teacher + torch.randn(N, V, generator=g) * 0.7
    full = kl_full(teacher, student, T)
    logp, ids = teacher_topk(teacher, T, 8)
    approx = kl_topk(logp, ids, student, T)
    assert full > 1e-3
    assert abs(approx - full) / full < 0.05
    # merging the tail into one bucket can only lose information: a lower bound of the full KL
    assert approx <= full + 1e-6


def test_kl_topk_rest_bucket_by_hand():
    # V = 4, k = 2: teacher p = (.4, .3, .2, .1) keeps {0, 1} + rest .3; student q = (.1, .2, .3, .4) -> rest .7
    p, q = torch.tensor([[0.4, 0.3, 0.2, 0.1]]), torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    logp, ids = teacher_topk(p.log(), 1.0, 2)
    assert ids.tolist() == [[0, 1]]
    expected = 0.4 * torch.log(torch.tensor(0.4 / 0.1)) + 0.3 * torch.log(torch.tensor(0.3 / 0.2)) \
        + 0.3 * torch.log(torch.tensor(0.3 / 0.7))
    assert torch.allclose(kl_topk(logp, ids, q.log(), 1.0), expected, atol=1e-5)


def test_kl_topk_gradient_flows_to_the_student():
    teacher = torch.randn(4, 30)
    student = torch.randn(4, 30, requires_grad=True)
    logp, ids = teacher_topk(teacher, 2.0, 5)
    kl_topk(logp, ids, student, 2.0).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_hidden_mse_matches_the_formula():
    g = torch.Generator().manual_seed(5)
    s, t = torch.randn(9, 16, generator=g), torch.randn(9, 16, generator=g)
    expected = sum(((s[i, j] - t[i, j]) ** 2).item() for i in range(9) for j in range(16)) / (9 * 16)
    assert abs(hidden_mse(s, t).item() - expected) < 1e-5
    assert hidden_mse(s, s.clone()).item() == 0.0
    assert hidden_mse(s, t.bfloat16()).dtype == torch.float32


def test_lm_loss_is_cross_entropy():
    g = torch.Generator().manual_seed(6)
    logits, targets = torch.randn(10, 33, generator=g), torch.randint(0, 33, (10,), generator=g)
    assert torch.allclose(lm_loss(logits, targets), F.cross_entropy(logits, targets))
    by_hand = -F.log_softmax(logits, -1)[torch.arange(10), targets].mean()
    assert torch.allclose(lm_loss(logits, targets), by_hand, atol=1e-6)
    assert lm_loss(logits.bfloat16(), targets).dtype == torch.float32


def test_kept_mass_is_the_share_of_softened_probability_in_the_cached_top_k():
    from clinical_mpt.losses import teacher_topk
    from clinical_mpt.teacher_cache import TeacherOutputs, kept_mass

    logits = torch.tensor([[4.0, 2.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    logp, ids = teacher_topk(logits, 1.0, 2)
    out = [TeacherOutputs(logp, ids, torch.zeros(2, 3))]
    p = torch.softmax(logits, -1)
    expected = (p[0, :2].sum() + p[1, :2].sum()).item() / 2
    assert kept_mass(out) == pytest.approx(expected)
    full, full_ids = teacher_topk(logits, 1.0, 4)
    assert kept_mass([TeacherOutputs(full, full_ids, torch.zeros(2, 3))]) == pytest.approx(1.0)
    hot, hot_ids = teacher_topk(logits, 4.0, 2)        # a higher temperature spreads the mass out of the top-k
    assert kept_mass([TeacherOutputs(hot, hot_ids, torch.zeros(2, 3))]) < expected
