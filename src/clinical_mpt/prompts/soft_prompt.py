"""A single-task soft prompt: L virtual-token embeddings, trained while the backbone stays frozen.

Parameters are kept in fp32 even when the backbone runs in bf16 (small updates to a bf16 prompt would
round away); they are cast to the backbone's dtype only where they enter `inputs_embeds`.
"""

from __future__ import annotations

import torch
from torch import nn


def init_prompt(embedding: torch.Tensor, length: int, how: str = "vocab", tokenizer=None,
                text: str = "", generator: torch.Generator | None = None) -> torch.Tensor:
    """Initial prompt values (L, d) in fp32.

    vocab:  embeddings of L tokens sampled uniformly from the first min(V, 5000) ids (frequent tokens)
    text:   embeddings of `text`'s tokens, repeated/truncated to L
    random: N(0, std of the embedding matrix)
    """
    emb = embedding.detach().float()  # (V, d)
    if how == "vocab":
        ids = torch.randint(0, min(emb.shape[0], 5000), (length,), generator=generator)
        return emb[ids].clone()
    if how == "text":
        ids = tokenizer(text, add_special_tokens=False).input_ids or [0]
        ids = (ids * (length // len(ids) + 1))[:length]
        return emb[torch.tensor(ids)].clone()
    if how == "random":
        return torch.randn(length, emb.shape[1], generator=generator) * emb.std()
    raise ValueError(f"unknown prompt init {how!r}")


def new_soft_prompt(backbone, prompt_cfg, seed: int) -> "SoftPrompt":
    """A SoftPrompt initialised as `prompt_cfg` (PromptConfig) says from `backbone`'s input embeddings
    (gathered whole first where ZeRO-3 has partitioned them); `seed` draws the vocab tokens."""
    from clinical_mpt.sharding import whole

    weight = backbone.model.get_input_embeddings().weight
    with whole(weight):
        init = init_prompt(weight, prompt_cfg.length, prompt_cfg.init, backbone.tokenizer, prompt_cfg.init_text,
                           torch.Generator().manual_seed(seed))
    return SoftPrompt(init)


class SoftPrompt(nn.Module):
    """P in R^{L x d}; forward(task_ids) -> (B, L, d), the same prompt for every row."""

    def __init__(self, init: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(init.detach().float().clone())  # (L, d)

    @property
    def length(self) -> int:
        return self.weight.shape[0]

    def forward(self, task_ids: torch.Tensor) -> torch.Tensor:
        return self.weight.unsqueeze(0).expand(task_ids.shape[0], -1, -1)  # (B, L, d)

    def task_prompt(self, task_id: int = 0) -> torch.Tensor:
        return self.weight  # (L, d)
