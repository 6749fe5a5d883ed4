"""recipes/sweep.py's dev loss: measured through the forward each kind of method trains with."""

from __future__ import annotations

import pytest
import torch

from clinical_mpt.batching import collate, encode_task
from clinical_mpt.config import PromptConfig
from clinical_mpt.data.suite import load_split, load_suite, select_tasks
from clinical_mpt.deep_modeling import deep_logits
from clinical_mpt.methods.base import Fitted
from clinical_mpt.prompts import new_deep_prompt
from clinical_mpt.recipes.sweep import dev_loss


@pytest.fixture(scope="module")
def dev(tiny_backbone, mini_suite):
    spec = select_tasks(load_suite(mini_suite), "target", ["dose_qa"])[0]
    return encode_task(tiny_backbone.tokenizer, load_split(mini_suite, spec, "dev", 6), 96, 16)


def reference_loss(model, prefix, dev, pad_id) -> float:
    """Mean cross-entropy of the answer tokens from teacher-forced logits behind the deep prefix."""
    batch = collate(dev.encoded, pad_id)
    prefixes = prefix.unsqueeze(0).expand(len(dev.encoded), *prefix.shape)
    logits = deep_logits(model, prefixes, batch["input_ids"], batch["attention_mask"])   # (B, T, V)
    return torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(),
                                             batch["labels"][:, 1:].flatten(), ignore_index=-100).item()


def test_a_deep_prefix_is_measured_through_the_kv_cache(tiny_backbone, dev):
    """A regression: the sweep measured deep methods (prefix, deep-mpt*) without their prefix, so every
    rate read the frozen backbone's loss and the sweep could not choose."""
    torch.manual_seed(0)
    prefix = new_deep_prompt(tiny_backbone, PromptConfig(length=4)).weight.detach()
    prefix = prefix + 3.0 * torch.randn_like(prefix)          # far from the init text: the loss must move
    pad = tiny_backbone.tokenizer.pad_token_id
    model = tiny_backbone.model
    with_prefix = dev_loss(Fitted(model, None, 0, 0, prefix=prefix), dev, pad, batch_size=4)
    without = dev_loss(Fitted(model, None, 0, 0), dev, pad, batch_size=4)
    assert with_prefix == pytest.approx(reference_loss(model, prefix, dev, pad), rel=1e-4)
    assert with_prefix != pytest.approx(without, rel=1e-4)


def test_an_input_prompt_changes_the_loss(tiny_backbone, dev):
    torch.manual_seed(0)
    d = tiny_backbone.model.config.hidden_size
    pad = tiny_backbone.tokenizer.pad_token_id
    model = tiny_backbone.model
    with_prompt = dev_loss(Fitted(model, 3.0 * torch.randn(4, d), 0, 0), dev, pad, batch_size=4)
    without = dev_loss(Fitted(model, None, 0, 0), dev, pad, batch_size=4)
    assert with_prompt != pytest.approx(without, rel=1e-4)
