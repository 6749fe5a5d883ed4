"""`clinical-mpt roi`: what N clinical tasks cost with MPT, prompt tuning, LoRA or full fine-tuning.

`compute_roi` is a pure function (the CLI and the web API both call it): from a backbone shape and a
handful of deployment numbers it returns, per method, trainable parameters per task, storage,
backbone copies, serving and training GPU memory, GPU counts and (optionally) a daily serving cost.
Every formula is in the docstrings below and explained in docs/roi.md. Units: bytes and parameters
as raw integers; GB means 10**9 bytes.
"""

from __future__ import annotations

import argparse
import json
import math

from clinical_mpt.backbone_shapes import BUILTIN_CONFIGS, BackboneShape, resolve_backbone
from clinical_mpt.errors import ConfigError

# The ROI calculator's own comparison (four method families with cost formulas below), not the method
# table; tests/methods/test_table.py checks these are table methods and that the console's roi.js agrees.
METHODS = ("mpt", "pt", "lora", "full")
FP32 = 4  # bytes: prompts and adapters are trained and stored in fp32
ADAM_BYTES = 2 * FP32  # Adam's first and second moments, fp32, per trainable parameter
PEFT_STATE_BYTES = FP32 + FP32 + ADAM_BYTES  # fp32 parameter + fp32 gradient + Adam = 16 bytes/param
DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


def lora_matrices(shape: BackboneShape) -> dict[str, tuple[int, int, int]]:
    """Targetable linears per layer: name -> (in_features, out_features, copies per layer).

    Attention: q d→heads·head_dim, k/v d→kv_heads·head_dim, o heads·head_dim→d. Dense MLP: gate/up d→I,
    down I→d. MoE (gpt-oss): experts are 3-D parameters, not nn.Linear; peft's `target_parameters`
    gives every expert its own rank-r pair, so the fused gate_up (d→2I) and down (I→d) count once per
    expert (copies = num_experts). The router is never targeted.
    """
    d, i = shape.hidden_size, shape.intermediate_size
    attention = {"q_proj": (d, shape.q_dim, 1), "k_proj": (d, shape.kv_dim, 1),
                 "v_proj": (d, shape.kv_dim, 1), "o_proj": (shape.q_dim, d, 1)}
    if shape.is_moe:
        return {**attention, "gate_up_proj": (d, 2 * i, shape.num_experts), "down_proj": (i, d, shape.num_experts)}
    return {**attention, "gate_proj": (d, i, 1), "up_proj": (d, i, 1), "down_proj": (i, d, 1)}


def lora_parameters(shape: BackboneShape, rank: int, targets: tuple[str, ...]) -> int:
    """Σ over layers and targets of r·(in + out) (A is r×in, B is out×r; no LoRA bias)."""
    matrices = lora_matrices(shape)
    unknown = [t for t in targets if t not in matrices]
    if unknown or not targets:
        raise ConfigError(f"lora_targets {list(targets)} invalid for {shape.architecture}: choose from "
                          f"{', '.join(matrices)}")
    per_layer = sum(rank * (matrices[t][0] + matrices[t][1]) * matrices[t][2] for t in targets)
    return shape.num_layers * per_layer


def kv_cache_bytes(shape: BackboneShape, batch_size: int, tokens: int, dtype_bytes: int) -> int:
    """K and V for `batch_size` sequences of `tokens`: batch·2·kv_dim·dtype·Σ_layers tokens_kept,
    where a sliding-window layer keeps min(tokens, window) and a full-attention layer keeps all."""
    sliding = shape.num_sliding_layers
    kept = (shape.num_layers - sliding) * tokens + sliding * min(tokens, shape.sliding_window or tokens)
    return batch_size * 2 * shape.kv_dim * dtype_bytes * kept


def activation_bytes(shape: BackboneShape, tokens: int, dtype_bytes: int) -> int:
    """Training activations kept for backward, no checkpointing, flash attention (no L×L scores):
    per token per layer 4d + 2·q_dim + 2·kv_dim + 4·k·I elements (two norm inputs/outputs; q, k, v and
    the attention output; gate, up, act(gate) and its product with up for the k active MLPs)."""
    active_mlps = shape.experts_per_token if shape.is_moe else 1
    per_token_layer = (4 * shape.hidden_size + 2 * shape.q_dim + 2 * shape.kv_dim
                       + 4 * active_mlps * shape.intermediate_size)
    return tokens * shape.num_layers * per_token_layer * dtype_bytes


