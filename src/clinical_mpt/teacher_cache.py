"""Teacher outputs for distillation, computed once and kept: they never change during stage 2.

For every training example of every source task we keep, at its answer positions, the teacher's
top-k log-probabilities at temperature T (plus their token ids) and its final hidden states.
Cost: k*(4+8) + d*2 bytes per answer token, instead of a second model forward on every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from clinical_mpt.progress import progress

from clinical_mpt.batching import collate
from clinical_mpt.losses import teacher_topk
from clinical_mpt.modeling import answer_hidden_and_logits


@dataclass
class TeacherOutputs:
    """One example's teacher outputs at its n answer positions."""

    logp: torch.Tensor    # (n, k) fp32 log-probs at temperature T (k = V when not truncated)
    ids: torch.Tensor     # (n, k) int64 token ids
    hidden: torch.Tensor  # (n, d) backbone dtype


@torch.no_grad()
def compute_teacher_outputs(model, prompt: torch.Tensor, encoded: list, pad_id: int, temperature: float,
                            topk: int, batch_size: int = 16, desc: str = "teacher") -> list[TeacherOutputs]:
    """prompt (L, d); encoded [(input_ids, target_ids)] -> one TeacherOutputs per example, in order."""
    outputs = []
    vocab = model.get_output_embeddings().weight.shape[0]
    for start in progress(range(0, len(encoded), batch_size), desc=f"cache {desc}", unit="batch", leave=False):
        rows = encoded[start:start + batch_size]
        task_ids = torch.zeros(len(rows), dtype=torch.long)      # every row uses the one teacher prompt
        hidden, logits, _ = answer_hidden_and_logits(model, lambda ids: prompt.unsqueeze(0), task_ids,
                                                     collate(rows, pad_id))
        logp, ids = teacher_topk(logits, temperature, topk if topk > 0 else vocab)
        counts = [len(target) for _, target in rows]  # answer positions per row, row-major order
        for lp, ix, h in zip(logp.split(counts), ids.split(counts), hidden.split(counts)):
            outputs.append(TeacherOutputs(lp.clone(), ix.clone(), h.clone()))
    return outputs


def gather(cache: list[list[TeacherOutputs]], refs: list[tuple[int, int]]) -> TeacherOutputs:
    """Concatenate the cached outputs of batch rows `refs` [(task, example)] in row order."""
    items = [cache[k][j] for k, j in refs]
    return TeacherOutputs(torch.cat([t.logp for t in items]), torch.cat([t.ids for t in items]),
                          torch.cat([t.hidden for t in items]))
