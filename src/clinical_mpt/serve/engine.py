"""Multi-task inference: one frozen backbone, one soft prompt per task, mixed-task batches.

    engine = Engine.from_library("libraries/default")              # or Engine(backbone, task_prompts)
    engine.predict([Request("med_ner", {"text": "..."}), Request("mednli", {"premise": ..., "hypothesis": ...})])
    -> [{"id": "0", "task": "med_ner", "type": "ner", "entities": [...], "generation": "..."}, ...]

Requests of any tasks are sorted by (prompt length, input length) and cut into batches of at most
`max_batch_size` rows; each row gets its own prompt. With `prompt_cache` on (the default) a task's
prompt is run through the model once and its K/V states are reused (see prompt_cache.py); off, the
prompt is re-encoded with every batch, as peft does. Both give the same generations.

Sliding-window models (gpt-oss): in the cached layout [prompt K/V | pads | text] the pads of a shorter
row sit between its prompt and its text and count towards the window, so a batch of unequal input
lengths whose prompt + input exceed the window takes the uncached layout [pads | prompt | text]
(exact) instead; other batches keep the cache.

Decoding (`EngineConfig.decode`): "eager" runs each batch through `decoding.greedy_generate` (the
reference). "static" and "compiled" run the requests through `slot_decoding.SlotDecoder`: a static KV
cache of `max_batch_size` slots with continuous batching (a finished row's slot takes the next request
at once, tasks mixed freely), its one-token step eager or `torch.compile`d. The same tokens as "eager".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from clinical_mpt.batching import TaskData, encode_input
from clinical_mpt.decoding import DecodeBatch, greedy_generate, text_stop
from clinical_mpt.errors import ClinicalMPTError
from clinical_mpt.serve.inputs import check_input, input_fields
from clinical_mpt.serve.prompt_cache import PromptCache
from clinical_mpt.slot_decoding import Row, SlotDecoder, bucket, rows_of
from clinical_mpt.tasks import get_task_type


def sliding_window(model) -> int | None:
    """The attention window of a model with sliding-window layers (gpt-oss, Mistral), else None."""
    from clinical_mpt.backbone_shapes import active_sliding_window

    return active_sliding_window(model.config.to_dict()) or None


class UnknownTaskError(ClinicalMPTError):
    """A request names a task the engine has no prompt for."""


def same_prompt(a: "TaskPrompt", b: "TaskPrompt") -> bool:
    """Whether two versions of a task generate alike (same type, instruction and prompt values)."""
    return a.type == b.type and a.instruction == b.instruction and a.prompt.shape == b.prompt.shape \
        and torch.equal(a.prompt, b.prompt)


DECODE_MODES = ("eager", "static", "compiled")


@dataclass
class EngineConfig:
    max_batch_size: int = 16          # rows per forward pass
    max_input_tokens: int = 320       # longer inputs keep their head (instruction) and tail (answer cue)
    max_new_tokens: int | None = None  # cap on every task type's own generation budget (None = no cap)
    cache_capacity: int = 64          # prompt K/V states kept resident at most (LRU)
    prompt_cache: bool = True         # reuse prompt K/V states (False: re-encode the prompt every batch)
    decode: str = "eager"             # eager | static | compiled (static KV cache + continuous batching)

    def __post_init__(self):
        if self.decode not in DECODE_MODES:
            raise ClinicalMPTError(f"engine: decode={self.decode!r}; use one of {', '.join(DECODE_MODES)}")
        if self.max_batch_size < 1 or self.max_input_tokens < 8 or self.cache_capacity < 1:
            raise ClinicalMPTError("engine: max_batch_size and cache_capacity must be >= 1, max_input_tokens >= 8")


@dataclass
class TaskPrompt:
    """A servable task: its name, type, instruction and composed prompt (L, d) fp32."""

    name: str
    type: str
    instruction: str | None
    prompt: torch.Tensor
    method: str = "pt"
    parameters: int | None = None
    metrics: dict = field(default_factory=dict)
    below_baseline: bool | None = None  # score at or below the task's majority baseline (None: unknown)

    @classmethod
    def from_entry(cls, entry) -> "TaskPrompt":
        from clinical_mpt.library.baseline import baseline_status

        c = entry.config
        status = baseline_status(c)
        return cls(entry.name, entry.type, entry.instruction, entry.prompt, c.get("method", "pt"),
                   entry.parameters, c.get("metrics") or {}, status["below"] if status else None)

    def info(self) -> dict:
        return {"name": self.name, "type": self.type, "method": self.method,
                "parameters": self.parameters if self.parameters is not None else self.prompt.numel(),
                "prompt_length": int(self.prompt.shape[0]), "input_fields": input_fields(self.type),
                "metrics": self.metrics, "below_baseline": self.below_baseline}


@dataclass
class Request:
    task: str
    input: dict
    id: str | None = None


class Engine:
    def __init__(self, backbone, tasks: list[TaskPrompt], config: EngineConfig | None = None):
        self.backbone, self.config = backbone, config or EngineConfig()
        self.tasks: dict[str, TaskPrompt] = {}
        self._data: dict[str, TaskData] = {}
        self.cache = PromptCache(backbone.model, {}, self.config.cache_capacity)
        self.window = sliding_window(backbone.model)  # None: no sliding-window layers
        self.generated_tokens = 0                     # tokens decoded so far, all requests (for /metrics)
        tok = backbone.tokenizer
        self.decoder = None if self.config.decode == "eager" else SlotDecoder(
            backbone.model, tok.eos_token_id, tok.pad_token_id, self.config.decode == "compiled", self.window)
        self.update_tasks(tasks)

    @classmethod
    def from_library(cls, library: str | Path | None = None, backbone=None, backbone_name: str | None = None,
                     dtype: str = "auto", config: EngineConfig | None = None, tasks: list[str] | None = None):
        """Load (and fully verify) a library's prompts, and its backbone unless one is given."""
        from clinical_mpt.backbone import load_backbone
        from clinical_mpt.library import Library, resolve_library

        lib = Library.open(resolve_library(library))
        if tasks is not None:
            unknown = [t for t in tasks if t not in lib.names()]
            if unknown:
                raise UnknownTaskError(f"no task {', '.join(map(repr, unknown))} in {lib.root}; "
                                       f"available: {', '.join(lib.names()) or '(none)'}")
        entries = lib.load_all(None, tasks)  # checksums and versions, before the (slow) backbone load
        backbone = backbone or load_backbone(backbone_name or lib.backbone_name, dtype, inference_only=True)
        lib.check_backbone(backbone.fingerprint)
        return cls(backbone, [TaskPrompt.from_entry(e) for e in entries.values()], config)

    def update_tasks(self, tasks: list[TaskPrompt]) -> dict[str, list[str]]:
        """Serve exactly `tasks` from now on -> {"added", "removed", "changed": [names]}.

        The cached prompt states of removed and changed tasks are dropped; unchanged tasks keep
        theirs. Call it between batches, never during `predict` (the server's batcher runs it on
        its model thread). Request handlers may read `self.tasks` meanwhile: it is replaced, not edited.
        """
        d = self.backbone.hidden_size
        for t in tasks:
            get_task_type(t.type)
            if t.prompt.ndim != 2 or t.prompt.shape[1] != d:
                raise ClinicalMPTError(f"task {t.name}: prompt shape {tuple(t.prompt.shape)} does not fit hidden size {d}")
        new, old = {t.name: t for t in tasks}, self.tasks
        changed = sorted(n for n in set(new) & set(old) if not same_prompt(old[n], new[n]))
        removed = sorted(set(old) - set(new))
        self.cache.set_prompts({t.name: t.prompt for t in tasks}, drop=removed + changed)
        self._data = {t.name: TaskData(t.name, t.type, t.instruction, []) for t in tasks}
        self.tasks = new
        return {"added": sorted(set(new) - set(old)), "removed": removed, "changed": changed}

    def task_info(self) -> list[dict]:
        tasks = self.tasks  # one snapshot: a library reload may replace the dict meanwhile
        return [tasks[name].info() for name in sorted(tasks)]

    def check(self, request: Request, where: str = "input") -> dict:
        """The request's validated input fields; UnknownTaskError / InputError otherwise."""
        task = self.tasks.get(request.task)
        if task is None:
            raise UnknownTaskError(f"unknown task {request.task!r}; available: {', '.join(sorted(self.tasks))}")
        return check_input(task.type, request.input, where)

    def budget(self, task: str) -> int:
        n = get_task_type(self.tasks[task].type).max_new_tokens
        return n if self.config.max_new_tokens is None else min(n, self.config.max_new_tokens)

    def cache_is_exact(self, tasks: list[str], inputs: list[list[int]]) -> bool:
        """Whether the cached layout gives this batch exactly the uncached result (see the module doc)."""
        if not self.window or len({len(x) for x in inputs}) == 1:
            return True
        return self.tasks[tasks[0]].prompt.shape[0] + max(len(x) for x in inputs) <= self.window

    def generate(self, tasks: list[str], inputs: list[list[int]]) -> list[list[int]]:
        """One batch: row i is task tasks[i] on input ids inputs[i] (equal prompt lengths)."""
        tok, batch = self.backbone.tokenizer, self.decode_batch(tasks, inputs)
        if self.decoder is not None:
            return self.decoder.decode(rows_of(batch), self.config.max_batch_size, refill=False)
        return greedy_generate(self.backbone.model, batch, tok.eos_token_id, tok.pad_token_id)

    def decode_batch(self, tasks: list[str], inputs: list[list[int]]) -> DecodeBatch:
        """The decoder's rows: task tasks[i] on input ids inputs[i] (equal prompt lengths)."""
        tok, budgets = self.backbone.tokenizer, [self.budget(t) for t in tasks]
        stops = [text_stop(tok, get_task_type(self.tasks[t].type).answer_complete) for t in tasks]  # as evaluation
        if self.config.prompt_cache and self.cache_is_exact(tasks, inputs):
            batch = DecodeBatch(inputs, budgets, prefixes=[self.cache.get(t) for t in tasks], stops=stops)
        else:
            batch = DecodeBatch(inputs, budgets, prompts=[self.tasks[t].prompt for t in tasks], stops=stops)
        return batch

    # -- continuous batching (decode = static | compiled) ------------------------------------------------
    def request_row(self, request: Request, key=None, where: str = "input") -> Row:
        """A validated, encoded request as one slot-decoder row, keyed (key, task, example)."""
        example = dict(self.check(request, where), id=request.id if request.id is not None else "0")
        ids = encode_input(self.backbone.tokenizer, self._data[request.task], example, self.config.max_input_tokens)
        row = rows_of(self.decode_batch([request.task], [ids]))[0]
        row.key = (key, request.task, example)
        return row

    def columns(self) -> int:
        """Cache columns of the serving slots: the longest prompt + input + answer (longer rows go eager)."""
        longest = max([int(t.prompt.shape[0]) for t in self.tasks.values()] or [0])
        budget = max([self.budget(t) for t in self.tasks] or [1])
        return bucket(longest + self.config.max_input_tokens + budget, self.decoder.column_step)

    def run_continuous(self, pull, done) -> None:
        """Decode requests as they come: `pull(k)` -> up to k `request_row`s (never blocking); `done(key,
        result dict)` as each row finishes. Returns once `pull` has none left and every row is done."""
        def finished(row: Row, tokens: list[int]) -> None:
            key, task, example = row.key
            self.generated_tokens += len(tokens)
            done(key, self.result(task, example, self.backbone.tokenizer.decode(tokens, skip_special_tokens=True)))

        slots = bucket(self.config.max_batch_size, self.config.max_batch_size)
        self.decoder.run(pull, finished, slots, self.columns(), refill=True)

    def result(self, name: str, example: dict, text: str) -> dict:
        """A request's structured prediction from its generated text."""
        task = self.tasks[name]
        pred = get_task_type(task.type).parse(text, example)
        return {"id": example["id"], "task": name, "type": task.type,
                **{k: v for k, v in pred.items() if k != "id"}, "generation": text}

    def batches(self, tasks: list[str], lengths: list[int]) -> list[list[int]]:
        """Row indices cut into batches: sorted by (prompt length, input length), one prompt length each."""
        plen = {t: self.tasks[t].prompt.shape[0] for t in set(tasks)}
        order = sorted(range(len(tasks)), key=lambda i: (plen[tasks[i]], lengths[i]))
        out: list[list[int]] = []
        for i in order:
            if out and len(out[-1]) < self.config.max_batch_size and plen[tasks[out[-1][0]]] == plen[tasks[i]]:
                out[-1].append(i)
            else:
                out.append([i])
        return out

    def predict(self, requests: list[Request], progress: bool = False) -> list[dict]:
        """Structured predictions, in request order. Every request is validated before any runs."""
        examples = [dict(self.check(r, f"request {i}"), id=r.id if r.id is not None else str(i))
                    for i, r in enumerate(requests)]
        tok, cap = self.backbone.tokenizer, self.config.max_input_tokens
        names = [r.task for r in requests]
        ids = [encode_input(tok, self._data[n], ex, cap) for n, ex in zip(names, examples)]
        texts: list[str] = [""] * len(requests)
        batches = self.batches(names, [len(x) for x in ids])
        if self.decoder is not None:  # continuous batching over all the requests, in the batches' order
            order = [i for rows in batches for i in rows]
            decoded = self.decoder.decode([r for rows in batches for r in rows_of(self.decode_batch(
                [names[i] for i in rows], [ids[i] for i in rows]))], self.config.max_batch_size, refill=True)
            batches, generated = [order], [decoded]
        else:
            generated = (self.generate([names[i] for i in rows], [ids[i] for i in rows]) for rows in
                         tqdm(batches, desc="predict", unit="batch", disable=not progress, leave=False))
        for rows, gens in zip(batches, generated):
            for i, gen in zip(rows, gens):
                texts[i] = tok.decode(gen, skip_special_tokens=True)
                self.generated_tokens += len(gen)
        return [self.result(name, ex, text) for name, ex, text in zip(names, examples, texts)]
