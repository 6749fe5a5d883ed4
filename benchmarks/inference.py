"""Inference benchmark: mixed-task batches, cached prompt states, and our engine against peft.

    python benchmarks/inference.py [--backbone default|tiny-random-llama] [--dtype auto]

Prints ONE JSON object:
- `mixed_vs_single`: decode throughput of one batch mixing `--tasks` tasks (each row its own prompt)
  against a batch of the same size for one task (same inputs, same number of tokens).
- `prefill`: prefill time with cached prompt K/V states vs re-encoding the prompt (as peft does), at
  prompt length `--prompt-length` and inputs of `--input-tokens` tokens (batch `--prefill-batch`).
- `serving_vs_bare`: decode throughput of the cached mixed batch against the bare backbone (no prompt)
  on the same inputs: what serving with prompts costs.
- `resident_100_vs_1`: the engine's prompt cache holding 100 tasks (each batch draws 8 different
  ones, cycling through all 100) against holding 1 task (every row the same).
- `engine_vs_peft`: the same mixed workload (one request per task) through our engine (one mixed
  batch, cached prompts) and through peft (one PeftModel adapter per task, switched per request,
  `generate()` per request).
Timings are medians over `--repeats` runs after one warm-up; the two sides of each comparison run
alternately (a, b, a, b, ...) and their ratio is the median of the back-to-back pairs' ratios, which
holds up on a machine whose load changes from second to second. Prompts are random (drawn from the
vocabulary embeddings, like a teacher's init), so no trained library is needed. Every generation runs
exactly `--new-tokens` tokens (EOS ignored) so the compared runs do the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch

from _common import median_seconds, paired_medians
from clinical_mpt.backbone import load_backbone
from clinical_mpt.decoding import DecodeBatch, compute_prompt_states, greedy_generate, prefill
from clinical_mpt.prompts import init_prompt

NO_EOS = -1  # an id no model emits: decode exactly the budget


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backbone", default="default", help="default | tiny-random-llama | a local model path")
    p.add_argument("--dtype", default="auto", help="auto (the backbone's default: bf16 on avx512_bf16 CPUs) | bfloat16 | float32")
    p.add_argument("--tasks", type=int, default=8, help="tasks in the mixed batch (= its batch size)")
    p.add_argument("--prompt-length", type=int, default=100)
    p.add_argument("--input-len", type=int, default=48, help="input tokens per request in the decode runs")
    p.add_argument("--new-tokens", type=int, default=16, help="generated tokens per request")
    p.add_argument("--input-tokens", default="128,512", help="input lengths of the prefill comparison")
    p.add_argument("--prefill-batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--peft-repeats", type=int, default=1, help="timed passes of the (slow) peft side")
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads (0 = torch's default); use 1 on a CPU shared with other jobs")
    p.add_argument("--skip-peft", action="store_true")
    return p.parse_args(argv)


def note(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def random_prompts(model, n: int, length: int, seed: int = 0) -> list[torch.Tensor]:
    """n prompts (L, d) initialised like a teacher's (`prompt.init: vocab`)."""
    g = torch.Generator().manual_seed(seed)
    return [init_prompt(model.get_input_embeddings().weight, length, "vocab", generator=g) for _ in range(n)]


def random_inputs(vocab: int, n: int, length: int, seed: int = 1) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(10, min(vocab, 5000), (length,), generator=g).tolist() for _ in range(n)]


def generate_cached(model, states, inputs, new_tokens: int, pad: int):
    return greedy_generate(model, DecodeBatch(inputs, [new_tokens] * len(inputs), prefixes=states), NO_EOS, pad)


def side_by_side(a: str, fn_a, b: str, fn_b, repeats: int, tokens: int, ratio: str) -> dict:
    """Seconds and tokens/s of two runs of the same work, timed alternately, and a's throughput relative
    to b's (`ratio`: the median over the back-to-back pairs of b's time / a's)."""
    a_s, b_s, a_over_b = paired_medians(fn_a, fn_b, repeats)
    return {f"{a}_s": round(a_s, 4), f"{b}_s": round(b_s, 4), f"{a}_tokens_per_s": round(tokens / a_s, 1),
            f"{b}_tokens_per_s": round(tokens / b_s, 1), ratio: round(1 / a_over_b, 3)}


