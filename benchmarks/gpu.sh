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
#   2. the scale-out tests (tests/scale) with the tiny-architecture end-to-end runs on CUDA in bf16.
# Environment: PYTHON (default python3), PEAK_TFLOPS (dense bf16 peak per GPU, default 989: H100/H200
# SXM datasheet), GPU_BENCH_TINY=1 (a tiny model on the CPU: a smoke test of this script).
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

from clinical_mpt.backbone import enable_gradient_checkpointing
from clinical_mpt.backbone_shapes import BUILTIN_CONFIGS, shape_from_hf_config
from clinical_mpt.config import load_config
from clinical_mpt.generate import greedy_generate
from clinical_mpt.losses import lm_loss
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.recipes.plan import memory

tiny = os.environ.get("GPU_BENCH_TINY") == "1"
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

ids = torch.randint(0, V, (B, T))
labels = torch.full((B, T), -100)
labels[:, T - A:] = ids[:, T - A:]
batch = {"input_ids": ids, "attention_mask": torch.ones(B, T, dtype=torch.long), "labels": labels}
task_ids = torch.arange(B)  # a mixed batch: every row its own task prompt


def train_throughput(steps: int = 3 if tiny else 10) -> dict:
    prompts = torch.nn.Parameter(0.02 * torch.randn(B, L, d, device=dev))
    opt = torch.optim.AdamW([prompts], lr=0.1)

    def step():
        _, logits, targets = answer_hidden_and_logits(model, lambda t: prompts[t.to(dev)], task_ids, batch)
        loss = lm_loss(logits, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(2):
        step()
    if not tiny:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()
    seconds = (time.perf_counter() - start) / steps
    tokens = B * (L + T) / seconds
    out = {"step_s": round(seconds, 4), "tokens_per_s": round(tokens), "mfu": round(tokens * 4 * n_layers / peak, 4),
           "loss": round(loss.item(), 4)}
    if not tiny:
        out["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
    return out


def estimate(checkpointing: bool) -> float:
    cfg = load_config(None, [f"teach.batch_size={B}", f"distill.train.batch_size={B}", f"adapt.train.batch_size={B}",
                             f"prompt.length={L}", f"data.max_input_tokens={T - A}", f"data.max_target_tokens={A}",
                             "backbone.dtype=bfloat16", f"backbone.gradient_checkpointing={str(checkpointing).lower()}"])
    return round(memory(cfg, shape, 1, 1, 1)["training_total"] / 1e9, 2)


report["pt_train"] = train_throughput() | {"estimate_gb": estimate(False)}
print("pt training:", report["pt_train"], flush=True)
enable_gradient_checkpointing(model)
report["pt_train_checkpointed"] = train_throughput() | {"estimate_gb": estimate(True)}
print("pt training, gradient checkpointing:", report["pt_train_checkpointed"], flush=True)

rows, new = (4, 4) if tiny else (32, 128)
prompts = 0.02 * torch.randn(rows, L, d, device=dev)
inputs = [torch.randint(0, V, (200 + 7 * i if not tiny else 10 + i,)).tolist() for i in range(rows)]
greedy_generate(model, prompts[:2], inputs[:2], 2, eos_id=-1, pad_id=0)  # warm-up
if not tiny:
    torch.cuda.synchronize()
start = time.perf_counter()
out = greedy_generate(model, prompts, inputs, new, eos_id=-1, pad_id=0)  # eos -1: every row runs `new` steps
seconds = time.perf_counter() - start
report["generation"] = {"rows": rows, "new_tokens": new, "seconds": round(seconds, 3),
                        "tokens_per_s": round(sum(map(len, out)) / seconds)}
print("mixed-task generation:", report["generation"], flush=True)
with open(sys.argv[1], "w") as f:
    json.dump(report, f, indent=2)
print(f"wrote {sys.argv[1]}")
PYTHON
bench=$?

if [ "${GPU_BENCH_TINY:-0}" = "1" ]; then exit $bench; fi
CLINICAL_MPT_TEST_DEVICE=cuda "$PY" -m pytest tests/scale -q -p no:cacheprovider
tests=$?
echo "benchmark exit $bench, tests exit $tests"
exit $(( bench != 0 || tests != 0 ))
