#!/usr/bin/env bash
# bash benchmarks/gpu.sh [OUT_JSON]
#
# The GPU check, for an H100/H200 box (one GPU is enough; nothing is downloaded):
#   1. a LLaMA-3.1-8B-shaped model with random weights in bf16 (built from LlamaConfig) on cuda:
#      prompt-tuning training throughput (tokens/s, peak memory against the `--dry-run` estimate) and
#      MFU counting 4*N FLOPs per token (forward 2N + backward to the activations 2N: the frozen
#      weights get no gradients; N = parameters of the decoder layers; attention scores and the LM
#      head at answer positions not counted), with and without gradient checkpointing; then
#      mixed-task greedy generation throughput (every row its own prompt);
#      the same training with the decoder layers torch.compiled (`backbone.compile: true`);
#   2. the scale-out tests (tests/scale) with the tiny-architecture end-to-end runs on CUDA in bf16.
# Environment: PYTHON (default python3), PEAK_TFLOPS (dense bf16 peak per GPU, default 989: H100/H200
# SXM datasheet), GPU_BENCH_TINY=1 (a tiny model on the CPU: a smoke test of this script),
# GPU_BENCH_SECTIONS (default all: train,profile,compiled,checkpointed,generation,serving,tests; e.g.
# "train,compiled" for a short lease). `serving` runs benchmarks/serving.py on the same 8B shape, 32 rows
# x 128 new tokens, compiled step (CUDA graphs), into gpu_serving.json next to OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${1:-runs/gpu_bench.json}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p "$(dirname "$OUT")"

"$PY" - "$OUT" <<'PYTHON'
import json, os, sys, time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from clinical_mpt.backbone import compile_layers, enable_gradient_checkpointing
from clinical_mpt.backbone_shapes import BUILTIN_CONFIGS, shape_from_hf_config
from clinical_mpt.config import load_config
from clinical_mpt.decoding import DecodeBatch, greedy_generate
from clinical_mpt.losses import lm_loss
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.recipes.plan import memory

tiny = os.environ.get("GPU_BENCH_TINY") == "1"
SECTIONS = os.environ.get("GPU_BENCH_SECTIONS", "all")


def want(section: str) -> bool:
    return SECTIONS == "all" or section in SECTIONS.split(",")


dev = torch.device("cpu" if tiny else "cuda")
peak = float(os.environ.get("PEAK_TFLOPS", "989")) * 1e12
hf = dict(BUILTIN_CONFIGS["llama-3.1-8b"])
if tiny:
    hf.update(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, vocab_size=512)
shape = shape_from_hf_config(hf, "llama-3.1-8b-random")
config = LlamaConfig(**{k: v for k, v in hf.items() if k not in ("architectures", "model_type")})
B, L, T, A = (2, 8, 32, 8) if tiny else (8, 100, 512, 64)  # rows, prompt, text tokens, answer tokens
torch.manual_seed(0)
torch.set_default_dtype(torch.bfloat16)
with dev:
    model = LlamaForCausalLM(config)
torch.set_default_dtype(torch.float32)
model.requires_grad_(False).eval()
model.set_attn_implementation("eager" if tiny else "sdpa")
n_layers = sum(p.numel() for layer in model.model.layers for p in layer.parameters())
d, V = config.hidden_size, config.vocab_size
report = {"device": torch.cuda.get_device_name(0) if not tiny else "cpu", "torch": torch.__version__,
          "parameters": shape.total_parameters, "decoder_layer_parameters": n_layers,
          "batch": {"rows": B, "prompt_tokens": L, "text_tokens": T, "answer_tokens": A}}

def make_batch(rows: int) -> dict:
    ids = torch.randint(0, V, (rows, T))
    labels = torch.full((rows, T), -100)
    labels[:, T - A:] = ids[:, T - A:]
    return {"input_ids": ids, "attention_mask": torch.ones(rows, T, dtype=torch.long), "labels": labels}


def cache_layout_hidden(model, prompts, rows, input_ids, attention_mask):
    """The shared-prompt-state layout forced on every batch (what a mixed batch used before it took
    the concatenated layout)."""
    from clinical_mpt.modeling import cached_text_hidden

    return cached_text_hidden(model, prompts, rows, input_ids.to(dev), attention_mask.to(dev))


