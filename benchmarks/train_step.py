"""Training-step cost of the three stages, against one forward pass and against peft.

Prints one JSON object. Same batch for every side (8 rows of one task, prompt length 100, 128 input
tokens of which the last 16 are the answer), default backbone in its default dtype, medians of timed
iterations after warm-up, all measured side by side in one process: the five timed functions run in
rounds (forward, PT step, distillation step, adaptation step, peft step, then again), and each ratio is
the median over rounds of the two times of one round, which steadies it on a noisy machine.

    python benchmarks/train_step.py [--backbone default] [--repeats 5]
"""

from __future__ import annotations

import copy
import statistics

import torch

from _common import emit, interleaved_seconds, machine, make_batch, median_ratio, parser
from clinical_mpt.backbone import compile_layers, load_backbone
from clinical_mpt.losses import hidden_mse, kl_topk, lm_loss, teacher_topk
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.prompts import MPTPrompt, SoftPrompt, init_prompt


def flop_ratio(forward_fn) -> dict:
    """Backward FLOPs / forward FLOPs of a step (FlopCounterMode). For the linear layers' matmuls
    (aten.mm/addmm) it is ~1 when no weight gradient is computed (~2 with weight gradients); the total
    also counts the attention products (eager bmm), whose backward is inherently ~2x (two activation
    inputs each, no weights)."""
    from torch.utils.flop_counter import FlopCounterMode

    def linear(counter) -> int:
        return sum(v for op, v in counter.get_flop_counts()["Global"].items() if str(op) in ("aten.mm", "aten.addmm"))

    with FlopCounterMode(display=False) as fwd:
        loss = forward_fn()
    with FlopCounterMode(display=False) as bwd:
        loss.backward()
    return {"forward_flops": fwd.get_total_flops(), "backward_flops": bwd.get_total_flops(),
            "backward_over_forward": bwd.get_total_flops() / fwd.get_total_flops(),
            "linear_backward_over_forward": linear(bwd) / linear(fwd)}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--prompt-length", type=int, default=100)
    p.add_argument("--input-length", type=int, default=128)
    p.add_argument("--compile", action="store_true",
                   help="torch.compile our model's decoder layers (backbone.compile) before timing; peft's copy stays eager")
    args = p.parse_args()
    bb = load_backbone(args.backbone, args.dtype, args.attention)
    model, L = bb.model, args.prompt_length
    batch = make_batch(bb.fingerprint.vocab_size, args.batch, args.input_length)
    emb = model.get_input_embeddings().weight
    prompt = SoftPrompt(init_prompt(emb, L, "vocab"))
    mpt = MPTPrompt(prompt.weight.detach(), 4)
    one_task = torch.zeros(args.batch, dtype=torch.long)
    with torch.no_grad():
        _, t_logits, _ = answer_hidden_and_logits(model, prompt, one_task, batch)
        t_hidden, _, _ = answer_hidden_and_logits(model, prompt, one_task, batch)
        t_logp, t_ids = teacher_topk(t_logits, 2.0, 64)

    def pt_loss():
        _, logits, targets = answer_hidden_and_logits(model, prompt, one_task, batch)
        return lm_loss(logits, targets)

    def distill_loss():
        hidden, logits, targets = answer_hidden_and_logits(model, mpt, one_task, batch)
        return lm_loss(logits, targets) + kl_topk(t_logp, t_ids, logits, 2.0) + hidden_mse(hidden, t_hidden)

    def adapt_loss():  # u, v only: P* frozen
        return pt_loss_mpt()

    adapt_prompt = MPTPrompt(prompt.weight.detach(), 1)
    adapt_prompt.shared.requires_grad_(False)

    def pt_loss_mpt():
        _, logits, targets = answer_hidden_and_logits(model, adapt_prompt, one_task, batch)
        return lm_loss(logits, targets)

    def step(loss_fn, params):
        def run():
            loss = loss_fn()
            loss.backward()
            for q in params:
                q.grad = None
        return run

    def forward():
        with torch.no_grad():
            pt_loss()

    # peft PromptTuning on a private copy of the same frozen model, same batch and init
    from peft import PromptTuningConfig, get_peft_model

    peft_model = get_peft_model(copy.deepcopy(model), PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=L))
    with torch.no_grad():
        peft_model.prompt_encoder["default"].embedding.weight.copy_(prompt.weight)
    peft_params = [q for q in peft_model.parameters() if q.requires_grad]

    def peft_step():
        out = peft_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
        out.loss.backward()
        for q in peft_params:
            q.grad = None

    if args.compile:  # after peft's private copy was made; the warm-up rounds compile
        compile_layers(model)
    times = interleaved_seconds({"forward": forward, "pt_step": step(pt_loss, [prompt.weight]),
                                 "distill_step": step(distill_loss, list(mpt.parameters())),
                                 "adapt_step": step(adapt_loss, [adapt_prompt.u, adapt_prompt.v]),
                                 "peft_pt_step": peft_step}, args.repeats, args.warmup)
    seconds = {name: statistics.median(ts) for name, ts in times.items()}
    with torch.compiler.set_stance("force_eager"):  # FLOPs of the eager ops
        flops = {"pt": flop_ratio(pt_loss), "distill": flop_ratio(distill_loss), "adapt": flop_ratio(adapt_loss)}
    emit({
        "benchmark": "train_step", "backbone": args.backbone, "dtype": str(bb.dtype).split(".")[-1],
        "attention": model.config._attn_implementation, "compiled": args.compile,
        "batch": args.batch, "prompt_length": L, "input_length": args.input_length, "machine": machine(),
        "seconds": seconds,
        "step_over_forward": {k: median_ratio(times[f"{k}_step"], times["forward"]) for k in ("pt", "distill", "adapt")},
        "ours_over_peft": median_ratio(times["pt_step"], times["peft_pt_step"]),
        "distill_over_pt": median_ratio(times["distill_step"], times["pt_step"]),
        "flops": flops,
    })


if __name__ == "__main__":
    main()
