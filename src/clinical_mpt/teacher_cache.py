"""Teacher outputs for distillation, computed once and kept: they never change during stage 2.

For every training example of every source task we keep, at its answer positions, the teacher's
top-k log-probabilities at temperature T (plus their token ids) and its final hidden states.
Cost: k*(4+8) + d*2 bytes per answer token, instead of a second model forward on every step. They
are kept on the CPU, in memory, or on disk: one safetensors file per task (its examples' rows
concatenated, plus row offsets), memory-mapped and read per batch (`DiskTeacherOutputs`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from clinical_mpt.batching import collate
from clinical_mpt.losses import teacher_topk
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.progress import progress
from clinical_mpt.sharding import full_shape


@dataclass
class TeacherOutputs:
    """One example's teacher outputs at its n answer positions."""

    logp: torch.Tensor    # (n, k) fp32 log-probs at temperature T (k = V when not truncated)
    ids: torch.Tensor     # (n, k) int64 token ids
    hidden: torch.Tensor  # (n, d) backbone dtype


@torch.no_grad()
def compute_teacher_outputs(model, prompt: torch.Tensor, encoded: list, pad_id: int, temperature: float,
                            topk: int, batch_size: int = 16, desc: str = "teacher",
                            forward=answer_hidden_and_logits) -> list[TeacherOutputs]:
    """prompt (L, d); encoded [(input_ids, target_ids)] -> one TeacherOutputs per example, in order.
    A deep teacher: prompt (layers, 2, kv_heads, L, head_dim) with
    `forward=deep_modeling.deep_answer_hidden_and_logits` (the prefix in the attention cache)."""
    outputs = []
    vocab = full_shape(model.get_output_embeddings().weight)[0]
    for start in progress(range(0, len(encoded), batch_size), desc=f"cache {desc}", unit="batch", leave=False):
        rows = encoded[start:start + batch_size]
        task_ids = torch.zeros(len(rows), dtype=torch.long)      # every row uses the one teacher prompt
        hidden, logits, _ = forward(model, lambda ids: prompt.unsqueeze(0), task_ids, collate(rows, pad_id))
        logp, ids = teacher_topk(logits, temperature, topk if topk > 0 else vocab)
        counts = [len(target) for _, target in rows]  # answer positions per row, row-major order
        for lp, ix, h in zip(logp.split(counts), ids.split(counts), hidden.split(counts)):
            outputs.append(TeacherOutputs(*(t.to("cpu", copy=True) for t in (lp, ix, h))))
    return outputs


def kept_mass(outputs) -> float:
    """Mean over answer positions of the softened teacher probability the cached top-k tokens hold
    (1.0 when the full vocabulary is kept); `outputs` is a list of TeacherOutputs or a DiskTeacherOutputs."""
    total, positions = 0.0, 0
    for j in range(len(outputs)):
        logp = outputs[j].logp
        total += logp.exp().sum(-1).clamp(max=1.0).sum().item()
        positions += logp.shape[0]
    return total / max(1, positions)


def gather(cache: list, refs: list[tuple[int, int]], device=None) -> TeacherOutputs:
    """Concatenate the cached outputs of batch rows `refs` [(task, example)] in row order, on `device`."""
    items = [cache[k][j] for k, j in refs]
    return TeacherOutputs(*(torch.cat(parts).to(device) if device is not None else torch.cat(parts)
                            for parts in zip(*((t.logp, t.ids, t.hidden) for t in items))))


def save_teacher_outputs(path: Path, outputs: list[TeacherOutputs], key: str) -> None:
    """One task's outputs -> a safetensors file: logp (N, k), ids (N, k), hidden (N, d) over all its
    examples' answer positions, offsets (n + 1,) of each example's rows; `key` in the metadata.
    Written under a temporary name and renamed (never half-written)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = torch.tensor([0] + [t.logp.shape[0] for t in outputs], dtype=torch.long)
    tensors = {"logp": torch.cat([t.logp for t in outputs]), "ids": torch.cat([t.ids for t in outputs]),
               "hidden": torch.cat([t.hidden for t in outputs]), "offsets": counts.cumsum(0)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata={"key": key})
    os.replace(tmp, path)


class DiskTeacherOutputs:
    """One task's teacher outputs in a file of `save_teacher_outputs`; `[j]` reads example j only."""

    def __init__(self, path: Path):
        from safetensors import safe_open

        self.path = Path(path)
        self._file = safe_open(str(self.path), framework="pt")
        self.offsets = self._file.get_tensor("offsets").tolist()

    @staticmethod
    def key_of(path: Path) -> str | None:
        """The key a cache file was written with (None if it is missing or unreadable)."""
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                return (f.metadata() or {}).get("key")
        except (OSError, SafetensorError):
            return None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, j: int) -> TeacherOutputs:
        a, b = self.offsets[j], self.offsets[j + 1]
        return TeacherOutputs(*(self._file.get_slice(name)[a:b] for name in ("logp", "ids", "hidden")))
