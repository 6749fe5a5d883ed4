"""Deep MPT: prefix_l = P*_l o (U_l V_l) per layer, checked by hand, against the single-task deep prompt
(u v = 1 gives P* itself, logits included), and for its parameter count on SmolLM2-135M."""

from __future__ import annotations

import pytest
import torch

from clinical_mpt.deep_modeling import deep_logits
from clinical_mpt.prompts import DeepMPTPrompt, DeepPrompt
from clinical_mpt.prompts.deep_prompt import from_rows, init_prefix, kv_geometry, to_rows


def _random(layers=3, L=5, kv=2, hd=4, K=3, r=1, seed=0) -> DeepMPTPrompt:
    g = torch.Generator().manual_seed(seed)
    prompt = DeepMPTPrompt(torch.randn(layers, L, 2 * kv * hd, generator=g), K, kv, r)
    with torch.no_grad():
        prompt.u.copy_(torch.randn(prompt.u.shape, generator=g))
        prompt.v.copy_(torch.randn(prompt.v.shape, generator=g))
    return prompt


def test_shapes_and_parameter_count():
    p = DeepMPTPrompt(torch.zeros(3, 5, 16), num_tasks=4, kv_heads=2, rank=2)
    assert p.shared.shape == (3, 5, 16) and p.u.shape == (4, 3, 5, 2) and p.v.shape == (4, 3, 2, 16)
    assert p.length == 5 and p.num_tasks == 4
    assert p(torch.tensor([0, 3])).shape == (2, 3, 2, 2, 5, 4)          # (B, layers, 2, kv, L, hd)
    assert p.task_parameters() == 3 * 2 * (5 + 16)


def test_smollm2_135m_at_l20_r1_has_12120_numbers_per_task():
    from transformers import LlamaConfig

    from clinical_mpt.backbone_shapes import BUILTIN_CONFIGS, builtin_shape

    layers, kv, hd = kv_geometry(LlamaConfig(**BUILTIN_CONFIGS["smollm2-135m"]))
    assert (layers, kv, hd) == (30, 3, 64)
    p = DeepMPTPrompt(torch.zeros(layers, 20, 2 * kv * hd), num_tasks=1, kv_heads=kv)
    assert p.task_parameters() == 30 * (20 + 384) == 12_120
    total = builtin_shape("smollm2-135m").total_parameters
    assert round(100 * p.task_parameters() / total, 3) == 0.009


@pytest.mark.parametrize("rank", [1, 2])
def test_composition_by_hand(rank):
    p = _random(r=rank)
    task_ids = torch.tensor([2, 0, 2])
    out = p(task_ids)
    for b, k in enumerate(task_ids.tolist()):
        for layer in range(3):
            low_rank = sum(torch.outer(p.u[k, layer, :, j], p.v[k, layer, j]) for j in range(rank))   # (L, D)
            expected = p.shared[layer] * low_rank
            assert torch.allclose(to_rows(out[b])[layer], expected, atol=1e-5)
    assert torch.allclose(p.task_prefix(2), out[0], atol=1e-6)
    # element by element: key of kv head 1, position 3, dim 2 of layer 1, task 0 (rank 1 only)
    if rank == 1:
        col = 1 * 4 + 2                                                  # keys first, head 1, dim 2
        assert torch.isclose(out[1, 1, 0, 1, 3, 2], p.shared[1, 3, col] * p.u[0, 1, 3, 0] * p.v[0, 1, 0, col])


@pytest.mark.parametrize("rank", [1, 3])
def test_every_task_starts_at_the_shared_prompt(rank):
    shared = torch.randn(3, 5, 16)
    p = DeepMPTPrompt(shared, num_tasks=2, kv_heads=2, rank=rank)
    for k in range(2):
        assert torch.allclose(p.task_prefix(k), from_rows(shared, 2), atol=1e-6)


def test_from_teachers_starts_at_their_mean():
    teachers = torch.randn(4, 3, 2, 2, 5, 4)                             # K deep teachers
    student = DeepMPTPrompt.from_teachers(teachers, rank=1)
    assert student.num_tasks == 4 and student.kv_heads == 2
    assert torch.allclose(from_rows(student.shared.detach(), 2), teachers.mean(0), atol=1e-6)
    noisy = DeepMPTPrompt.from_teachers(teachers, init_std=0.1, generator=torch.Generator().manual_seed(0))
    again = DeepMPTPrompt.from_teachers(teachers, init_std=0.1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(noisy.u, again.u) and not torch.allclose(noisy.u, torch.ones_like(noisy.u))


def test_refuses_rows_that_are_not_keys_and_values_of_the_kv_heads():
    with pytest.raises(ValueError, match="kv heads"):
        DeepMPTPrompt(torch.zeros(2, 5, 10), num_tasks=1, kv_heads=3)


def test_deep_mpt_with_uv_ones_gives_the_logits_of_prefix_with_p_star(tiny_backbone):
    model = tiny_backbone.model
    prefix = init_prefix(model, tiny_backbone.tokenizer, "Find the dose.", 6)
    prefix = prefix + prefix.std() * torch.randn(prefix.shape, generator=torch.Generator().manual_seed(1))
    mpt = DeepMPTPrompt(to_rows(prefix), num_tasks=1, kv_heads=prefix.shape[2])
    single = DeepPrompt(prefix)
    ids = torch.tensor([[40, 50, 60, 70, 80]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        ours = deep_logits(model, mpt(torch.tensor([0])), ids, mask)
        theirs = deep_logits(model, single(torch.tensor([0])), ids, mask)
    assert torch.allclose(ours, theirs, atol=1e-6)
    with torch.no_grad():
        mpt.v.mul_(1.5)
        scaled = deep_logits(model, mpt(torch.tensor([0])), ids, mask)
    assert not torch.allclose(scaled, theirs, atol=1e-3), "u, v must act on the prefix"
