"""The ROI calculator's deep-prompt sizes, against the issue's hand counts and a built deep prompt."""

from __future__ import annotations

import torch

from clinical_mpt.backbone_shapes import builtin_shape
from clinical_mpt.roi import deep_prompt_costs


def test_smollm2_at_l20_r1():
    shape = builtin_shape("smollm2-135m")                 # 30 layers, 3 kv heads of 64: D = 384
    costs = deep_prompt_costs(shape, prompt_length=20, rank=1, dtype_bytes=2)
    assert costs["deep-mpt"]["trainable_parameters_per_task"] == 30 * (20 + 384) == 12_120
    assert costs["deep-mpt"]["storage_bytes_per_task"] == 4 * 12_120
    assert costs["deep-mpt"]["shared_parameters"] == 30 * 20 * 384
    assert costs["prefix"]["trainable_parameters_per_task"] == 230_400    # the P-Tuning v2 row
    assert costs["prefix"]["shared_parameters"] == 0
    assert costs["prefix"]["served_kv_bytes_per_task"] == 2 * 230_400
    assert round(100 * costs["deep-mpt"]["trainable_fraction"], 3) == 0.009


def test_counts_match_a_built_deep_prompt(tiny_backbone):
    from clinical_mpt.backbone_shapes import shape_from_hf_config
    from clinical_mpt.prompts import DeepMPTPrompt
    from clinical_mpt.prompts.deep_prompt import init_prefix, to_rows

    shape = shape_from_hf_config(tiny_backbone.model.config.to_dict())
    prefix = init_prefix(tiny_backbone.model, tiny_backbone.tokenizer, "note", 5)
    costs = deep_prompt_costs(shape, prompt_length=5, rank=2, dtype_bytes=4)
    assert costs["prefix"]["trainable_parameters_per_task"] == prefix.numel()
    mpt = DeepMPTPrompt(to_rows(prefix), 1, prefix.shape[2], rank=2)
    assert costs["deep-mpt"]["trainable_parameters_per_task"] == mpt.task_parameters()
    assert costs["deep-mpt"]["shared_parameters"] == mpt.shared.numel()
    assert costs["prefix"]["served_kv_bytes_per_task"] == prefix.numel() * torch.finfo(torch.float32).bits // 8


def test_the_roi_calculator_reports_the_deep_variants(capsys):
    import argparse
    import json

    from clinical_mpt.roi import compute_roi, configure, main

    shape = builtin_shape("smollm2-135m")
    result = compute_roi(shape, 10, prompt_length=20, rank=1, dtype_bytes=2)
    deep = {"deep-mpt": result["methods"]["mpt"]["deep"], "prefix": result["methods"]["pt"]["deep"]}
    assert deep["deep-mpt"]["storage_bytes_per_task"] == 4 * 12_120                   # u_l, v_l at fp32
    assert deep["prefix"]["storage_bytes_per_task"] == 4 * 230_400
    assert deep["deep-mpt"]["storage_bytes_total"] == 10 * 4 * 12_120 + 4 * 30 * 20 * 384   # + the shared deep P*
    assert deep["prefix"]["served_kv_bytes_total"] == 10 * 2 * 230_400                  # every task's K/V in bf16
    assert deep["prefix"]["served_kv_bytes_per_task"] == deep["deep-mpt"]["served_kv_bytes_per_task"]
    parser = argparse.ArgumentParser()
    configure(parser)
    assert main(parser.parse_args(["--tasks", "10", "--prompt-length", "20", "--json"])) == 0
    printed = json.loads(capsys.readouterr().out)["methods"]
    assert printed["mpt"]["deep"] == deep["deep-mpt"] and printed["pt"]["deep"] == deep["prefix"]
    assert main(parser.parse_args(["--tasks", "10", "--prompt-length", "20"])) == 0
    table = capsys.readouterr().out
    assert "Deep prompts (per-layer K/V): prefix 921.6 KB per task, deep-mpt 48.5 KB per task" in table
