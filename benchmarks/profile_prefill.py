"""Why cached prefill at short inputs saves less than the tokens it skips: torch.profiler over one
prefill with the prompt's cached K/V states and one that re-encodes the prompt (inference.py's
`prefill` pair: prompt length 100, batch 1, default backbone in its default dtype).

Prints one JSON object per input length: both wall times (medians) and their ratio against the
target L/(P+L) + 0.05, each side's self CPU time by operator group (profile_step.py's groups), and
the matmul time per processed token (input tokens, plus the prompt's when it is re-encoded): if time
were proportional to tokens, the two per-token figures would be equal. `other_ms` (norms, rotary,
activations, casts, copies, cache concatenation) and `aten_op_calls` show the part that is paid per
operator call rather than per token.

    python benchmarks/profile_prefill.py [--input-tokens 128,512] [--top 6]
"""

from __future__ import annotations

import torch

from _common import emit, machine, paired_medians, parser
from clinical_mpt.backbone import load_backbone
from clinical_mpt.decoding import DecodeBatch, compute_prompt_states, prefill
from profile_step import group, summarize

PROMPT = 100


def profiled(fn, top: int) -> dict:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    out = summarize(prof, top)
    ops = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    out["matmul_ms"] = round(sum(e.self_cpu_time_total for e in ops if e.key in ("aten::mm", "aten::addmm", "aten::bmm"))
                             / 1000, 1)
    out["other_ms"] = round(sum(e.self_cpu_time_total for e in ops if group(e.key) == "other") / 1000, 1)
    out["aten_op_calls"] = sum(e.count for e in ops)
    return out


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--input-tokens", default="128,512")
    p.add_argument("--top", type=int, default=6)
    args = p.parse_args()
    bb = load_backbone(args.backbone, args.dtype, args.attention, inference_only=True)  # as the serving engine
    model = bb.model
    g = torch.Generator().manual_seed(0)
    prompt = torch.randn(PROMPT, model.config.hidden_size, generator=g) * 0.02        # (L, d)
    states = compute_prompt_states(model, prompt)
    result = {"benchmark": "profile_prefill", "backbone": args.backbone, "dtype": str(bb.dtype).split(".")[-1],
              "attention": model.config._attn_implementation, "machine": machine(), "prompt_length": PROMPT}
    for n in [int(x) for x in args.input_tokens.split(",")]:
        inputs = [torch.randint(10, min(bb.fingerprint.vocab_size, 20000), (n,), generator=g).tolist()]
        cached = lambda: prefill(model, DecodeBatch(inputs, [1], prefixes=[states]))     # noqa: E731
        uncached = lambda: prefill(model, DecodeBatch(inputs, [1], prompts=[prompt]))    # noqa: E731
        c_s, u_s, ratio = paired_medians(cached, uncached, args.repeats, args.warmup)
        c_p, u_p = profiled(cached, args.top), profiled(uncached, args.top)
        c_p["matmul_ms_per_token"] = round(c_p["matmul_ms"] / n, 3)
        u_p["matmul_ms_per_token"] = round(u_p["matmul_ms"] / (n + PROMPT), 3)
        result[str(n)] = {"cached_ms": round(1000 * c_s, 1), "uncached_ms": round(1000 * u_s, 1),
                          "cached_over_uncached": round(ratio, 3), "target": round(n / (n + PROMPT) + 0.05, 3),
                          "tokens_ratio": round(n / (n + PROMPT), 3), "cached": c_p, "uncached": u_p}
    emit(result)


if __name__ == "__main__":
    main()
