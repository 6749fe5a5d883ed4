"""Classification by ranking: score each label / option continuation by its log-likelihood under the
prompted input and predict the best one (`eval.classification: rank`), as lm-evaluation-harness does
for multiple-choice tasks.

    score(option) = sum_j log p(c_j | prompt, input, c_<j)      c = the option's target text tokens

The continuation is exactly the target the model is trained on (`format_target`, e.g. " entailment"
or " B", tokenized on its own as in training), without the EOS. The sum is NOT length-normalised
(the harness's `acc`, not `acc_norm`): NLI labels are a few tokens each and MCQA letters one token.
Ties go to the first option in order.

One forward pass per batch of examples covers all of their options: the rows
[input_i | option_ij] for every example i and option j are collated together (right padding, the
soft prompt entering through `inputs_embeds` as in training; see modeling.text_hidden), and the LM
head runs only at the option tokens. Never one generation per option.

    preds = rank_task(backbone, prompt, task, batch_size=16, max_input_tokens=320)
"""

from __future__ import annotations

import torch

from clinical_mpt.batching import TaskData, collate, encode_input
from clinical_mpt.data.canonical import NLI_LABELS
from clinical_mpt.modeling import answer_positions
from clinical_mpt.progress import progress


def nli_candidates(ex: dict) -> list[dict]:
    """Every NLI label, as the prediction it stands for."""
    return [{"label": label} for label in NLI_LABELS]


def mcqa_candidates(ex: dict) -> list[dict]:
    """Every option key of the example, in the example's order."""
    return [{"answer": key} for key in ex["options"]]


CANDIDATES = {"nli": nli_candidates, "mcqa": mcqa_candidates}  # task types that can be ranked


def can_rank(type_name: str) -> bool:
    return type_name in CANDIDATES


def candidate_texts(task_type, ex: dict) -> list[tuple[str, dict]]:
    """[(continuation text, prediction fields)] for every candidate: the text is the type's target
    for that answer (" neutral", " C")."""
    return [(task_type.format_target({**ex, **fields}), fields) for fields in CANDIDATES[task_type.name](ex)]


@torch.no_grad()
def continuation_logprobs(model, prompt: torch.Tensor | None, inputs: list[list[int]],
                          continuations: list[list[int]], pad_id: int = 0,
                          prefix: torch.Tensor | None = None) -> torch.Tensor:
    """prompt (L, d) or None, or a deep prompt `prefix` (layers, 2, kv_heads, P, head_dim); R rows of
    (input ids, continuation ids) -> (R,) float32 sums of the continuation tokens' log-probabilities,
    all rows in one forward pass (right padding with `pad_id`, masked out)."""
    batch = collate(list(zip(inputs, continuations, strict=True)), pad_id)  # labels: continuation tokens only
    from clinical_mpt.deep_modeling import one_prompt_forward

    prompt_fn, forward = one_prompt_forward(prompt, prefix)
    _, logits, targets = forward(model, prompt_fn, torch.zeros(len(inputs), dtype=torch.long), batch)  # (N, V), (N,)
    rows, _, _ = answer_positions(batch["labels"])                # (N,) the row of each answer token
    token_lp = torch.log_softmax(logits.float(), dim=-1).gather(1, targets[:, None].to(logits.device))[:, 0]
    return torch.zeros(len(inputs), device=token_lp.device).index_add_(0, rows.to(token_lp.device), token_lp).cpu()


def rank_task(backbone, prompt: torch.Tensor | None, task: TaskData, batch_size: int = 16,
              max_input_tokens: int = 320, desc: str | None = None, prefix: torch.Tensor | None = None) -> list[dict]:
    """prompt (L, d) or None -> one prediction per example of `task` (an "nli" or "mcqa" task), in
    order: the best candidate's fields, plus `generation` (its text) and `option_logprobs`."""
    inputs = [encode_input(backbone.tokenizer, task, ex, max_input_tokens) for ex in task.examples]
    return rank_examples(backbone.model, backbone.tokenizer, task.task_type, prompt, inputs, task.examples,
                         batch_size, prefix, desc or f"rank {task.name}")


def rank_examples(model, tok, ttype, prompt: torch.Tensor | None, inputs: list[list[int]], examples: list[dict],
                  batch_size: int = 16, prefix: torch.Tensor | None = None, desc: str | None = None) -> list[dict]:
    """The ranking of `rank_task` on already encoded inputs (one per example, of one task): what the
    serving engine calls for NLI / MCQA requests, so that it answers exactly as evaluation scores."""
    if not can_rank(ttype.name):
        raise ValueError(f"eval.classification: rank scores {', '.join(CANDIDATES)} tasks, not {ttype.name!r}")
    cands = [candidate_texts(ttype, ex) for ex in examples]
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
    preds: list[dict | None] = [None] * len(inputs)
    for start in progress(range(0, len(order), batch_size), desc=desc or f"rank {ttype.name}", unit="batch",
                          leave=False, disable=desc is None):
        idx = order[start:start + batch_size]
        rows = [(inputs[i], tok(text, add_special_tokens=False).input_ids) for i in idx for text, _ in cands[i]]
        scores = continuation_logprobs(model, prompt, [r[0] for r in rows], [r[1] for r in rows],
                                       tok.pad_token_id or 0, prefix).tolist()
        for i in idx:
            mine, scores = scores[:len(cands[i])], scores[len(cands[i]):]
            best = max(range(len(mine)), key=lambda j: (mine[j], -j))
            text, fields = cands[i][best]
            logprobs = {t.strip(): round(s, 4) for (t, _), s in zip(cands[i], mine, strict=True)}
            preds[i] = {"id": examples[i]["id"], **fields, "generation": text, "option_logprobs": logprobs}
    return preds
