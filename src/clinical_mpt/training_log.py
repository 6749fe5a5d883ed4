"""Where a training stage's curves go: `log_to` of its train config, jsonl and/or tensorboard.

    jsonl        <stage folder>/log.jsonl, one row per logged step (the default; `report` reads it)
    tensorboard  <stage folder>/tensorboard/<stage>/events.out.tfevents.*  (torch.utils.tensorboard)

    tensorboard --logdir runs/NAME          # every stage of the run: teachers, distill, adapt, targets

TensorBoard gets, at every logged step, loss/total and each loss component the stage reports
(loss/lm, loss/kl, loss/mse for distillation), dev metrics where the row has them (dev_loss ->
dev/loss), train/lr, train/grad_norm (before clipping) and train/tokens_per_s (text tokens of the
batches since the previous logged step, all processes). Row fields that are not curves (stage, step,
seconds, flags and step numbers of a summary) are left out.
A resumed stage hides its events after the checkpoint step (`purge_step`) so its curves do not fork.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from clinical_mpt.errors import ConfigError

LOG_TARGETS = ("jsonl", "tensorboard")
NOT_CURVES = {"stage", "step", "seconds", "lr", "steps_run", "best_step", "best_dev_loss", "stopped_early"}


def scalar_tag(key: str) -> str:
    """The TensorBoard tag of a log row field: loss -> loss/total, dev_loss -> dev/loss, kl -> loss/kl."""
    if key == "loss":
        return "loss/total"
    return f"dev/{key[4:]}" if key.startswith("dev_") else f"loss/{key}"


def tensorboard_dir(log_path: Path, desc: str) -> Path:
    """<folder of log.jsonl>/tensorboard/<stage name as a folder name>, e.g. teachers/tensorboard/teach_med_ner."""
    return Path(log_path).parent / "tensorboard" / re.sub(r"[^A-Za-z0-9_.-]+", "_", desc)


def summary_writer(folder: Path, purge_step: int | None):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("log_to: tensorboard needs the tensorboard package; install it with "
                          "`pip install tensorboard` (or clinical-mpt[tensorboard]), or drop it from log_to") from None
    return SummaryWriter(str(folder), purge_step=purge_step)


class StageLog:
    """The log of one training stage: `write(row, extra)` after each logged step, `close()` at the end.
    `row` is the JSONL row {"stage", "step", "loss", "lr", "seconds", components...}; `extra` holds
    scalars for TensorBoard only (grad_norm, tokens_per_s)."""

    def __init__(self, log_path: Path | None, desc: str, log_to: list[str], first_step: int = 0):
        self.jsonl = self.tensorboard = None
        if log_path is None:
            return
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        if "jsonl" in log_to:
            self.jsonl = open(log_path, "a", encoding="utf-8")
        if "tensorboard" in log_to:
            self.tensorboard = summary_writer(tensorboard_dir(log_path, desc), first_step + 1 if first_step else None)

    def write(self, row: dict, extra: dict) -> None:
        if self.jsonl is not None:
            self.jsonl.write(json.dumps(row) + "\n")
            self.jsonl.flush()
        if self.tensorboard is not None:
            step = row["step"]
            for key, value in row.items():
                if key not in NOT_CURVES and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.tensorboard.add_scalar(scalar_tag(key), value, step)
            self.tensorboard.add_scalar("train/lr", row["lr"], step)
            for key, value in extra.items():
                self.tensorboard.add_scalar(f"train/{key}", value, step)
            self.tensorboard.flush()

    def close(self) -> None:
        for log in (self.jsonl, self.tensorboard):
            if log is not None:
                log.close()
