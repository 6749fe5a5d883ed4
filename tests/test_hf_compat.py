"""hf_compat: the private APIs it reads fail with an error that names the version and the fix."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import torch

from clinical_mpt.hf_compat import CompatError, compiled, remove_zero3_step_hook


def test_compiled_layers_are_told_apart_and_a_torch_without_the_private_attribute_is_named(tiny_backbone,
                                                                                           monkeypatch):
    assert not compiled(tiny_backbone.model)
    monkeypatch.delattr(torch.nn.Module, "_compiled_call_impl")
    message = f"torch {torch.__version__}: nn.Module has no _compiled_call_impl"
    with pytest.raises(CompatError, match=re.escape(message)):
        compiled(tiny_backbone.model)


def test_the_zero3_step_hook_is_removed_or_its_absence_named():
    deepspeed = pytest.importorskip("deepspeed")
    layer, calls = torch.nn.Linear(2, 2), []
    hook = layer.register_forward_pre_hook(lambda *_: calls.append(1))
    offload = SimpleNamespace(fwd_pre_hook=hook)
    remove_zero3_step_hook(SimpleNamespace(optimizer=SimpleNamespace(parameter_offload=offload)))
    layer(torch.zeros(1, 2))
    assert calls == []
    bare = SimpleNamespace()  # without an optimizer the offload object is the engine's `optimizer` itself
    with pytest.raises(CompatError, match=re.escape(f"deepspeed {deepspeed.__version__}: its ZeRO-3 engine has no")):
        remove_zero3_step_hook(SimpleNamespace(optimizer=bare))
