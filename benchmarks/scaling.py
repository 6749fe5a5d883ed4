"""How a prompt-tuning step's time grows with prompt length and with sequence length (least-squares slope).

    python benchmarks/scaling.py [--backbone default]
"""

from __future__ import annotations

import torch

from _common import emit, make_batch, median_seconds, parser
from clinical_mpt.backbone import load_backbone
from clinical_mpt.losses import lm_loss
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.prompts import SoftPrompt, init_prompt


def slope(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares fit y = a + b x -> (a, b)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--batch", type=int, default=8)
    args = p.parse_args()
    bb = load_backbone(args.backbone, args.dtype, args.attention)
    emb = bb.model.get_input_embeddings().weight
    ids = torch.zeros(args.batch, dtype=torch.long)

    def step_time(prompt_length: int, seq_len: int) -> float:
        prompt = SoftPrompt(init_prompt(emb, prompt_length, "vocab"))
        batch = make_batch(bb.fingerprint.vocab_size, args.batch, seq_len)

        def run():
            _, logits, t = answer_hidden_and_logits(bb.model, prompt, ids, batch)
            lm_loss(logits, t).backward()
            prompt.weight.grad = None
        return median_seconds(run, args.repeats, args.warmup)

    by_prompt = {L: step_time(L, 128) for L in (20, 50, 100)}
    by_seq = {T: step_time(100, T) for T in (64, 128, 256, 512)}
    a1, b1 = slope(list(by_prompt), list(by_prompt.values()))
    a2, b2 = slope(list(by_seq), list(by_seq.values()))
    emit({"benchmark": "scaling", "backbone": args.backbone, "batch": args.batch,
          "seconds_by_prompt_length(input=128)": by_prompt, "seconds_by_input_length(prompt=100)": by_seq,
          "fit_prompt_length": {"intercept_s": a1, "seconds_per_virtual_token": b1},
          "fit_input_length": {"intercept_s": a2, "seconds_per_input_token": b2}})


if __name__ == "__main__":
    main()
