"""Soft prompts: initialisation, fp32 parameters, and the MPT composition P* o (U_k V_k) checked by hand
and against peft's MultitaskPromptEmbedding on the same tensors."""

from __future__ import annotations

import pytest
import torch

from clinical_mpt.prompts import MPTPrompt, SoftPrompt, init_prompt


@pytest.fixture(scope="module")
def bf16_backbone():
    from clinical_mpt.backbone import load_backbone

    return load_backbone("tiny-random-llama", "bfloat16")


def test_vocab_init_takes_rows_of_the_embedding_matrix(tiny_backbone):
    emb = tiny_backbone.model.get_input_embeddings().weight
    p = init_prompt(emb, 12, "vocab", generator=torch.Generator().manual_seed(0))
    assert p.shape == (12, 64) and p.dtype == torch.float32
    for row in p:
        assert (emb == row).all(-1).any(), "every vocab-init row is a token embedding"
    again = init_prompt(emb, 12, "vocab", generator=torch.Generator().manual_seed(0))
    assert torch.equal(p, again)
    other = init_prompt(emb, 12, "vocab", generator=torch.Generator().manual_seed(1))
    assert not torch.equal(p, other)


def test_text_init_repeats_the_text_tokens(tiny_backbone):
    emb = tiny_backbone.model.get_input_embeddings().weight
    tok = tiny_backbone.tokenizer
    ids = tok("abc", add_special_tokens=False).input_ids
    assert len(ids) == 3
    p = init_prompt(emb, 7, "text", tokenizer=tok, text="abc")
    expected = emb[torch.tensor((ids * 3)[:7])]
    assert p.shape == (7, 64)
    assert torch.equal(p, expected)
    short = init_prompt(emb, 2, "text", tokenizer=tok, text="abc")
    assert torch.equal(short, emb[torch.tensor(ids[:2])])


def test_random_init_matches_the_embedding_scale(tiny_backbone):
    emb = tiny_backbone.model.get_input_embeddings().weight
    p = init_prompt(emb, 200, "random", generator=torch.Generator().manual_seed(0))
    assert p.shape == (200, 64)
    assert abs(p.std().item() / emb.std().item() - 1) < 0.1


def test_unknown_init_mode():
    with pytest.raises(ValueError, match="zeros"):
        init_prompt(torch.zeros(10, 4), 3, "zeros")


def test_soft_prompt_shapes():
    init = torch.randn(5, 8)
    sp = SoftPrompt(init)
    assert sp.length == 5
    out = sp(torch.tensor([0, 0, 0]))
    assert out.shape == (3, 5, 8)
    assert all(torch.equal(row, init) for row in out)
    assert torch.equal(sp.task_prompt(), init)
    assert [n for n, _ in sp.named_parameters()] == ["weight"]
    init.add_(1.0)  # the prompt owns a copy of its init
    assert not torch.equal(sp.weight, init)


def test_prompt_parameters_are_fp32_on_a_bf16_backbone(bf16_backbone):
    emb = bf16_backbone.model.get_input_embeddings().weight
    assert emb.dtype == torch.bfloat16
    for how in ("vocab", "text", "random"):
        init = init_prompt(emb, 4, how, tokenizer=bf16_backbone.tokenizer, text="note")
        assert init.dtype == torch.float32, how
    sp = SoftPrompt(init_prompt(emb, 4, "vocab"))
    assert sp.weight.dtype == torch.float32
    mpt = MPTPrompt(emb[:4].detach(), num_tasks=3)
    assert all(p.dtype == torch.float32 for p in mpt.parameters())


def test_soft_prompt_update_is_not_rounded_to_bf16(bf16_backbone):
    sp = SoftPrompt(init_prompt(bf16_backbone.model.get_input_embeddings().weight, 4, "vocab"))
    before = sp.weight.detach().clone()
    with torch.no_grad():
        sp.weight.add_(1e-6)  # far below bf16 resolution at these magnitudes
    assert not torch.equal(sp.weight, before)