def gpus_needed(copies: int, bytes_per_copy: float, gpu_bytes: float) -> int:
    """Whole GPUs for `copies` identical deployments: copies that fit on one GPU are packed
    floor(gpu / copy) per GPU; a copy larger than a GPU is sharded over ceil(copy / gpu) GPUs."""
    if bytes_per_copy <= gpu_bytes:
        return math.ceil(copies / max(1, math.floor(gpu_bytes / bytes_per_copy)))
    return copies * math.ceil(bytes_per_copy / gpu_bytes)


def _check_inputs(values: dict) -> None:
    """ConfigError naming the first bad input (positive integers, dtype in 1/2/4, etc.)."""
    for key in ("n_tasks", "prompt_length", "rank", "lora_rank", "batch_size", "seq_len"):
        v = values[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            flag = "--tasks" if key == "n_tasks" else "--" + key.replace("_", "-")
            raise ConfigError(f"{key} ({flag}) must be an integer >= 1, got {v!r}")
    if values["dtype_bytes"] not in (1, 2, 4):
        raise ConfigError(f"dtype_bytes must be 1 (int8/fp8), 2 (bf16/fp16) or 4 (fp32), got {values['dtype_bytes']!r}")
    rpd = values["requests_per_day"]
    if rpd is not None and (isinstance(rpd, bool) or not isinstance(rpd, int) or rpd < 1):
        raise ConfigError(f"requests_per_day must be an integer >= 1, got {rpd!r}")
    price = values["gpu_price_per_hour"]
    if price is not None and (not isinstance(price, (int, float)) or not price >= 0 or math.isinf(price)):
        raise ConfigError(f"gpu_price_per_hour must be a number >= 0, got {price!r}")
    mem = values["gpu_memory_gb"]
    if not isinstance(mem, (int, float)) or not mem > 0 or math.isinf(mem):
        raise ConfigError(f"gpu_memory_gb must be a number > 0, got {mem!r}")


def compute_roi(shape: BackboneShape, n_tasks: int, prompt_length: int = 100, rank: int = 1, lora_rank: int = 8,
                lora_targets: tuple[str, ...] = DEFAULT_LORA_TARGETS, dtype_bytes: int = 2,
                batch_size: int = 8, seq_len: int = 512, requests_per_day: int | None = None,
                gpu_price_per_hour: float | None = None, gpu_memory_gb: float = 80.0) -> dict:
    """Costs of serving and training `n_tasks` tasks on `shape` with each method.

    Returns {"backbone": shape.to_dict(), "inputs": {...}, "methods": {"mpt"|"pt"|"lora"|"full": {...}}},
    each method with: trainable_parameters_per_task, trainable_fraction (of the backbone),
    shared_parameters, amortised_parameters_per_task, storage_bytes_per_task, storage_bytes_total,
    backbone_copies, serving_memory_bytes (+ _breakdown), serving_gpus, training_memory_bytes
    (+ _breakdown), training_gpus, serving_cost_per_day, serving_cost_per_1k_requests; mpt and pt also
    "deep": the sizes of their deep variant (deep-mpt, prefix; `deep_variants`).
    L = prompt_length, d = hidden size, P = backbone parameters, N = n_tasks:
      MPT  u_k ∈ R^L, v_k ∈ R^d per rank: r·(L+d) per task, plus one shared P* (L·d) for all tasks.
      PT   L·d per task.   LoRA  Σ r_lora·(in+out) (see `lora_parameters`).   Full  P per task.
    Storage: prompt/LoRA parameters at fp32 (4 B); a full fine-tune at dtype_bytes (P·dtype per task).
    """
    if isinstance(lora_targets, str):
        lora_targets = tuple(t.strip() for t in lora_targets.split(",") if t.strip())
    inputs = dict(n_tasks=n_tasks, prompt_length=prompt_length, rank=rank, lora_rank=lora_rank,
                  lora_targets=list(dict.fromkeys(lora_targets)), dtype_bytes=dtype_bytes, batch_size=batch_size,
                  seq_len=seq_len, requests_per_day=requests_per_day, gpu_price_per_hour=gpu_price_per_hour,
                  gpu_memory_gb=gpu_memory_gb)
    _check_inputs(inputs)
    n, big_l, d, p = n_tasks, prompt_length, shape.hidden_size, shape.total_parameters
    lora = lora_parameters(shape, lora_rank, tuple(inputs["lora_targets"]))
    plans = {  # method -> (trainable per task, shared, stored bytes/task, copies, prompt tokens, served extra)
        "mpt": (rank * (big_l + d), big_l * d, FP32, 1, big_l, n * big_l * d * dtype_bytes),
        "pt": (big_l * d, 0, FP32, 1, big_l, n * big_l * d * dtype_bytes),
        "lora": (lora, 0, FP32, 1, 0, n * lora * dtype_bytes),
        "full": (p, 0, dtype_bytes, n, 0, 0),
    }
    methods = {}
    for method, (trainable, shared, store_b, copies, extra_tokens, served) in plans.items():
        row = {
            "trainable_parameters_per_task": trainable,
            "trainable_fraction": trainable / p,
            "shared_parameters": shared,
            "amortised_parameters_per_task": trainable + shared / n,
            "storage_bytes_per_task": trainable * store_b,
            "storage_bytes_total": n * trainable * store_b + shared * FP32,
            "backbone_copies": copies,
        }
        row.update(_serving(shape, inputs, copies, extra_tokens, served))
        row.update(_training(shape, inputs, method, trainable, shared, extra_tokens))
        row.update(_cost(row["serving_gpus"], requests_per_day, gpu_price_per_hour))
        methods[method] = row
    deep = deep_variants(shape, n, big_l, rank, dtype_bytes)
    methods["mpt"]["deep"], methods["pt"]["deep"] = deep["deep-mpt"], deep["prefix"]  # the per-layer K/V variants
    return {"backbone": shape.to_dict(), "inputs": inputs, "methods": methods}


def deep_variants(shape: BackboneShape, n_tasks: int, prompt_length: int, rank: int, dtype_bytes: int) -> dict:
    """`deep_prompt_costs` for N tasks (keyed prefix, deep-mpt): per task as there, plus storage_bytes_total (N tasks at fp32 and
    the shared deep P* once) and served_kv_bytes_total (every task's K/V resident at the serving dtype)."""
    out = {}
    for method, row in deep_prompt_costs(shape, prompt_length, rank, dtype_bytes).items():
        out[method] = dict(row, storage_bytes_total=n_tasks * row["storage_bytes_per_task"]
                           + row["shared_parameters"] * FP32,
                           served_kv_bytes_total=n_tasks * row["served_kv_bytes_per_task"])
    return out


def deep_prompt_costs(shape: BackboneShape, prompt_length: int = 100, rank: int = 1, dtype_bytes: int = 2) -> dict:
    """Per-task sizes of the deep prompt methods (docs/method.md, "Deep MPT"); D = 2·kv_dim per layer:
      prefix    (P-Tuning v2) layers·L·D numbers per task.
      deep-mpt  layers·r·(L + D) per task (u_l, v_l), plus one shared deep P* of layers·L·D for all tasks.
    Stored at fp32; served as the task's K/V in the cache, layers·L·D values at dtype_bytes (the same size
    as an input-level prompt's cached states), with no prompt prefill."""
    big_l, dim = prompt_length, 2 * shape.kv_dim
    served = shape.num_layers * big_l * dim * dtype_bytes
    per_task = {"prefix": (shape.num_layers * big_l * dim, 0),
                "deep-mpt": (shape.num_layers * rank * (big_l + dim), shape.num_layers * big_l * dim)}
    return {method: {"trainable_parameters_per_task": trainable, "trainable_fraction": trainable / shape.total_parameters,
                     "shared_parameters": shared, "storage_bytes_per_task": trainable * FP32,
                     "served_kv_bytes_per_task": served}
            for method, (trainable, shared) in per_task.items()}


def _serving(shape: BackboneShape, inputs: dict, copies: int, prompt_tokens: int, served_extra: int) -> dict:
    """Serving memory: weights P·dtype·copies + KV cache for batch×(seq + L) (one batch, mixing all tasks,
    shared by every method; L = 0 without a prompt) + resident prompts/adapters for all N tasks at dtype."""
    dtype, gpu_bytes = inputs["dtype_bytes"], inputs["gpu_memory_gb"] * 1e9
    weights = shape.total_parameters * dtype * copies
    kv = kv_cache_bytes(shape, inputs["batch_size"], inputs["seq_len"] + prompt_tokens, dtype)
    total = weights + kv + served_extra
    return {
        "serving_memory_bytes": total,
        "serving_memory_breakdown": {"weights": weights, "kv_cache": kv, "prompts_or_adapters": served_extra},
        "serving_gpus": gpus_needed(copies, total / copies, gpu_bytes),
    }


def _training(shape: BackboneShape, inputs: dict, method: str, trainable: int, shared: int, prompt_tokens: int) -> dict:
    """Training memory for one task, no activation checkpointing, Adam:
    PEFT methods: frozen weights P·dtype + 16 B per trainable parameter (fp32 value, grad, 2 Adam moments)
    + the frozen P* at fp32 for MPT + activations + fp32 logits (tokens·V·4).
    Full: P·(dtype weights + dtype grads + 8 B Adam + 4 B fp32 master copy when dtype < 4) + activations
    + logits. Gradients reach the input in every method (a prompt sits at the bottom), so all keep the
    activations of every layer; prompt methods have L more tokens per sequence."""
    dtype, p = inputs["dtype_bytes"], shape.total_parameters
    tokens = inputs["batch_size"] * (inputs["seq_len"] + prompt_tokens)
    weights = p * dtype
    if method == "full":
        state = p * (dtype + ADAM_BYTES + (FP32 if dtype < FP32 else 0))
    else:
        state = trainable * PEFT_STATE_BYTES + shared * FP32
    activations = activation_bytes(shape, tokens, dtype)
    logits = tokens * shape.vocab_size * FP32
    total = weights + state + activations + logits
    return {
        "training_memory_bytes": total,
        "training_memory_breakdown": {"weights": weights, "trainable_state": state,
                                      "activations": activations, "logits": logits},
        "training_gpus": math.ceil(total / (inputs["gpu_memory_gb"] * 1e9)),
    }


def _cost(gpus: int, requests_per_day: int | None, price: float | None) -> dict:
    """Always-on serving: GPUs · 24 h · price per GPU-hour; per 1,000 requests = daily / requests · 1000.
    Throughput is not modelled: the GPUs that hold the models are assumed to absorb the traffic."""
    daily = None if price is None else gpus * 24 * price
    per_1k = None if daily is None or requests_per_day is None else daily / requests_per_day * 1000
    return {"serving_cost_per_day": daily, "serving_cost_per_1k_requests": per_1k}


# ---------------------------------------------------------------------------------------------- CLI

def human_count(n: float) -> str:
    """4196 -> '4.20K', 8030261248 -> '8.03B'."""
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:.0f}"


