"""Where cached serving spends more than the bare backbone: torch.profiler over one served generation
(8 rows, each its own task's cached prompt states, prompt length 100) and one bare generation (the
same 8 inputs of 48 tokens, no prompt), 16 new tokens each: inference.py's `serving_vs_bare` pair.

Prints one JSON object: both wall times (medians, timed alternately) and their ratio, and for the
operators that differ most, each side's self CPU time and call count.

    python benchmarks/profile_serving.py [--top 8]
"""

from __future__ import annotations

import torch

from _common import emit, machine, paired_medians, parser
from clinical_mpt.backbone import load_backbone
from clinical_mpt.decoding import DecodeBatch, compute_prompt_states, greedy_generate

ROWS, PROMPT, INPUT, NEW = 8, 100, 48, 16


def self_times(fn) -> dict[str, tuple[float, int]]:
    """{aten op: (self CPU ms, calls)} of one call of fn under torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return {e.key: (e.self_cpu_time_total / 1000, e.count) for e in prof.key_averages() if e.key.startswith("aten::")}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--top", type=int, default=8)
    args = p.parse_args()
    bb = load_backbone(args.backbone, args.dtype, args.attention, inference_only=True)  # as the serving engine
    model, pad = bb.model, bb.tokenizer.pad_token_id
    g = torch.Generator().manual_seed(0)
    prompts = [0.02 * torch.randn(PROMPT, model.config.hidden_size, generator=g) for _ in range(ROWS)]
    states = [compute_prompt_states(model, prompt) for prompt in prompts]
    vocab = min(bb.fingerprint.vocab_size, 20000)
    inputs = [torch.randint(10, vocab, (INPUT,), generator=g).tolist() for _ in range(ROWS)]

    def served():  # eos -1: all NEW tokens
        return greedy_generate(model, DecodeBatch(inputs, [NEW] * ROWS, prefixes=states), -1, pad)

    def bare():  # the bare backbone: no prompt
        return greedy_generate(model, DecodeBatch.uniform(inputs, NEW), -1, pad)

    served_s, bare_s, ratio = paired_medians(served, bare, args.repeats, args.warmup)
    a, b = self_times(served), self_times(bare)
    ops = sorted(set(a) | set(b), key=lambda k: abs(a.get(k, (0, 0))[0] - b.get(k, (0, 0))[0]), reverse=True)
    emit({"benchmark": "profile_serving", "backbone": args.backbone, "dtype": str(bb.dtype).split(".")[-1],
          "attention": model.config._attn_implementation, "machine": machine(),
          "rows": ROWS, "prompt_length": PROMPT, "input_tokens": INPUT, "new_tokens": NEW,
          "served_s": round(served_s, 3), "bare_s": round(bare_s, 3), "served_over_bare": round(1 / ratio, 3),
          "served_self_ms_total": round(sum(v[0] for v in a.values()), 1),
          "bare_self_ms_total": round(sum(v[0] for v in b.values()), 1),
          "largest_differences": [{"op": k, "served_ms": round(a.get(k, (0, 0))[0], 1), "bare_ms": round(b.get(k, (0, 0))[0], 1),
                                   "served_calls": a.get(k, (0, 0))[1], "bare_calls": b.get(k, (0, 0))[1]}
                                  for k in ops[:args.top]]})


if __name__ == "__main__":
    main()
