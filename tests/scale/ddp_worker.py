"""Run by test_ddp.py, once under `accelerate launch --num_processes 2` and once alone: train one
teacher prompt with the shared supervised loop on a mini-suite task and save what THIS rank holds
at the end to OUT/rank<R>.safetensors (in the CLI only rank 0 writes, so the ranks' copies are
compared here).

    python tests/scale/ddp_worker.py SUITE OUT BATCH
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from clinical_mpt import distributed
from clinical_mpt.backbone import load_backbone
from clinical_mpt.batching import encode_task
from clinical_mpt.config import TrainConfig
from clinical_mpt.data.suite import load_split, load_suite, select_tasks
from clinical_mpt.methods.base import fit_supervised
from clinical_mpt.prompts import SoftPrompt, init_prompt


def main(suite: str, out: str, batch: int) -> None:
    torch.manual_seed(0)
    backbone = load_backbone("tiny-random-llama", "float32", device="cpu")
    spec = select_tasks(load_suite(suite), "source", ["med_ner"])[0]
    task = encode_task(backbone.tokenizer, load_split(suite, spec, "train"), 128, 32)
    weight = backbone.model.get_input_embeddings().weight
    prompt = SoftPrompt(init_prompt(weight, 8, "vocab", generator=torch.Generator().manual_seed(0)))
    if distributed.rank() == 1:  # a different start on rank 1: training must begin from rank 0's prompt
        with torch.no_grad():
            prompt.weight.add_(1.0)
    cfg = TrainConfig(steps=5, batch_size=batch, lr=0.3, warmup_steps=1, log_every=1, checkpoint_every=0)
    rows = fit_supervised(backbone.model, prompt, [prompt.weight], task, cfg, seed=0,
                          pad_id=backbone.tokenizer.pad_token_id, desc="worker", log_path=None)
    losses = torch.tensor([r["loss"] for r in rows], dtype=torch.float64)
    Path(out).mkdir(parents=True, exist_ok=True)
    save_file({"prompt": prompt.weight.detach().contiguous(), "losses": losses},
              str(Path(out) / f"rank{distributed.rank()}.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
