"""backbone.compile: the decoder layers are torch.compiled for training. The prompts get the same
gradients as with the eager layers, the layers share one compiled graph, and generation runs eagerly
(the same tokens, and no graph compiled for it). Inductor on the CPU: one compile, about 10 s."""

from __future__ import annotations

import pytest
import torch

from clinical_mpt.backbone import compile_layers, load_backbone
from clinical_mpt.batching import collate
from clinical_mpt.decoding import DecodeBatch, greedy_generate
from clinical_mpt.hf_compat import compiled
from clinical_mpt.losses import lm_loss
from clinical_mpt.modeling import answer_hidden_and_logits


def prompt_grad(model, prompts: torch.Tensor, task_ids: torch.Tensor, batch: dict):
    """(loss, d loss / d prompts) of one PT step; prompts (m, L, d)."""
    p = prompts.clone().requires_grad_(True)
    _, logits, targets = answer_hidden_and_logits(model, lambda t: p[t], task_ids, batch)
    loss = lm_loss(logits, targets)
    loss.backward()
    return loss.detach(), p.grad


@pytest.mark.slow
def test_compiled_layers_train_and_generate_like_the_eager_ones():
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()  # reset() keeps the counters: graphs compiled by earlier tests in this process would count
    eager = load_backbone("tiny-random-llama", dtype="float32")
    fast = load_backbone("tiny-random-llama", dtype="float32", compile=True)
    assert compiled(fast.model) and not compiled(eager.model)
    g = torch.Generator().manual_seed(0)
    rows = [(torch.randint(3, 259, (12 + i,), generator=g).tolist(), torch.randint(3, 259, (3,), generator=g).tolist())
            for i in range(4)]
    batch, task_ids = collate(rows, 0), torch.tensor([0, 0, 1, 1])  # two tasks: eager takes its shared-state path
    prompts = 0.02 * torch.randn(2, 6, 64, generator=g)
    loss_e, grad_e = prompt_grad(eager.model, prompts, task_ids, batch)
    loss_c, grad_c = prompt_grad(fast.model, prompts, task_ids, batch)
    assert torch.allclose(loss_c, loss_e, atol=1e-5) and torch.allclose(grad_c, grad_e, atol=1e-6, rtol=1e-4)
    assert counters["stats"]["unique_graphs"] == 1  # 2 layers, one graph
    inputs = [r[0] for r in rows]
    out_c = greedy_generate(fast.model, DecodeBatch.uniform(inputs, 5, prompts[task_ids]), eos_id=-1, pad_id=0)
    assert out_c == greedy_generate(eager.model, DecodeBatch.uniform(inputs, 5, prompts[task_ids]), eos_id=-1, pad_id=0)
    assert counters["stats"]["unique_graphs"] == 1  # generation compiled nothing


def test_compile_is_an_execution_setting():
    """Turning compile on reuses finished stages (it changes how a stage runs, not what it computes)."""
    from clinical_mpt.config import load_config
    from clinical_mpt.protocol import stage_key

    plain = load_config(None, [])
    fast = load_config(None, ["backbone.compile=true"])
    assert fast.backbone.compile and stage_key(plain, ("backbone", "teach")) == stage_key(fast, ("backbone", "teach"))


def test_compile_layers_compiles_every_layer_in_place():
    model = load_backbone("tiny-random-llama").model
    weights = [p.data_ptr() for p in model.parameters()]
    compile_layers(model)
    assert all(getattr(layer, "_compiled_call_impl", None) is not None for layer in model.model.layers)
    assert [p.data_ptr() for p in model.parameters()] == weights  # the frozen weights are untouched
