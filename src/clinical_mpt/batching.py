"""From canonical examples to token tensors: encode, sample task mixtures, collate.

An encoded example is (input_ids, target_ids): the task template's input text and the target text
followed by EOS. Special tokens are not added: the soft prompt is the sequence's prefix.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from clinical_mpt.tasks import get_task_type

KEEP_HEAD = 32  # when an input is too long, keep its first tokens (the instruction) and its end (the cue)


@dataclass
class TaskData:
    """One task's examples of one split, with what is needed to format them."""

    name: str
    type: str
    instruction: str | None
    examples: list[dict]
    encoded: list[tuple[list[int], list[int]]] = field(default_factory=list)

    @property
    def task_type(self):
        return get_task_type(self.type)


def truncate_input(ids: list[int], max_len: int) -> list[int]:
    if len(ids) <= max_len:
        return ids
    head = min(KEEP_HEAD, max_len // 4)
    return ids[:head] + ids[len(ids) - (max_len - head):]


def encode_input(tokenizer, task: TaskData, example: dict, max_input_tokens: int) -> list[int]:
    text = task.task_type.format_input(example, task.instruction)
    return truncate_input(tokenizer(text, add_special_tokens=False).input_ids, max_input_tokens)


def encode_task(tokenizer, task: TaskData, max_input_tokens: int, max_target_tokens: int) -> TaskData:
    """Fill `task.encoded` with (input_ids, target_ids + [eos]) per example."""
    eos = tokenizer.eos_token_id
    task.encoded = []
    for ex in task.examples:
        target = tokenizer(task.task_type.format_target(ex), add_special_tokens=False).input_ids
        task.encoded.append((encode_input(tokenizer, task, ex, max_input_tokens), target[:max_target_tokens] + [eos]))
    return task


def collate(rows: list[tuple[list[int], list[int]]], pad_id: int) -> dict:
    """Right-padded batch: input_ids, attention_mask, labels (B, T); labels are -100 off the target."""
    width = max(len(a) + len(b) for a, b in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (a, b) in enumerate(rows):
        n = len(a) + len(b)
        input_ids[i, :n] = torch.tensor(a + b)
        labels[i, len(a):n] = torch.tensor(b)
        mask[i, :n] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def mixture_probs(sizes: list[int], strategy: str, temperature: float = 2.0) -> list[float]:
    """Task sampling probabilities: proportional (n_k), temperature (n_k^(1/T)) or balanced (uniform)."""
    if strategy == "proportional":
        weights = [float(n) for n in sizes]
    elif strategy == "temperature":
        weights = [float(n) ** (1.0 / temperature) for n in sizes]
    elif strategy == "balanced":
        weights = [1.0] * len(sizes)
    else:
        raise ValueError(f"unknown sampling strategy {strategy!r}")
    total = sum(weights)
    return [w / total for w in weights]


class MixtureSampler:
    """Draws batches whose rows each pick a task from `probs`, then an example of that task.

    Within a task, examples are visited in a reshuffled order (epochs), so every example is seen.
    """

    def __init__(self, tasks: list[TaskData], probs: list[float], seed: int):
        self.tasks, self.probs = tasks, probs
        self.rng = random.Random(seed)
        self.orders = [[] for _ in tasks]

    def _next_index(self, k: int) -> int:
        if not self.orders[k]:
            self.orders[k] = list(range(len(self.tasks[k].encoded)))
            self.rng.shuffle(self.orders[k])
        return self.orders[k].pop()

    def state_dict(self) -> dict:
        """JSON-serialisable position in the data (RNG state and the rest of each epoch's order)."""
        version, internal, gauss = self.rng.getstate()
        return {"rng": [version, list(internal), gauss], "orders": self.orders}

    def load_state_dict(self, state: dict) -> None:
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        self.orders = [list(o) for o in state["orders"]]

    def sample_refs(self, batch_size: int, tasks_per_batch: int = 0) -> list[tuple[int, int]]:
        """-> [(task index, example index)] * B, sorted by task so rows of a task sit together.

        tasks_per_batch = 0: every row draws its task from `probs`. n > 0: n distinct tasks are drawn
        from `probs` (without replacement) and share the B rows as evenly as possible.
        """
        if tasks_per_batch <= 0:
            ks = sorted(self.rng.choices(range(len(self.tasks)), weights=self.probs, k=batch_size))
            return [(k, self._next_index(k)) for k in ks]
        chosen = self._distinct_tasks(min(tasks_per_batch, batch_size, sum(p > 0 for p in self.probs)))
        counts = [batch_size // len(chosen) + (i < batch_size % len(chosen)) for i in range(len(chosen))]
        return [(k, self._next_index(k)) for k, n in zip(sorted(chosen), counts) for _ in range(n)]

    def _distinct_tasks(self, n: int) -> list[int]:
        """n different task indices, each drawn from `probs` renormalised over those not yet drawn."""
        left, chosen = list(range(len(self.tasks))), []
        for _ in range(n):
            k = self.rng.choices(left, weights=[self.probs[j] for j in left])[0]
            left.remove(k)
            chosen.append(k)
        return chosen

    def sample(self, batch_size: int) -> tuple[list, torch.Tensor]:
        """-> (rows [(input_ids, target_ids)], task_ids (B,))."""
        refs = self.sample_refs(batch_size)
        rows = [self.tasks[k].encoded[j] for k, j in refs]
        return rows, torch.tensor([k for k, _ in refs], dtype=torch.long)
