"""What every target-task method returns, and the shared supervised loop over a target task."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from clinical_mpt.batching import MixtureSampler, TaskData, collate
from clinical_mpt.losses import lm_loss
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.training import train


@dataclass
class Fitted:
    """A method trained on one target task, ready to generate."""

    model: torch.nn.Module               # the model to generate with (the frozen backbone for prompt methods)
    prompt: torch.Tensor | None          # (L, d) soft prompt, or None
    trainable_parameters: int            # parameters updated for this task (0 when nothing was trained)
    bytes_per_task: int                  # what must be stored per task to serve it
    tensors: dict = field(default_factory=dict)  # the per-task tensors to save (prompt methods)


@dataclass
class MethodContext:
    """Everything a method may need besides the task: the backbone, the run config, the run folder."""

    backbone: object
    cfg: object
    out: Path
    meta: dict | None = None             # distilled {"shared", "u", "v"} (MPT methods)
    meta_tasks: list = field(default_factory=list)
    resume: bool = False                 # continue interrupted trainings from their checkpoints

    def checkpoint_dir(self, *parts: str) -> Path:
        return Path(self.out) / "checkpoints" / Path(*parts)


def fit_supervised(model, prompt_fn, params: list, task: TaskData, train_cfg, seed: int, pad_id: int,
                   desc: str, log_path: Path | None, checkpoint_dir: Path | None = None,
                   resume: bool = False) -> list[dict]:
    """LM loss on the target tokens of `task`; `prompt_fn(task ids (m,)) -> (m, L, d)`, or None."""
    sampler = MixtureSampler([task], [1.0], seed)
    batch_size = min(train_cfg.batch_size, len(task.encoded))

    def loss_fn(step):
        rows, task_ids = sampler.sample(batch_size)
        _, logits, targets = answer_hidden_and_logits(model, prompt_fn, task_ids, collate(rows, pad_id))
        return lm_loss(logits, targets), {}

    return train(params, loss_fn, train_cfg, desc=desc, log_path=log_path, checkpoint_dir=checkpoint_dir,
                 sampler=sampler, resume=resume)
