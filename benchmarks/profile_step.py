"""Where a prompt-tuning step's time goes: torch.profiler over forward and backward of one PT step.

Same batch as train_step.py (8 rows of one task, prompt length 100, 128 input tokens, the last 16 the
answer), default backbone in its default dtype. Prints one JSON object: the forward and backward
wall times of the profiled step, and the operators with the most self CPU time in each half, grouped
into matmuls, attention, and the rest (norms, activations, casts, copies: memory-bound work).

    python benchmarks/profile_step.py [--backbone default] [--top 12]
"""

from __future__ import annotations

import time

import torch

from _common import emit, machine, make_batch, parser
from clinical_mpt.backbone import load_backbone
from clinical_mpt.losses import lm_loss
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.prompts import SoftPrompt, init_prompt

MATMUL = ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear", "aten::matmul")


def group(name: str) -> str:
    low = name.lower()
    if "attention" in low or "sdpa" in low or "softmax" in low:
        return "attention"
    if any(name.startswith(m) for m in MATMUL) or "MmBackward" in name or "AddmmBackward" in name:
        return "matmul"
    return "other"


def summarize(prof, top: int) -> dict:
    rows = [e for e in prof.key_averages() if not e.key.startswith(("ProfilerStep", "autograd::engine"))]
    rows.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in rows) or 1
    groups: dict[str, float] = {}
    for e in rows:
        groups[group(e.key)] = groups.get(group(e.key), 0.0) + e.self_cpu_time_total / total
    return {"share_by_group": {k: round(v, 3) for k, v in sorted(groups.items())},
            "top_ops": [{"op": e.key, "calls": e.count, "self_ms": round(e.self_cpu_time_total / 1000, 1),
                         "share": round(e.self_cpu_time_total / total, 3)} for e in rows[:top]]}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    bb = load_backbone(args.backbone, args.dtype, args.attention)
    model = bb.model
    batch = make_batch(bb.fingerprint.vocab_size, 8, 128)
    prompt = SoftPrompt(init_prompt(model.get_input_embeddings().weight, 100, "vocab"))
    one_task = torch.zeros(8, dtype=torch.long)

    def forward():
        _, logits, targets = answer_hidden_and_logits(model, prompt, one_task, batch)
        return lm_loss(logits, targets)

    for _ in range(max(args.warmup, 1)):
        forward().backward()
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as fwd_prof:
        t = time.perf_counter()
        loss = forward()
        forward_s = time.perf_counter() - t
    with profile(activities=[ProfilerActivity.CPU]) as bwd_prof:
        t = time.perf_counter()
        loss.backward()
        backward_s = time.perf_counter() - t
    emit({"benchmark": "profile_step", "backbone": args.backbone, "dtype": str(bb.dtype).split(".")[-1],
          "attention": model.config._attn_implementation, "machine": machine(),
          "forward_s": round(forward_s, 3), "backward_s": round(backward_s, 3),
          "backward_over_forward": round(backward_s / forward_s, 3),
          "forward": summarize(fwd_prof, args.top), "backward": summarize(bwd_prof, args.top)})


if __name__ == "__main__":
    main()