def train_throughput(rows: int = B, tasks: int | None = None, forced_cache: bool = False,
                     steps: int = 3 if tiny else 10) -> dict:
    """PT steps on `rows` rows of `tasks` distinct task prompts (default: every row its own)."""
    from clinical_mpt import modeling

    tasks = rows if tasks is None else tasks
    batch = make_batch(rows)
    task_ids = torch.arange(rows) % tasks
    prompts = torch.nn.Parameter(0.02 * torch.randn(tasks, L, d, device=dev))
    opt = torch.optim.AdamW([prompts], lr=0.1)
    plain = modeling.text_hidden
    if forced_cache:
        modeling.text_hidden = cache_layout_hidden

    def step():
        _, logits, targets = answer_hidden_and_logits(model, lambda t: prompts[t.to(dev)], task_ids, batch)
        loss = lm_loss(logits, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    try:
        for _ in range(2):
            step()
        if not tiny:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(steps):
            loss = step()
        loss.item()
    finally:
        modeling.text_hidden = plain
    seconds = (time.perf_counter() - start) / steps
    tokens = rows * (L + T) / seconds  # processed positions, prompt included
    out = {"rows": rows, "tasks": tasks, "step_s": round(seconds, 4), "tokens_per_s": round(tokens),
           "mfu": round(tokens * 4 * n_layers / peak, 4), "loss": round(loss.item(), 4)}
    if not tiny:
        out["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
    return out


def estimate(checkpointing: bool) -> float:
    cfg = load_config(None, [f"teach.batch_size={B}", f"distill.train.batch_size={B}", f"adapt.train.batch_size={B}",
                             f"prompt.length={L}", f"data.max_input_tokens={T - A}", f"data.max_target_tokens={A}",
                             "backbone.dtype=bfloat16", f"backbone.gradient_checkpointing={str(checkpointing).lower()}"])
    return round(memory(cfg, shape, 1, 1, 1)["training_total"] / 1e9, 2)


def record(name: str, result: dict) -> None:
    report[name] = result
    print(f"{name}:", result, flush=True)


if want("train"):
    record("pt_train", train_throughput() | {"estimate_gb": estimate(False)})  # mixed: concatenated layout
    record("pt_train_cache_layout", train_throughput(forced_cache=True))     # mixed, cache layout forced
    record("pt_train_one_task", train_throughput(tasks=1))                   # 8 rows of one task: shared states
    record("pt_train_16_rows", train_throughput(rows=2 * B))


def profile_training_step(path: str) -> None:
    """Where a mixed-batch PT step's GPU time goes: torch.profiler over 3 steps, CUDA time by operator,
    grouped into matmuls, attention and the rest (element-wise, memory-bound)."""
    from torch.profiler import ProfilerActivity, profile

    batch = make_batch(B)
    task_ids = torch.arange(B)
    prompts = torch.nn.Parameter(0.02 * torch.randn(B, L, d, device=dev))

    def step():
        _, logits, targets = answer_hidden_and_logits(model, lambda t: prompts[t.to(dev)], task_ids, batch)
        lm_loss(logits, targets).backward()
        prompts.grad = None

    step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(3):
            step()
        torch.cuda.synchronize()
    # GPU kernels only (an aten op's row repeats its kernels' time): device time, no host time of their own
    events = [e for e in prof.key_averages() if e.self_device_time_total > 0 and e.self_cpu_time_total == 0]
    total = sum(e.self_device_time_total for e in events) or 1
    groups: dict = {}
    for e in events:
        k = e.key.lower()
        g = ("attention" if any(w in k for w in ("attention", "flash", "fmha", "sdpa", "softmax")) else
             "matmul" if any(w in k for w in ("gemm", "nvjet", "cutlass", "xmma")) else "other")
        groups[g] = groups.get(g, 0) + e.self_device_time_total
    top = sorted(events, key=lambda e: e.self_device_time_total, reverse=True)[:8]
    report["pt_train_profile"] = {"gpu_time_share": {k: round(v / total, 3) for k, v in sorted(groups.items())},
                                  "gpu_ms_per_step": round(total / 3 / 1000, 1),
                                  "top_kernels": [[e.key[:60], round(e.self_device_time_total / total, 3)] for e in top]}
    with open(path, "w") as f:
        f.write("# PT training step, 8 rows each its own prompt, 3 steps, sorted by CUDA time\n")
        f.write(prof.key_averages().table(sort_by="cuda_time_total", row_limit=30))
    print("pt training profile:", report["pt_train_profile"], flush=True)


if not tiny and want("profile"):
    profile_training_step(os.path.join(os.path.dirname(sys.argv[1]) or ".", "gpu_train_profile.txt"))
if want("compiled"):  # backbone.compile: the layers compile on the first (warm-up) steps, timed after
    try:
        start = time.perf_counter()
        compile_layers(model)
        record("pt_train_compiled", train_throughput() | {"with_compile_s": round(time.perf_counter() - start, 1)})
        record("pt_train_compiled_one_task", train_throughput(tasks=1))     # compiled: concatenated layout
    except Exception as e:  # e.g. no triton for inductor: recorded, the other sections still run
        record("pt_train_compiled", {"error": f"{type(e).__name__}: {e}"[:400]})
torch.compiler.set_stance("force_eager")  # the sections below measure the eager layers
if want("checkpointed"):
    enable_gradient_checkpointing(model)
    record("pt_train_checkpointed", train_throughput() | {"estimate_gb": estimate(True)})

if want("generation"):
    rows, new = (4, 4) if tiny else (32, 128)
    prompts = 0.02 * torch.randn(rows, L, d, device=dev)
    inputs = [torch.randint(0, V, (200 + 7 * i if not tiny else 10 + i,)).tolist() for i in range(rows)]
    greedy_generate(model, DecodeBatch.uniform(inputs[:2], 2, prompts[:2]), eos_id=-1, pad_id=0)  # warm-up
    if not tiny:
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = greedy_generate(model, DecodeBatch.uniform(inputs, new, prompts), eos_id=-1, pad_id=0)  # eos -1: every row runs `new` steps
    seconds = time.perf_counter() - start
    report["generation"] = {"rows": rows, "new_tokens": new, "seconds": round(seconds, 3),
                            "tokens_per_s": round(sum(map(len, out)) / seconds)}
    print("mixed-task generation:", report["generation"], flush=True)
    if not tiny:  # where a generation step's time goes: 16 new tokens under torch.profiler
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            greedy_generate(model, DecodeBatch.uniform(inputs, 16, prompts), eos_id=-1, pad_id=0)
            torch.cuda.synchronize()
        table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=25)
        table_cpu = prof.key_averages().table(sort_by="cpu_time_total", row_limit=25)
        profile_path = os.path.join(os.path.dirname(sys.argv[1]) or ".", "gpu_generation_profile.txt")
        with open(profile_path, "w") as f:
            f.write("# greedy_generate, 32 rows, 16 new tokens, sorted by CUDA time\n" + table +
                    "\n# sorted by CPU time\n" + table_cpu)
        print(table)
        print(table_cpu)
with open(sys.argv[1], "w") as f:
    json.dump(report, f, indent=2)
print(f"wrote {sys.argv[1]}")
PYTHON
bench=$?

case ",${GPU_BENCH_SECTIONS:-all}," in *,all,*|*,serving,*)
  if [ "${GPU_BENCH_TINY:-0}" = "1" ]; then
    SERVING_ARGS=(--backbone tiny-random-llama --rows 4 --new-tokens 8 --repeats 1)
  else
    SERVING_ARGS=(--random-shape llama-3.1-8b --device cuda --dtype bfloat16 --rows 32 --new-tokens 128)
  fi
  "$PY" benchmarks/serving.py "${SERVING_ARGS[@]}" > "$(dirname "$OUT")/gpu_serving.json"
  serving=$?
  cat "$(dirname "$OUT")/gpu_serving.json"
  bench=$(( bench != 0 || serving != 0 ));;
esac

if [ "${GPU_BENCH_TINY:-0}" = "1" ]; then exit $bench; fi
case ",${GPU_BENCH_SECTIONS:-all}," in *,all,*|*,tests,*) ;; *) exit $bench;; esac
CLINICAL_MPT_TEST_DEVICE=cuda "$PY" -m pytest tests/scale -q -p no:cacheprovider
tests=$?
echo "benchmark exit $bench, tests exit $tests"
exit $(( bench != 0 || tests != 0 ))
