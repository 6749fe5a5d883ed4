"""Deep MPT: a shared deep meta-prompt P* modulated per task and per layer by a low-rank factor.

    prefix_{k,l} = P*_l o (U_{k,l} V_{k,l})     P*_l: (L, D)   U_{k,l}: (L, r)   V_{k,l}: (r, D)

for every layer l, with D = 2·kv_heads·head_dim (a layer's keys and values side by side, the rows view
of deep_prompt.to_rows). With r = 1 a task owns layers·(L + D) numbers: SmolLM2-135M (30 layers, 3 kv
heads of 64), L = 20: 30 x (20 + 384) = 12,120. The same composition as MPTPrompt (prompts/mpt_prompt.py),
one per layer: u = 1/r, v = 1 (+ optional noise) start every task at P* itself.
"""

from __future__ import annotations

import torch
from torch import nn

from clinical_mpt.prompts.deep_prompt import from_rows, to_rows


class DeepMPTPrompt(nn.Module):
    """shared P* (layers, L, D); u (K, layers, L, r); v (K, layers, r, D); forward -> (B, layers, 2, kv, L, hd)."""

    def __init__(self, shared: torch.Tensor, num_tasks: int, kv_heads: int, rank: int = 1, init_std: float = 0.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        layers, length, dim = shared.shape
        if dim % (2 * kv_heads):
            raise ValueError(f"deep meta-prompt rows of width {dim} do not split into keys and values of "
                             f"{kv_heads} kv heads")
        self.kv_heads = kv_heads
        self.shared = nn.Parameter(shared.detach().float().clone())  # P*: (layers, L, D)
        u = torch.ones(num_tasks, layers, length, rank)
        v = torch.ones(num_tasks, layers, rank, dim)
        if init_std:
            u = u + init_std * torch.randn(u.shape, generator=generator)
            v = v + init_std * torch.randn(v.shape, generator=generator)
        self.u = nn.Parameter(u / rank)  # (K, layers, L, r)
        self.v = nn.Parameter(v)         # (K, layers, r, D)

    @classmethod
    def from_teachers(cls, teachers: torch.Tensor, rank: int = 1, init_std: float = 0.0,
                      generator: torch.Generator | None = None) -> DeepMPTPrompt:
        """The distillation student: P* = the mean of the K deep teachers (K, layers, 2, kv, L, hd)."""
        return cls(to_rows(teachers.float().mean(0)), teachers.shape[0], teachers.shape[3], rank, init_std,
                   generator)

    @property
    def length(self) -> int:
        return self.shared.shape[1]

    @property
    def num_tasks(self) -> int:
        return self.u.shape[0]

    def rows(self, task_ids: torch.Tensor) -> torch.Tensor:
        """task_ids (B,) -> per-layer task matrices P*_l o (U V) as rows (B, layers, L, D)."""
        task_matrices = torch.matmul(self.u[task_ids], self.v[task_ids])  # (B, layers, L, r) @ (B, layers, r, D)
        return self.shared.unsqueeze(0) * task_matrices

    def forward(self, task_ids: torch.Tensor) -> torch.Tensor:
        """task_ids (B,) -> prefixes (B, layers, 2, kv, L, hd): the student prefix of each row's task."""
        return from_rows(self.rows(task_ids), self.kv_heads)

    def task_prefix(self, task_id: int) -> torch.Tensor:
        """(layers, 2, kv, L, hd) of task `task_id`."""
        return self(torch.tensor([task_id], device=self.u.device))[0]

    def task_parameters(self) -> int:
        """Task-specific numbers per task: layers · r · (L + D)."""
        return self.u[0].numel() + self.v[0].numel()