def _random_mpt(L=6, d=10, K=3, r=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    mpt = MPTPrompt(torch.randn(L, d, generator=g), num_tasks=K, rank=r)
    with torch.no_grad():
        mpt.u.copy_(torch.randn(K, L, r, generator=g))
        mpt.v.copy_(torch.randn(K, r, d, generator=g))
    return mpt


def test_mpt_shapes_and_parameter_count():
    mpt = MPTPrompt(torch.randn(6, 10), num_tasks=3, rank=2)
    assert mpt.shared.shape == (6, 10) and mpt.u.shape == (3, 6, 2) and mpt.v.shape == (3, 2, 10)
    assert mpt.length == 6 and mpt.num_tasks == 3
    assert mpt.task_parameters() == 2 * (6 + 10)
    assert MPTPrompt(torch.randn(100, 576), num_tasks=5).task_parameters() == 100 + 576


@pytest.mark.parametrize("rank", [1, 3])
def test_mpt_starts_at_the_shared_prompt(rank):
    shared = torch.randn(6, 10)
    mpt = MPTPrompt(shared, num_tasks=4, rank=rank)
    out = mpt(torch.tensor([0, 3, 1]))
    assert out.shape == (3, 6, 10)
    for row in out:
        assert torch.allclose(row, shared, atol=1e-6)


def test_mpt_init_noise_is_seeded():
    a = MPTPrompt(torch.randn(4, 5), 2, init_std=0.1, generator=torch.Generator().manual_seed(3))
    b = MPTPrompt(a.shared.detach(), 2, init_std=0.1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.u, b.u) and torch.equal(a.v, b.v)
    assert not torch.allclose(a.u, torch.ones_like(a.u))


def test_mpt_rank1_is_hadamard_with_outer_product():
    mpt = _random_mpt(r=1)
    task_ids = torch.tensor([2, 0, 2, 1])
    out = mpt(task_ids)
    for b, k in enumerate(task_ids.tolist()):
        u, v = mpt.u[k, :, 0], mpt.v[k, 0, :]                       # (L,), (d,)
        expected = mpt.shared * torch.outer(u, v)
        assert torch.allclose(out[b], expected, atol=1e-6)
        assert torch.allclose(mpt.task_prompt(k), expected, atol=1e-6)
        # element by element, for one entry
        assert torch.isclose(out[b, 3, 7], mpt.shared[3, 7] * u[3] * v[7], atol=1e-6)


def test_mpt_rank_r_is_hadamard_with_sum_of_outer_products():
    mpt = _random_mpt(r=3)
    out = mpt(torch.tensor([1]))
    low_rank = sum(torch.outer(mpt.u[1, :, j], mpt.v[1, j, :]) for j in range(3))
    assert torch.allclose(out[0], mpt.shared * low_rank, atol=1e-5)
    assert torch.linalg.matrix_rank(low_rank).item() == 3


def _peft_embedding(L, d, K, r):
    from peft import MultitaskPromptTuningConfig, MultitaskPromptTuningInit
    from peft.tuners.multitask_prompt_tuning.model import MultitaskPromptEmbedding

    config = MultitaskPromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=L, token_dim=d, num_tasks=K,
                                         num_ranks=r, num_transformer_submodules=1,
                                         prompt_tuning_init=MultitaskPromptTuningInit.RANDOM)
    return MultitaskPromptEmbedding(config, torch.nn.Embedding(50, d))


@pytest.mark.parametrize("rank", [1, 2])
def test_mpt_matches_peft_multitask_prompt_embedding(rank):
    L, d, K = 6, 10, 3
    ours = _random_mpt(L, d, K, rank, seed=rank)
    theirs = _peft_embedding(L, d, K, rank)
    with torch.no_grad():
        theirs.embedding.weight.copy_(ours.shared)
        theirs.prefix_task_cols.copy_(ours.u)
        theirs.prefix_task_rows.copy_(ours.v)
    task_ids = torch.tensor([0, 2, 1, 2])
    indices = torch.arange(L).unsqueeze(0).expand(len(task_ids), -1)   # (B, L) virtual-token ids
    with torch.no_grad():
        expected = theirs(indices, task_ids)
    assert expected.shape == (4, L, d)
    assert torch.allclose(ours(task_ids), expected, atol=1e-6)


def test_mpt_gradients_reach_shared_u_and_v():
    mpt = _random_mpt()
    mpt(torch.tensor([1])).sum().backward()
    assert mpt.shared.grad is not None and mpt.shared.grad.abs().sum() > 0
    assert mpt.u.grad[1].abs().sum() > 0 and mpt.v.grad[1].abs().sum() > 0
    assert mpt.u.grad[0].abs().sum() == 0 and mpt.u.grad[2].abs().sum() == 0  # other tasks untouched
