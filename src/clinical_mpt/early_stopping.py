"""Early stopping on a dev loss: keep the best parameters seen, stop after `patience` evaluations
without improvement, and restore the best parameters at the end.

Every trainable stage (teachers, distillation, each target method) uses it through `training.train`,
so the same convergence policy decides every method's steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch


@dataclass
class EarlyStopping:
    patience: int                        # evaluations without improvement before stopping
    min_delta: float = 0.0               # an improvement must beat the best by more than this
    best_loss: float = math.inf
    best_step: int = 0                   # optimizer steps done when the best loss was measured
    bad_evals: int = 0
    best: list[torch.Tensor] = field(default_factory=list)  # CPU copies of the parameters at best_step

    def update(self, step: int, loss: float, params: list[torch.Tensor]) -> bool:
        """Record the dev `loss` after `step` optimizer steps; -> True when training should stop."""
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_step, self.bad_evals = loss, step, 0
            self.best = [p.detach().to("cpu", copy=True) for p in params]
            return False
        self.bad_evals += 1
        return self.bad_evals >= self.patience

    def restore(self, params: list[torch.Tensor]) -> None:
        """Copy the best parameters back into `params` (no-op before any evaluation)."""
        with torch.no_grad():
            for p, b in zip(params, self.best):
                p.copy_(b.to(p.device))

    def state(self) -> tuple[dict, dict]:
        """(tensors, JSON state) for a resumable checkpoint."""
        return ({f"best.{i}": t for i, t in enumerate(self.best)},
                {"best_loss": None if math.isinf(self.best_loss) else self.best_loss,
                 "best_step": self.best_step, "bad_evals": self.bad_evals})

    def load(self, tensors: dict, state: dict | None) -> None:
        if not state:
            return
        self.best_loss = math.inf if state["best_loss"] is None else float(state["best_loss"])
        self.best_step, self.bad_evals = int(state["best_step"]), int(state["bad_evals"])
        self.best = [tensors[f"best.{i}"] for i in range(len(tensors))]

    def summary(self, steps_run: int) -> dict:
        """What a results file records about this training."""
        return {"steps_run": steps_run, "best_step": self.best_step,
                "best_dev_loss": None if math.isinf(self.best_loss) else round(self.best_loss, 6),
                "stopped_early": self.bad_evals >= self.patience}
