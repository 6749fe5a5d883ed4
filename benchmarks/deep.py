"""Deep prompts against input-level prompts and LoRA: training step time, and serving time per request.

Prints one JSON object. All sides run in one process, in rounds (every timed function once per round),
and each ratio is the median over rounds of the two times of one round (steadier on a noisy machine).

Training (batch 8 rows of one task, prompt length L, 128 input tokens of which the last 16 are the
answer; one forward + backward, gradients dropped): `pt` (an (L, d) prompt at the input embeddings),
`prefix` (a per-layer K/V prefix, P-Tuning v2), `deep-mpt` (u, v of P*_l o (u_l v_l^T), P* frozen) and
`lora` (peft LoRA r = 8 on q, k, v, o over a private copy of the backbone, its LM loss on the same labels).

Serving (the engine, `Engine.generate` on the same 8 inputs, one task per batch): a deep task (its prefix
straight into the cache) against an input-level one, with the prompt cache on (steady state: both are
cached K/V, so they should cost the same) and off (the input-level prompt is prefilled with every batch,
the deep prefix never is); and the cost of a cache miss (the input-level prompt's forward pass against
the deep prefix's conversion). Generation is capped at --new-tokens; the tokens each side generated are
reported beside its times.

    python benchmarks/deep.py [--backbone default] [--repeats 5] [--prompt-length 20]
"""

from __future__ import annotations

import copy
import statistics

import torch

from _common import emit, interleaved_seconds, machine, make_batch, median_ratio, parser
from clinical_mpt.backbone import load_backbone
from clinical_mpt.decoding import compute_prompt_states
from clinical_mpt.deep_modeling import deep_answer_hidden_and_logits
from clinical_mpt.losses import lm_loss
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.prompts import DeepMPTPrompt, SoftPrompt, init_prompt
from clinical_mpt.prompts.deep_prompt import DeepPrompt, init_prefix, prompt_states, to_rows
from clinical_mpt.serve.engine import Engine, EngineConfig, TaskPrompt

INIT_TEXT = "Read the clinical note and answer the question about it."


def training_steps(bb, batch: dict, length: int) -> dict:
    """name -> a function running one training step (forward + backward) of that method."""
    from peft import LoraConfig, get_peft_model

    model = bb.model
    one_task = torch.zeros(batch["input_ids"].shape[0], dtype=torch.long)
    soft = SoftPrompt(init_prompt(model.get_input_embeddings().weight, length, "text", bb.tokenizer, INIT_TEXT))
    prefix = DeepPrompt(init_prefix(model, bb.tokenizer, INIT_TEXT, length))
    deep_mpt = DeepMPTPrompt(to_rows(prefix.weight.detach()), 1, prefix.weight.shape[2])
    deep_mpt.shared.requires_grad_(False)
    lora = get_peft_model(copy.deepcopy(model), LoraConfig(r=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))

    def step(forward, prompt, params):
        def run():
            _, logits, targets = forward(model, prompt, one_task, batch)
            lm_loss(logits, targets).backward()
            for q in params:
                q.grad = None
        return run

    lora_params = [q for q in lora.parameters() if q.requires_grad]

    def lora_step():
        lora(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss.backward()
        for q in lora_params:
            q.grad = None

    return {"pt": step(answer_hidden_and_logits, soft, [soft.weight]),
            "prefix": step(deep_answer_hidden_and_logits, prefix, [prefix.weight]),
            "deep-mpt": step(deep_answer_hidden_and_logits, deep_mpt, [deep_mpt.u, deep_mpt.v]),
            "lora": lora_step}


def serving_calls(bb, length: int, rows: int, new_tokens: int, input_length: int, tokens: dict) -> dict:
    """name -> a function answering one batch of `rows` requests through the engine (or one cache miss)."""
    model = bb.model
    soft = init_prompt(model.get_input_embeddings().weight, length, "text", bb.tokenizer, INIT_TEXT)
    prefix = init_prefix(model, bb.tokenizer, INIT_TEXT, length)
    tasks = [TaskPrompt("input", "qa", None, soft.detach().float()), TaskPrompt("deep", "qa", None, prefix, "prefix")]
    engines = {cache: Engine(bb, tasks, EngineConfig(max_batch_size=rows, max_new_tokens=new_tokens, prompt_cache=cache))
               for cache in (True, False)}
    ids = make_batch(bb.fingerprint.vocab_size, rows, input_length)["input_ids"].tolist()

    def generate(task: str, cache: bool):
        name = f"{task}_{'cached' if cache else 'uncached'}"

        def run():
            tokens[name] = sum(len(g) for g in engines[cache].generate([task] * rows, ids))
        return run

    dtype, device = bb.dtype, model.get_input_embeddings().weight.device
    calls = {f"{t}_{c}": generate(t, c == "cached") for t in ("input", "deep") for c in ("cached", "uncached")}
    calls["input_miss"] = lambda: compute_prompt_states(model, soft)
    calls["deep_miss"] = lambda: prompt_states(prefix, dtype, device)
    return calls


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--prompt-length", type=int, default=20)
    p.add_argument("--input-length", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=16, help="cap on generated tokens per request")
    args = p.parse_args()
    bb = load_backbone(args.backbone, args.dtype, args.attention)
    batch = make_batch(bb.fingerprint.vocab_size, args.batch, args.input_length)
    train = interleaved_seconds(training_steps(bb, batch, args.prompt_length), args.repeats, args.warmup)
    tokens: dict[str, int] = {}
    with torch.no_grad():
        serve = interleaved_seconds(serving_calls(bb, args.prompt_length, args.batch, args.new_tokens,
                                                  args.input_length, tokens), args.repeats, args.warmup)
    per_request = {name: statistics.median(ts) / args.batch for name, ts in serve.items() if not name.endswith("miss")}
    emit({
        "benchmark": "deep", "backbone": args.backbone, "dtype": str(bb.dtype).split(".")[-1],
        "attention": bb.model.config._attn_implementation, "batch": args.batch, "prompt_length": args.prompt_length,
        "input_length": args.input_length, "new_tokens_cap": args.new_tokens, "machine": machine(),
        "train_step_seconds": {name: statistics.median(ts) for name, ts in train.items()},
        "train_step_over_pt": {name: median_ratio(train[name], train["pt"]) for name in ("prefix", "deep-mpt", "lora")},
        "train_step_over_lora": {name: median_ratio(train[name], train["lora"]) for name in ("pt", "prefix", "deep-mpt")},
        "serve_seconds_per_request": per_request,
        "serve_generated_tokens": tokens,
        "serve_deep_over_input": {"cached": median_ratio(serve["deep_cached"], serve["input_cached"]),
                                  "uncached": median_ratio(serve["deep_uncached"], serve["input_uncached"])},
        "cache_miss_seconds": {"input": statistics.median(serve["input_miss"]),
                               "deep": statistics.median(serve["deep_miss"])},
        "cache_miss_deep_over_input": median_ratio(serve["deep_miss"], serve["input_miss"]),
    })


if __name__ == "__main__":
    main()
