"""Probe the learning rate of MPT target adaptation (u, v only) on a target task's dev split.

Loads the distilled meta-prompt of a finished run, adapts u, v (initialised from the source mean) on
the task's training split for a few steps at a constant learning rate, and prints the dev loss
before and after, as JSON. Used to choose `adapt.train.lr` (on dev data, never on test).

    python scripts/adapt_lr_probe.py RUN_DIR TASK LR [--steps 25] [--suite runs/suite]
"""

from __future__ import annotations

import argparse
import json

import torch

from clinical_mpt.artifacts import load_artifact
from clinical_mpt.backbone import load_backbone
from clinical_mpt.batching import MixtureSampler, collate, encode_task
from clinical_mpt.data.suite import load_split, load_suite
from clinical_mpt.losses import lm_loss
from clinical_mpt.methods.mpt import target_prompt
from clinical_mpt.modeling import answer_hidden_and_logits


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("task")
    p.add_argument("lr", type=float)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--suite", default="runs/suite")
    p.add_argument("--backbone", default="default")
    args = p.parse_args()
    bb = load_backbone(args.backbone)
    meta, mcfg = load_artifact(f"{args.run_dir}/distill", bb.fingerprint)
    spec = next(t for t in load_suite(args.suite)["tasks"] if t["name"] == args.task)
    train = encode_task(bb.tokenizer, load_split(args.suite, spec, "train", 96), 320, 128)
    dev = encode_task(bb.tokenizer, load_split(args.suite, spec, "dev", 16), 320, 128)
    mpt = target_prompt(meta, mcfg["tasks"], "mean", False)
    params = [mpt.u, mpt.v]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    sampler = MixtureSampler([train], [1.0], 0)
    pad = bb.tokenizer.pad_token_id

    def dev_loss() -> float:
        with torch.no_grad():
            ids = torch.zeros(len(dev.encoded), dtype=torch.long)
            _, logits, targets = answer_hidden_and_logits(bb.model, mpt, ids, collate(dev.encoded, pad))
            return lm_loss(logits, targets).item()

    before = dev_loss()
    for _ in range(args.steps):
        rows, ids = sampler.sample(8)
        _, logits, targets = answer_hidden_and_logits(bb.model, mpt, ids, collate(rows, pad))
        loss = lm_loss(logits, targets)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    print(json.dumps({"task": args.task, "lr": args.lr, "steps": args.steps, "dev_loss_before": round(before, 3),
                      "dev_loss_after": round(dev_loss(), 3), "last_train_loss": round(loss.item(), 3)}))


if __name__ == "__main__":
    main()
