"""Serving benchmark: the static-cache (compiled) decoder against the eager one, against the memory
bandwidth floor, and continuous against static batching under a mixed-length load.

    python benchmarks/serving.py [--backbone default|tiny-random-llama|PATH] [--decode compiled|static]
    python benchmarks/serving.py --random-shape llama-3.1-8b --device cuda --dtype bfloat16 --rows 32 --new-tokens 128

Prints ONE JSON object:
- `eager`, `fast`: tokens/s of `decoding.greedy_generate` and of `slot_decoding.SlotDecoder` (`--decode`)
  on the same `--rows` rows (each its own cached prompt prefix of `--prompt-length`, `--input-len` input
  tokens, exactly `--new-tokens` new tokens: EOS ignored); `speedup` = fast / eager (median of
  back-to-back pairs);
- `bandwidth_gb_s`: memory bandwidth measured here by copying a large tensor (read + write bytes / s);
  `weight_bytes`: the weights one decode step reads (every parameter once; an untied input embedding
  only gathers rows and is left out); `floor_tokens_per_s` = rows / (weight_bytes / bandwidth), the
  most a weight-bound decoder can give at these rows; `fraction_of_floor` = fast / floor;
- `mixed`: `--requests` requests arriving at once, NLI labels (the nli budget) and summaries (the
  summarization budget, capped by `--summary-tokens`) shuffled together, decoded by the fast decoder
  in `--rows` slots with static batching (a batch waits for its longest row) and with continuous
  batching (a finished row's slot takes the next request): p50 / p95 latency and tokens/s of each,
  `continuous_over_static` (throughput ratio);
- `identical_tokens`: whether the fast decoder gave the eager tokens on the same batch;
  `continuous_matches_static`: whether the mixed load got the same tokens both ways (in bf16 a row
  prefilled in another group rounds differently, so this one may be false there; tests check it in fp32).

Compilation (and the first run of each shape) is warm-up, not timed. On a shared machine the figures
move from run to run; compare the ratios, taken within back-to-back pairs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch

from _common import emit, machine, paired_medians
from clinical_mpt.decoding import DecodeBatch, compute_prompt_states, greedy_generate
from clinical_mpt.slot_decoding import Row, SlotDecoder
from clinical_mpt.tasks import get_task_type

NO_EOS = -1  # an id no model emits: decode exactly the budget


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backbone", default="default", help="default | tiny-random-llama | a local model path")
    p.add_argument("--random-shape", help="instead of --backbone: random weights of a built-in shape (llama-3.1-8b)")
    p.add_argument("--dtype", default="auto", help="auto | bfloat16 | float32")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--decode", default="compiled", choices=["compiled", "static"], help="the fast path's step")
    p.add_argument("--rows", type=int, default=8)
    p.add_argument("--prompt-length", type=int, default=100, help="cached prompt prefix per row")
    p.add_argument("--input-len", type=int, default=48)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--requests", type=int, default=0, help="mixed-load requests (default: 4 x rows)")
    p.add_argument("--summary-tokens", type=int, default=96, help="cap on a summary's budget in the mixed load")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--copy-mb", type=int, default=0, help="bandwidth copy size (default: 512 CPU, 4096 GPU)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    return p.parse_args(argv)


def load(args):
    """-> (model, eos_id, pad_id)."""
    if not args.random_shape:
        from clinical_mpt.backbone import load_backbone

        bb = load_backbone(args.backbone, args.dtype, device=args.device, inference_only=True)
        return bb.model, bb.tokenizer.eos_token_id, bb.tokenizer.pad_token_id
    from transformers import AutoConfig, AutoModelForCausalLM

    from clinical_mpt.backbone_shapes import BUILTIN_CONFIGS

    hf = dict(BUILTIN_CONFIGS[args.random_shape])
    config = AutoConfig.for_model(hf.pop("model_type"), **{k: v for k, v in hf.items() if k != "architectures"})
    dtype = torch.float32 if args.dtype == "float32" else torch.bfloat16
    device = "cuda" if args.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    torch.set_default_dtype(dtype)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config)
    torch.set_default_dtype(torch.float32)
    model.set_attn_implementation("sdpa")
    return model.requires_grad_(False).eval(), 2, 0


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bandwidth(device, megabytes: int) -> float:
    """Bytes per second of a large tensor copy (each byte read once and written once)."""
    n = megabytes * 2**20 // 4
    src, dst = torch.ones(n, device=device), torch.empty(n, device=device)
    times = []
    for _ in range(5):
        sync(device)
        t = time.perf_counter()
        dst.copy_(src)
        sync(device)
        times.append(time.perf_counter() - t)
    return 2 * n * 4 / min(times[1:])


def weight_bytes(model) -> int:
    """Bytes of the weights one decode step reads (an untied input embedding only gathers B rows)."""
    embedding, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    params = {id(p): p for p in model.parameters()}
    if embedding is not head:
        params.pop(id(embedding), None)
    return sum(p.numel() * p.element_size() for p in params.values())


def prefixes(model, count: int, length: int, seed: int = 0):
    weight = model.get_input_embeddings().weight
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        rows = torch.randint(10, min(weight.shape[0], 20000), (length,), generator=g)
        out.append(compute_prompt_states(model, weight[rows.to(weight.device)].float().cpu()))
    return out


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def load_run(decoder: SlotDecoder, rows: list[Row], slots: int, columns: int, refill: bool, device) -> dict:
    """All `rows` arrive at once: -> latency of each (s), tokens, seconds, and their tokens by key."""
    queue, finished, tokens = list(rows), {}, {}

    def pull(k):
        taken = queue[:k]
        del queue[:k]
        return taken

    def done(row, ids):
        finished[row.key] = time.perf_counter() - start
        tokens[row.key] = ids

    sync(device)
    start = time.perf_counter()
    decoder.run(pull, done, slots, columns, refill)
    sync(device)
    seconds = time.perf_counter() - start
    latency = list(finished.values())
    return {"p50_s": round(statistics.median(latency), 4), "p95_s": round(percentile(latency, 0.95), 4),
            "tokens_per_s": round(sum(map(len, tokens.values())) / seconds, 1), "seconds": round(seconds, 3),
            "_tokens": tokens}


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model, _, pad = load(args)
    device = model.get_input_embeddings().weight.device
    vocab = model.get_input_embeddings().weight.shape[0]
    rng = random.Random(0)
    inputs = [[rng.randrange(10, min(vocab, 20000)) for _ in range(args.input_len)] for _ in range(args.rows)]
    states = prefixes(model, args.rows, args.prompt_length)
    batch = DecodeBatch(inputs, [args.new_tokens] * args.rows, prefixes=states)
    decoder = SlotDecoder(model, NO_EOS, pad, compiled=args.decode == "compiled")
    fast_rows = [Row(x, args.new_tokens, None, s, None, i) for i, (x, s) in enumerate(zip(inputs, states))]

    def eager():
        out = greedy_generate(model, batch, NO_EOS, pad)
        sync(device)
        return out

    def fast():
        out = decoder.decode(fast_rows, max_slots=args.rows, refill=False)
        sync(device)
        return out

    start = time.perf_counter()
    identical = fast() == eager()  # also the warm-up (compilation) of this shape
    compile_s = time.perf_counter() - start
    t_eager, t_fast, ratio = paired_medians(eager, fast, args.repeats, warmup=1)
    tokens = args.rows * args.new_tokens
    bw = bandwidth(device, args.copy_mb or (4096 if device.type == "cuda" else 512))
    wbytes = weight_bytes(model)
    floor = args.rows / (wbytes / bw)

    # the mixed load: NLI labels and summaries of two tasks (two prefixes), shuffled
    n = args.requests or 4 * args.rows
    nli, summary = get_task_type("nli").max_new_tokens, min(get_task_type("summarization").max_new_tokens,
                                                            args.summary_tokens)
    task_states = prefixes(model, 2, args.prompt_length, seed=1)
    load_rows = []
    for i in range(n):
        is_summary = i % 2 == 1
        ids = [rng.randrange(10, min(vocab, 20000)) for _ in range(args.input_len + rng.randrange(0, 16))]
        load_rows.append(Row(ids, summary if is_summary else nli, None, task_states[int(is_summary)], None, i))
    rng.shuffle(load_rows)
    columns = decoder.column_step * -(-(args.prompt_length + args.input_len + 16 + summary) // decoder.column_step)
    slots = 1 << (args.rows - 1).bit_length()
    load_run(decoder, load_rows[:slots], slots, columns, True, device)  # warm-up (compiles this shape)
    static = load_run(decoder, load_rows, slots, columns, False, device)
    continuous = load_run(decoder, load_rows, slots, columns, True, device)
    matches = static.pop("_tokens") == continuous.pop("_tokens")

    emit({"backbone": args.random_shape or args.backbone, "dtype": str(model.dtype), "device": str(device),
          "decode": args.decode, "rows": args.rows, "prompt_length": args.prompt_length,
          "input_len": args.input_len, "new_tokens": args.new_tokens,
          "eager": {"tokens_per_s": round(tokens / t_eager, 1), "seconds": round(t_eager, 4)},
          "fast": {"tokens_per_s": round(tokens / t_fast, 1), "seconds": round(t_fast, 4),
                   "first_run_s": round(compile_s, 1)},
          "speedup": round(ratio, 3),  # median over rounds of eager seconds / fast seconds
          "bandwidth_gb_s": round(bw / 1e9, 2), "weight_bytes": wbytes,
          "floor_tokens_per_s": round(floor, 1), "fraction_of_floor": round(tokens / t_fast / floor, 4),
          "mixed": {"requests": n, "nli_tokens": nli, "summary_tokens": summary, "slots": slots,
                    "static": static, "continuous": continuous},
          "continuous_over_static": round(continuous["tokens_per_s"] / static["tokens_per_s"], 3),
          "identical_tokens": identical, "continuous_matches_static": matches, "machine": machine()})


if __name__ == "__main__":
    main()