def bench_mixed_vs_single(bb, args, prompts, states) -> dict:
    model, pad = bb.model, bb.tokenizer.pad_token_id
    inputs = random_inputs(bb.fingerprint.vocab_size, args.tasks, args.input_len)
    mixed = lambda: generate_cached(model, states, inputs, args.new_tokens, pad)                       # noqa: E731
    single = lambda: generate_cached(model, [states[0]] * args.tasks, inputs, args.new_tokens, pad)     # noqa: E731
    return {"batch_size": args.tasks, "tasks_in_mixed_batch": args.tasks, "input_tokens": args.input_len,
            "new_tokens": args.new_tokens, **side_by_side("mixed", mixed, "single_task", single, args.repeats,
                                                          args.tasks * args.new_tokens, "mixed_over_single")}


def bench_prefill(bb, args, prompts, states) -> dict:
    model, out = bb.model, {}
    b = args.prefill_batch
    state_s = median_seconds(lambda: compute_prompt_states(model, prompts[0]), args.repeats, 1)
    for n in [int(x) for x in args.input_tokens.split(",")]:
        inputs = random_inputs(bb.fingerprint.vocab_size, b, n, seed=n)
        prefixes = states[:b] if b <= len(states) else [states[0]] * b
        cached, uncached, ratio = paired_medians(
            lambda: prefill(model, DecodeBatch(inputs, [1] * b, prefixes=prefixes)),
            lambda: prefill(model, DecodeBatch(inputs, [1] * b, prompts=[prompts[0]] * b)), args.repeats)
        out[str(n)] = {"cached_ms": round(1000 * cached, 2), "uncached_ms": round(1000 * uncached, 2),
                       "cached_over_uncached": round(ratio, 3), "target": round(n / (n + args.prompt_length) + 0.05, 3),
                       "speedup": round(1 / ratio, 3)}
    return {"prompt_length": args.prompt_length, "batch_size": b, "by_input_tokens": out,
            "prompt_state_once_ms": round(1000 * state_s, 2)}


def bench_serving_vs_bare(bb, args, prompts, states) -> dict:
    model, pad = bb.model, bb.tokenizer.pad_token_id
    inputs = random_inputs(bb.fingerprint.vocab_size, args.tasks, args.input_len, seed=3)

    def bare():  # no prompt at all
        return greedy_generate(model, DecodeBatch.uniform(inputs, args.new_tokens), NO_EOS, pad)

    served = lambda: generate_cached(model, states, inputs, args.new_tokens, pad)                      # noqa: E731
    return {"rows": args.tasks, "prompt_length": args.prompt_length, "input_tokens": args.input_len,
            "new_tokens": args.new_tokens, **side_by_side("served", served, "bare", bare, args.repeats,
                                                          args.tasks * args.new_tokens, "served_over_bare")}


