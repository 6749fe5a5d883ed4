"""Losses of the three stages, as pure functions on tensors.

    lm_loss:     cross-entropy of the answer tokens                      logits (N, V), targets (N,)
    kl_full:     T^2 * mean_n KL(softmax(t/T) || softmax(s/T))            teacher, student logits (N, V)
    teacher_topk / kl_topk: the same KL with the teacher kept as its top-k log-probabilities plus
                 one "rest" bucket (exact when k = V); lets teacher outputs be cached cheaply
    hidden_mse:  mean squared error of final hidden states               (N, d) each
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), targets)


def kl_full(teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """T^2 * (1/N) sum_n sum_v p_t log(p_t / p_s), p = softmax(logits / T)."""
    t = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    return (t.exp() * (t - s)).sum(-1).mean() * temperature ** 2


def teacher_topk(teacher_logits: torch.Tensor, temperature: float, k: int):
    """Teacher log-probs at temperature T, top-k per position: (values (N, k) fp32, ids (N, k) int64)."""
    logp = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    k = min(k, logp.shape[-1])
    values, ids = logp.topk(k, dim=-1)
    return values, ids


def _log_rest(logp_topk: torch.Tensor) -> torch.Tensor:
    """log(1 - sum exp(logp_topk)), clamped away from log(0)."""
    mass = logp_topk.exp().sum(-1).clamp(max=1.0 - 1e-6)
    return torch.log1p(-mass)


def kl_topk(teacher_logp: torch.Tensor, teacher_ids: torch.Tensor, student_logits: torch.Tensor,
            temperature: float = 1.0) -> torch.Tensor:
    """KL over the teacher's top-k tokens plus one bucket for the remaining mass, times T^2.

    teacher_logp, teacher_ids (N, k); student_logits (N, V). Equals `kl_full` when k = V.
    """
    s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    s_k = s.gather(-1, teacher_ids)                                       # (N, k)
    kl = (teacher_logp.exp() * (teacher_logp - s_k)).sum(-1)              # (N,)
    if teacher_ids.shape[-1] < student_logits.shape[-1]:
        t_rest, s_rest = _log_rest(teacher_logp), _log_rest(s_k)
        kl = kl + t_rest.exp() * (t_rest - s_rest)
    return kl.mean() * temperature ** 2


def hidden_mse(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(student_hidden.float(), teacher_hidden.float())
