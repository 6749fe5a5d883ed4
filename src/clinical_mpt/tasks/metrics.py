"""Micro precision / recall / F1 over per-example sets (shared by NER and RE).

Conventions (documented in docs/tasks.md):
    precision = tp / pred_total   (0.0 when pred_total == 0)
    recall    = tp / gold_total   (0.0 when gold_total == 0)
    f1        = 2PR / (P + R)     (0.0 when P + R == 0)
except that when gold_total == pred_total == 0 (nothing to find, nothing predicted) all three are 1.0.
"""

from __future__ import annotations

from typing import Hashable, Iterable


def micro_prf(tp: int, gold_total: int, pred_total: int) -> dict:
    """{"precision", "recall", "f1"} from summed counts, with the conventions above."""
    if gold_total == 0 and pred_total == 0:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    precision = tp / pred_total if pred_total else 0.0
    recall = tp / gold_total if gold_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def set_prf(gold_sets: Iterable[set[Hashable]], pred_sets: Iterable[set[Hashable]]) -> dict:
    """Micro P/R/F1 over aligned per-example sets: tp = sum |G_i & P_i|, totals = sum |G_i|, sum |P_i|.

    Sets, so an item predicted twice for one example counts once.
    """
    tp = gold_total = pred_total = 0
    for g, p in zip(gold_sets, pred_sets, strict=True):
        tp += len(g & p)
        gold_total += len(g)
        pred_total += len(p)
    return micro_prf(tp, gold_total, pred_total)
