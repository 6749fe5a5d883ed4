"""The frozen backbone gets no weight gradients: counted with torch.utils.flop_counter.FlopCounterMode.

A training step with frozen weights needs, in backward, only the gradients with respect to the
activations: one matmul per forward matmul of a linear layer, so backward / forward matmul FLOPs ~ 1
(weight gradients would make it ~ 2). We count the linear layers' matmuls (aten.mm / aten.addmm):
sdpa's attention kernels have no weights and are not counted on the CPU. The model is 8 layers deep
so the first layer's skipped work (text embeddings need no gradient: the q/k/v projections of the
text positions have no backward in the shared-prompt-state layout) weighs what it would in a real
backbone; a 2-layer toy model would put the ratio near 0.88.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import LlamaConfig, LlamaForCausalLM

from clinical_mpt.batching import collate
from clinical_mpt.config import load_config
from clinical_mpt.losses import lm_loss
from clinical_mpt.methods.mpt import target_prompt
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.prompts import MPTPrompt
from clinical_mpt.recipes.distill import distill_loss
from clinical_mpt.teacher_cache import compute_teacher_outputs

L, D = 10, 64
MATMULS = ("aten.mm", "aten.addmm")


class Backbone:
    def __init__(self, model):
        self.model = model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=D, intermediate_size=128, num_hidden_layers=8, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=300)
    m = LlamaForCausalLM(config).eval().requires_grad_(False)
    m.set_attn_implementation("sdpa")
    return m


def rows(n: int) -> list:
    return [(list(range(5, 45 + 3 * i)), list(range(100, 108 + i))) for i in range(n)]


def matmul_flops(counter: FlopCounterMode) -> int:
    return sum(v for op, v in counter.get_flop_counts()["Global"].items() if str(op) in MATMULS)


def backward_over_forward(loss_fn) -> float:
    with FlopCounterMode(display=False) as fwd:
        loss = loss_fn()
    with FlopCounterMode(display=False) as bwd:
        loss.backward()
    return matmul_flops(bwd) / matmul_flops(fwd)


def pt_step(model, batch):
    prompt = torch.nn.Parameter(0.1 * torch.randn(1, L, D))  # one task: the rows share its prompt states
    _, logits, targets = answer_hidden_and_logits(model, lambda ids: prompt[ids], torch.zeros(4, dtype=torch.long), batch)
    return lm_loss(logits, targets)


def adapt_step(model, batch):
    meta = {"shared": 0.1 * torch.randn(L, D), "u": torch.ones(3, L, 1), "v": torch.ones(3, 1, D)}
    mpt = target_prompt(meta, ["a", "b", "c"], "mean", train_meta_prompt=False)  # u, v only
    _, logits, targets = answer_hidden_and_logits(model, mpt, torch.zeros(4, dtype=torch.long), batch)
    return lm_loss(logits, targets)


def distill_step(model, batch):
    """The student step; the teachers' outputs are cached before it (as `distill` does)."""
    encoded = rows(4)
    teachers = [0.1 * torch.randn(L, D) for _ in range(4)]
    cache = [compute_teacher_outputs(model, teachers[k], [encoded[k]], 0, 2.0, 16) for k in range(4)]
    mpt = MPTPrompt(torch.stack(teachers).mean(0), 4)
    dcfg = load_config(None, []).distill
    refs = [(k, 0) for k in range(4)]  # a mixed batch: every row its own source task
    return lambda: distill_loss(Backbone(model), mpt, batch, refs, torch.arange(4), cache, dcfg)[0]


def pt_step_fn(model, batch):
    return lambda: pt_step(model, batch)


def adapt_step_fn(model, batch):
    return lambda: adapt_step(model, batch)


@pytest.mark.parametrize("step", [pt_step_fn, adapt_step_fn, distill_step], ids=["pt", "adapt", "distill"])
def test_backward_matmul_flops_equal_forward(model, step):
    ratio = backward_over_forward(step(model, collate(rows(4), 0)))
    print(f"backward / forward matmul FLOPs: {ratio:.3f}")
    assert 0.95 <= ratio <= 1.05, ratio


def test_the_count_would_see_weight_gradients(model):
    """The same PT step with trainable weights does twice the matmul work in backward."""
    model.requires_grad_(True)
    try:
        ratio = backward_over_forward(lambda: pt_step(model, collate(rows(4), 0)))
    finally:
        model.requires_grad_(False)
    assert ratio > 1.8, ratio