def bench_resident(bb, args, prompts, states) -> dict:
    from clinical_mpt.serve.prompt_cache import PromptCache

    model, pad, n = bb.model, bb.tokenizer.pad_token_id, 100
    many = random_prompts(model, n, args.prompt_length, seed=11)
    cache_many = PromptCache(model, {f"t{i}": p for i, p in enumerate(many)}, capacity=n)
    cache_one = PromptCache(model, {"t0": many[0]}, capacity=n)
    for i in range(n):
        cache_many.get(f"t{i}")                                              # all 100 resident
    inputs = random_inputs(bb.fingerprint.vocab_size, args.tasks, args.input_len, seed=5)
    turn = [0]

    def hundred():
        names = [f"t{(turn[0] + j) % n}" for j in range(args.tasks)]
        turn[0] += args.tasks
        return generate_cached(model, [cache_many.get(t) for t in names], inputs, args.new_tokens, pad)

    many_s, one_s, many_over_one = paired_medians(
        hundred, lambda: generate_cached(model, [cache_one.get("t0")] * args.tasks, inputs, args.new_tokens, pad),
        args.repeats)
    return {"resident_tasks": len(cache_many), "rows": args.tasks, "new_tokens": args.new_tokens,
            "resident_100_s": round(many_s, 4), "resident_1_s": round(one_s, 4),
            "resident_prompt_state_mb": round(cache_many.nbytes() / 2**20, 1),
            "hundred_over_one": round(1 / many_over_one, 3)}


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_engine_vs_peft(bb, args, prompts, states) -> dict:
    """Ours: one mixed batch over cached prompt states. peft: one adapter per task, set_adapter +
    generate() per request. peft is timed over `--peft-repeats` passes (it is the slow side)."""
    from peft import PromptTuningConfig, get_peft_model

    model, pad = bb.model, bb.tokenizer.pad_token_id
    inputs = random_inputs(bb.fingerprint.vocab_size, args.tasks, args.input_len, seed=7)
    ours_s = median_seconds(lambda: generate_cached(model, states, inputs, args.new_tokens, pad), args.repeats, 1)
    ours = generate_cached(model, states, inputs, args.new_tokens, pad)

    cfg = PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=args.prompt_length)
    peft_model = get_peft_model(model, cfg, adapter_name="task0")
    for k in range(1, args.tasks):
        peft_model.add_adapter(f"task{k}", cfg)
    with torch.no_grad():
        for k, p in enumerate(prompts):
            peft_model.prompt_encoder[f"task{k}"].embedding.weight.copy_(p)
    peft_model.eval()
    widths: list[int] = []
    hook = model.register_forward_pre_hook(
        lambda mod, a, kw: widths.append((kw.get("inputs_embeds") if kw.get("inputs_embeds") is not None
                                          else kw["input_ids"]).shape[1]), with_kwargs=True)

    def one(k, ids, n):
        peft_model.set_adapter(f"task{k}")
        x = torch.tensor([ids])
        gen = peft_model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=n,
                                  min_new_tokens=n, do_sample=False, pad_token_id=pad)
        return gen[0, -n:].tolist()

    with torch.no_grad():
        one(0, inputs[0], 2)                                   # warm-up
        widths.clear()
        runs = [timed(lambda: [one(k, ids, args.new_tokens) for k, ids in enumerate(inputs)])
                for _ in range(args.peft_repeats)]
    hook.remove()
    peft_s, theirs = statistics.median(t for t, _ in runs), runs[0][1]
    eos = bb.tokenizer.eos_token_id
    no_eos = [i for i, a in enumerate(ours) if eos not in a]
    return {"requests": args.tasks, "tasks": args.tasks, "new_tokens": args.new_tokens,
            "engine_s": round(ours_s, 4), "peft_s": round(peft_s, 4), "peft_repeats": args.peft_repeats,
            "engine_requests_per_s": round(args.tasks / ours_s, 2), "peft_requests_per_s": round(args.tasks / peft_s, 2),
            "speedup": round(peft_s / ours_s, 3),
            "same_generations": f"{sum(ours[i] == theirs[i] for i in no_eos)}/{len(no_eos)} (rows without EOS)",
            "peft_tokens_fed_per_decode_step": max(widths[1:args.new_tokens], default=None)}


def main(argv=None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    t = time.perf_counter()
    bb = load_backbone(args.backbone, args.dtype, inference_only=True)  # the engine's choice: sdpa on the CPU too
    load_s = time.perf_counter() - t
    prompts = random_prompts(bb.model, args.tasks, args.prompt_length)
    states = [compute_prompt_states(bb.model, p) for p in prompts]
    result = {
        "backbone": args.backbone, "dtype": str(bb.dtype).split(".")[-1], "parameters": bb.num_parameters,
        "torch_threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "device": "cpu", "load_s": round(load_s, 2), "repeats": args.repeats,
    }
    sections = [("mixed_vs_single", bench_mixed_vs_single), ("prefill", bench_prefill),
                ("serving_vs_bare", bench_serving_vs_bare), ("resident_100_vs_1", bench_resident)]
    sections += [] if args.skip_peft else [("engine_vs_peft", bench_engine_vs_peft)]
    for name, bench in sections:
        note(f"{name} ... ({time.perf_counter() - started:.0f}s so far)")
        result[name] = bench(bb, args, prompts, states)
        note(f"{name}: {json.dumps(result[name])}")               # kept even if a later section is cut short
    result["total_s"] = round(time.perf_counter() - started, 1)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
