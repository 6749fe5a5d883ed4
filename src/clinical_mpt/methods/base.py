"""What every target-task method returns, and the shared supervised loop over a target task."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from clinical_mpt import distributed, sharding
from clinical_mpt.batching import MixtureSampler, TaskData, collate
from clinical_mpt.losses import lm_loss
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.training import param_groups, train


@dataclass
class Fitted:
    """A method trained on one target task, ready to generate."""

    model: torch.nn.Module               # the model to generate with (the frozen backbone for prompt methods)
    prompt: torch.Tensor | None          # (L, d) soft prompt, or None
    trainable_parameters: int            # parameters updated for this task (0 when nothing was trained)
    bytes_per_task: int                  # what must be stored per task to serve it
    tensors: dict = field(default_factory=dict)  # the per-task tensors to save (prompt methods)
    info: dict = field(default_factory=dict)     # method-specific facts recorded in the artifact's config.json
    prefix: torch.Tensor | None = None   # (layers, 2, kv_heads, L, head_dim) deep prompt for the KV cache


@dataclass
class MethodContext:
    """Everything a method may need besides the task: the backbone, the run config, the run folder."""

    backbone: object
    cfg: object
    out: Path
    meta: dict | None = None             # distilled {"shared", "u", "v"} of the method's depth (MPT methods)
    meta_tasks: list = field(default_factory=list)
    meta_prompts: dict = field(default_factory=dict)  # depth ("input" | "deep") -> (meta tensors, source tasks)
    resume: bool = False                 # continue interrupted trainings from their checkpoints
    dev: TaskData | None = None          # the target task's encoded dev split: early stopping (train.eval_every)

    def checkpoint_dir(self, *parts: str) -> Path:
        return Path(self.out) / "checkpoints" / Path(*parts)


def answer_tokens(rows: list[tuple[list[int], list[int]]]) -> int:
    """Answer positions of encoded rows [(input_ids, target_ids)]: one per target token (the first
    position of a row predicts nothing, so a row without input has one fewer)."""
    return sum(len(target) - (len(inp) == 0) for inp, target in rows)


def dev_loss_fn(model, prompt_fn, dev: TaskData, pad_id: int, batch_size: int, forward=answer_hidden_and_logits):
    """-> a function giving the mean LM loss per answer token of `dev`'s encoded rows under the
    current parameters (the early-stopping signal; eval mode, so dropout is off). `forward` as in
    `fit_supervised`."""
    def dev_loss() -> float:
        was_training = model.training
        model.eval()
        total, tokens = 0.0, 0
        try:
            for start in range(0, len(dev.encoded), batch_size):
                rows = dev.encoded[start:start + batch_size]
                task_ids = torch.zeros(len(rows), dtype=torch.long)
                _, logits, targets = forward(model, prompt_fn, task_ids, collate(rows, pad_id))
                n = answer_tokens(rows)
                total += lm_loss(logits, targets).item() * n
                tokens += n
        finally:
            model.train(was_training)
        return total / max(1, tokens)
    return dev_loss


def text_tokens(rows: list[tuple[list[int], list[int]]]) -> int:
    """Input plus target tokens of encoded rows (what the training log's tokens/s counts)."""
    return sum(len(inp) + len(target) for inp, target in rows)


def fit_supervised(model, prompt_fn, params: list, task: TaskData, train_cfg, seed: int, pad_id: int,
                   desc: str, log_path: Path | None, checkpoint_dir: Path | None = None,
                   resume: bool = False, dev: TaskData | None = None,
                   forward=answer_hidden_and_logits) -> list[dict]:
    """LM loss on the target tokens of `task`; `prompt_fn(task ids (m,)) -> (m, L, d)`, or None.
    With `dev` (encoded) and `train_cfg.eval_every`, training stops early on its loss (training.py).
    `forward`: modeling.answer_hidden_and_logits, or deep_modeling.deep_answer_hidden_and_logits for
    deep prompts (prompt_fn then returns prefixes (m, layers, 2, kv_heads, L, head_dim)).

    Every rank samples the same global batch and runs its slice (distributed.py); in one process
    the slice is the whole batch and the loss is unscaled.
    """
    sampler = MixtureSampler([task], [1.0], seed)
    batch_size = min(train_cfg.batch_size, len(task.encoded))

    def loss_fn(step):
        batch = [task.encoded[j] for _, j in sampler.sample_refs(batch_size)]  # the global batch
        rows = distributed.shard_rows(batch)
        scale = 1.0
        if not rows:
            if not sharding.sharded(model):
                return distributed.zero_loss(param_groups(params)[1]), {"tokens": 0}
            rows, scale = batch[:1], 0.0  # sharded layers: every rank must run the forward
        task_ids = torch.zeros(len(rows), dtype=torch.long)
        _, logits, targets = forward(model, prompt_fn, task_ids, collate(rows, pad_id))
        share = scale * distributed.token_share(answer_tokens(rows), answer_tokens(batch))
        return lm_loss(logits, targets) * share, {"tokens": scale * text_tokens(rows)}

    dev_loss = dev_loss_fn(model, prompt_fn, dev, pad_id, batch_size, forward) if dev is not None and dev.encoded \
        else None
    return train(params, loss_fn, train_cfg, desc=desc, log_path=log_path, checkpoint_dir=checkpoint_dir,
                 sampler=sampler, resume=resume, dev_loss=dev_loss)
