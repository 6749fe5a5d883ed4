"""The MPT prompt: a shared meta-prompt P* modulated per task by a low-rank factor.

    prompt_k = P* o (U_k V_k)        P*: (L, d)   U_k: (L, r)   V_k: (r, d)   o: Hadamard product

With r = 1 this is P* o (u_k v_k^T), u_k in R^L, v_k in R^d: L + d task-specific parameters. The layout
(U as (K, L, r), V as (K, r, d)) is the one peft's MultitaskPromptEmbedding uses, and the parity test
checks our composition against it on the same tensors.
"""

from __future__ import annotations

import torch
from torch import nn


class MPTPrompt(nn.Module):
    def __init__(self, shared: torch.Tensor, num_tasks: int, rank: int = 1, init_std: float = 0.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        length, dim = shared.shape
        self.shared = nn.Parameter(shared.detach().float().clone())  # P*: (L, d)
        # u = 1/r, v = 1 (+ optional noise): U V is all ones, so every task prompt starts equal to P*
        u = torch.ones(num_tasks, length, rank) + init_std * torch.randn(num_tasks, length, rank, generator=generator)
        v = torch.ones(num_tasks, rank, dim) + init_std * torch.randn(num_tasks, rank, dim, generator=generator)
        self.u = nn.Parameter(u / rank)  # (K, L, r)
        self.v = nn.Parameter(v)         # (K, r, d)

    @classmethod
    def from_factors(cls, shared: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> "MPTPrompt":
        """An MPTPrompt holding given P* (L, d), U (K, L, r) and V (K, r, d), e.g. a saved artifact's."""
        mpt = cls(shared, u.shape[0], u.shape[-1])
        with torch.no_grad():
            mpt.u.copy_(u)
            mpt.v.copy_(v)
        return mpt

    @property
    def length(self) -> int:
        return self.shared.shape[0]

    @property
    def num_tasks(self) -> int:
        return self.u.shape[0]

    def forward(self, task_ids: torch.Tensor) -> torch.Tensor:
        """task_ids (B,) -> prompts (B, L, d)."""
        task_matrices = torch.matmul(self.u[task_ids], self.v[task_ids])  # (B, L, r) @ (B, r, d) -> (B, L, d)
        return self.shared.unsqueeze(0) * task_matrices

    def task_prompt(self, task_id: int) -> torch.Tensor:
        return self.shared * (self.u[task_id] @ self.v[task_id])  # (L, d)

    def task_parameters(self) -> int:
        """Task-specific parameters per task: r * (L + d)."""
        return self.u[0].numel() + self.v[0].numel()