def human_bytes(n: float) -> str:
    """Decimal units: 16784 -> '16.8 KB'."""
    for div, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if abs(n) >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n:.0f} B"


def human_percent(fraction: float) -> str:
    """0.5 -> '50.0%', 5.2e-7 -> '0.000052%' (two significant digits below 1 %)."""
    pct = fraction * 100
    if pct >= 1 or pct == 0:
        return f"{pct:.1f}%"
    return f"{pct:.{1 - math.floor(math.log10(pct))}f}%"


def deep_line(p: dict, m: dict, n: int) -> str:
    """The footnote on the deep variants, prefix `p` and deep-mpt `m`: their bytes per task, stored and served."""
    return (f"Deep prompts (per-layer K/V): prefix {human_bytes(p['storage_bytes_per_task'])} per task, deep-mpt "
            f"{human_bytes(m['storage_bytes_per_task'])} per task (+ one shared deep P* of "
            f"{human_bytes(m['shared_parameters'] * FP32)}); served, each task is "
            f"{human_bytes(p['served_kv_bytes_per_task'])} of K/V in the cache ({n} tasks: "
            f"{human_bytes(p['served_kv_bytes_total'])}), with no prompt prefill.")


def format_table(result: dict) -> str:
    """The result of `compute_roi` as an aligned text table, one row per method, and footnotes."""
    b, inp, m = result["backbone"], result["inputs"], result["methods"]
    n = inp["n_tasks"]
    labels = {"mpt": f"MPT (rank {inp['rank']})", "pt": "Prompt tuning",
              "lora": f"LoRA (r={inp['lora_rank']}; {','.join(t.replace('_proj', '') for t in inp['lora_targets'])})",
              "full": "Full fine-tuning"}
    header = ["method", "trainable/task", "% backbone", "storage/task", f"storage ({n} tasks)", "copies",
              "serving mem", "serving GPUs", "training mem", "training GPUs"]
    priced = inp["gpu_price_per_hour"] is not None
    header += ["cost/day"] if priced else []
    header += ["cost/1k req"] if priced and inp["requests_per_day"] else []
    rows = [header]
    for key, r in m.items():
        row = [labels[key], human_count(r["trainable_parameters_per_task"]), human_percent(r["trainable_fraction"]),
               human_bytes(r["storage_bytes_per_task"]), human_bytes(r["storage_bytes_total"]),
               str(r["backbone_copies"]), human_bytes(r["serving_memory_bytes"]), str(r["serving_gpus"]),
               human_bytes(r["training_memory_bytes"]), str(r["training_gpus"])]
        row += [f"{r['serving_cost_per_day']:,.2f}"] if priced else []
        row += [f"{r['serving_cost_per_1k_requests']:,.4f}"] if priced and inp["requests_per_day"] else []
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"backbone {b['name']} ({b['architecture']}): {human_count(b['total_parameters'])} parameters"
             + (f", {human_count(b['active_parameters'])} active per token" if b["num_experts"] else "")
             + f"; {n} tasks, prompt length {inp['prompt_length']}, weights at {inp['dtype_bytes']} B/param, "
             f"batch {inp['batch_size']} x {inp['seq_len']} tokens, {inp['gpu_memory_gb']:g} GB GPUs", ""]
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    mpt = m["mpt"]
    lines += ["", f"MPT shares one meta-prompt P* ({human_count(mpt['shared_parameters'])} parameters, "
              f"{human_bytes(mpt['shared_parameters'] * FP32)}) across all tasks, included once in its storage; "
              f"amortised over {n} tasks: {human_count(mpt['amortised_parameters_per_task'])} parameters per task.",
              deep_line(m["pt"]["deep"], m["mpt"]["deep"], n),
              "Prompts and adapters are stored in fp32; memory figures are estimates (formulas: docs/roi.md)."]
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compare, for N clinical tasks on one backbone, what multitask prompt tuning (MPT), single-task "
        "prompt tuning, LoRA and full fine-tuning cost: trainable parameters per task, disk storage, how "
        "many copies of the model must be served, GPU memory for serving and for training, and GPUs needed. "
        "Nothing is downloaded: only the model's shape is used. Formulas: docs/roi.md.")
    parser.add_argument("--backbone", default="smollm2-135m", metavar="NAME_OR_PATH",
                        help=f"a built-in model ({', '.join(BUILTIN_CONFIGS)}) or a local model folder / "
                             "config.json (default: smollm2-135m, the small model shipped with clinical-mpt)")
    parser.add_argument("--tasks", type=int, required=True, metavar="N",
                        help="how many clinical tasks you want to serve (e.g. NER, RE, QA, NLI, summarization = 5)")
    parser.add_argument("--prompt-length", type=int, default=100, metavar="L",
                        help="virtual tokens in each soft prompt (default 100)")
    parser.add_argument("--rank", type=int, default=1, metavar="R",
                        help="MPT rank r: each task trains r·(L + hidden size) numbers (default 1)")
    parser.add_argument("--lora-rank", type=int, default=8, metavar="R", help="LoRA rank (default 8)")
    parser.add_argument("--lora-targets", default=",".join(DEFAULT_LORA_TARGETS), metavar="LIST",
                        help="comma-separated layers LoRA adapts, from q_proj, k_proj, v_proj, o_proj (attention) "
                             "and gate_proj, up_proj, down_proj (MLP; gpt-oss experts: gate_up_proj, down_proj); "
                             "default q_proj,k_proj,v_proj,o_proj")
    parser.add_argument("--dtype-bytes", type=int, default=2, metavar="B",
                        help="bytes per model weight when serving/training: 2 = bf16/fp16 (default), "
                             "1 = 8-bit, 4 = fp32")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N",
                        help="sequences processed at once, mixing tasks (default 8)")
    parser.add_argument("--seq-len", type=int, default=512, metavar="TOKENS",
                        help="tokens per sequence, input + answer, without the prompt (default 512)")
    parser.add_argument("--requests-per-day", type=int, metavar="N",
                        help="expected requests per day, for the cost per 1,000 requests")
    parser.add_argument("--gpu-price-per-hour", type=float, metavar="PRICE",
                        help="price of one GPU-hour (any currency) to estimate the daily serving cost")
    parser.add_argument("--gpu-memory-gb", type=float, default=80.0, metavar="GB",
                        help="memory of one GPU in GB (default 80, e.g. A100/H100 80GB)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with raw numbers instead of a table")


def main(args: argparse.Namespace) -> int:
    targets = tuple(t.strip() for t in args.lora_targets.split(",") if t.strip())
    result = compute_roi(
        resolve_backbone(args.backbone), args.tasks, prompt_length=args.prompt_length, rank=args.rank,
        lora_rank=args.lora_rank, lora_targets=targets, dtype_bytes=args.dtype_bytes, batch_size=args.batch_size,
        seq_len=args.seq_len, requests_per_day=args.requests_per_day, gpu_price_per_hour=args.gpu_price_per_hour,
        gpu_memory_gb=args.gpu_memory_gb)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
