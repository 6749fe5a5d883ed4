"""Multi-task inference: one frozen backbone, one soft prompt per task, mixed-task batches.

    engine = Engine.from_library("libraries/default")              # or Engine(backbone, task_prompts)
    engine.predict([Request("med_ner", {"text": "..."}), Request("mednli", {"premise": ..., "hypothesis": ...})])
    -> [{"id": "0", "task": "med_ner", "type": "ner", "entities": [...], "generation": "..."}, ...]

Requests of any tasks are sorted by (prompt length, input length) and cut into batches of at most
`max_batch_size` rows; each row gets its own prompt. With `prompt_cache` on (the default) a task's
prompt is run through the model once and its K/V states are reused (see prompt_cache.py); off, the
prompt is re-encoded with every batch, as peft does. Both give the same generations.

Deep tasks (library entries of depth "deep": `prefix`, `deep-mpt`) hold per-layer keys and values
already: their states are `prompt_states(prefix)`, put straight into the batch cache with no prompt
prefill at all (cached per task like the others). A batch of one prompt length mixes deep and
input-level tasks freely in the cached layout, where every row is a prefix; with the prompt cache off
a deep task still enters as a prefix and an input-level one through `inputs_embeds`, so batches are
cut by (prompt length, layout).

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
from clinical_mpt.prompts.deep_prompt import kv_geometry
from clinical_mpt.ranking import can_rank, rank_examples
from clinical_mpt.serve.inputs import check_input, input_fields
from clinical_mpt.serve.prompt_cache import PromptCache, task_states
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


def prompt_problem(task: TaskPrompt, hidden_size: int, geometry: tuple[int, int, int]) -> str | None:
    """Why `task`'s prompt cannot run on a backbone of this hidden size and (layers, kv_heads, head_dim)."""
    p = task.prompt
    if task.deep:
        layers, kv_heads, head_dim = geometry
        if p.shape[:3] != (layers, 2, kv_heads) or p.shape[4] != head_dim:
            return (f"prefix shape {tuple(p.shape)} does not fit the backbone's (layers, 2, kv_heads, L, head_dim) "
                    f"= ({layers}, 2, {kv_heads}, L, {head_dim})")
        return None
    if p.ndim != 2 or p.shape[1] != hidden_size:
        return f"prompt shape {tuple(p.shape)} does not fit hidden size {hidden_size}"
    return None


DECODE_MODES = ("eager", "static", "compiled")


@dataclass
class EngineConfig:
    max_batch_size: int = 16          # rows per forward pass
    max_input_tokens: int = 320       # longer inputs keep their head (instruction) and tail (answer cue)
    max_new_tokens: int | None = None  # cap on every task type's own generation budget (None = no cap)
    cache_capacity: int = 64          # prompt K/V states kept resident at most (LRU)
    prompt_cache: bool = True         # reuse prompt K/V states (False: re-encode the prompt every batch)
    decode: str = "eager"             # eager | static | compiled (static KV cache + continuous batching)
    classification: str = "generate"  # nli / mcqa: generate the answer, or "rank" the labels / options as
    #                                   evaluation scores them with eval.classification: rank (`serve` and
    #                                   `predict` default to rank, like evaluation)

    def __post_init__(self):
        if self.decode not in DECODE_MODES:
            raise ClinicalMPTError(f"engine: decode={self.decode!r}; use one of {', '.join(DECODE_MODES)}")
        if self.max_batch_size < 1 or self.max_input_tokens < 8 or self.cache_capacity < 1:
            raise ClinicalMPTError("engine: max_batch_size and cache_capacity must be >= 1, max_input_tokens >= 8")
        if self.classification not in ("rank", "generate"):
            raise ClinicalMPTError(f"engine: classification must be rank or generate, got {self.classification!r}")


@dataclass
class TaskPrompt:
    """A servable task: its name, type, instruction and composed prompt (L, d) fp32, or a deep task's
    key/value prefix (layers, 2, kv_heads, L, head_dim) fp32."""

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

    @property
    def deep(self) -> bool:
        """A per-layer key/value prefix (no prompt prefill) rather than an input-level prompt."""
        return self.prompt.ndim == 5

    @property
    def length(self) -> int:
        """L: the virtual positions the prompt (or prefix) takes ahead of the text."""
        return int(self.prompt.shape[3] if self.deep else self.prompt.shape[0])

    def info(self) -> dict:
        return {"name": self.name, "type": self.type, "method": self.method,
                "parameters": self.parameters if self.parameters is not None else self.prompt.numel(),
                "prompt_length": self.length, "depth": "deep" if self.deep else "input",
                "input_fields": input_fields(self.type), "metrics": self.metrics,
                "below_baseline": self.below_baseline}


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
        for entry in entries.values():  # a deep entry's prefix must fit the backbone's attention layers
            lib.check_geometry(entry, kv_geometry(backbone.model.config))
        return cls(backbone, [TaskPrompt.from_entry(e) for e in entries.values()], config)

    def update_tasks(self, tasks: list[TaskPrompt]) -> dict[str, list[str]]:
        """Serve exactly `tasks` from now on -> {"added", "removed", "changed": [names]}.

        The cached prompt states of removed and changed tasks are dropped; unchanged tasks keep
        theirs. Call it between batches, never during `predict` (the server's batcher runs it on
        its model thread). Request handlers may read `self.tasks` meanwhile: it is replaced, not edited.
        """
        d, geometry = self.backbone.hidden_size, kv_geometry(self.backbone.model.config)
        for t in tasks:
            get_task_type(t.type)
            if problem := prompt_problem(t, d, geometry):
                raise ClinicalMPTError(f"task {t.name}: {problem}")
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
        return self.tasks[tasks[0]].length + max(len(x) for x in inputs) <= self.window

    def layouts(self, tasks: list[str], inputs: list[list[int]]) -> list[str]:
        """Per row, how its task enters; rows of one layout decode together. "prefix": its K/V states go
        straight into the batch cache; "embeds": its prompt enters through inputs_embeds. A deep task is
        always a prefix (it has no other form and needs no prefill); an input-level one is a prefix when
        the prompt cache is on and the cached layout is exact for this batch. Where it is not (a sliding
        window, unequal input lengths) a deep row decodes only with rows of its own input length
        ("prefix n=<tokens>"), which puts no pads between its prefix and its text."""
        exact = self.cache_is_exact(tasks, inputs)
        cached = self.config.prompt_cache and exact
        return [("prefix" if exact else f"prefix n={len(x)}") if self.tasks[t].deep else
                ("prefix" if cached else "embeds") for t, x in zip(tasks, inputs)]

    def prefix_states(self, task: str):
        """A task's per-layer (K, V) for the batch cache: from the LRU prompt cache (an input-level prompt
        run once, a deep prefix as is), or with the cache off, a deep prefix converted for this batch."""
        if self.config.prompt_cache:
            return self.cache.get(task)
        return task_states(self.backbone.model, self.tasks[task].prompt)

    def decode_batch(self, tasks: list[str], inputs: list[list[int]], layout: str) -> DecodeBatch:
        """The DecodeBatch of rows that share one layout (see `layouts`)."""
        tok, budgets = self.backbone.tokenizer, [self.budget(t) for t in tasks]
        stops = [text_stop(tok, get_task_type(self.tasks[t].type).answer_complete) for t in tasks]  # as evaluation
        if layout.startswith("prefix"):
            return DecodeBatch(inputs, budgets, prefixes=[self.prefix_states(t) for t in tasks], stops=stops)
        return DecodeBatch(inputs, budgets, prompts=[self.tasks[t].prompt for t in tasks], stops=stops)

    def layout_groups(self, tasks: list[str], inputs: list[list[int]]) -> list[tuple[list[int], DecodeBatch]]:
        """The rows of one batch split by layout: [(row indices, their DecodeBatch)]."""
        layouts = self.layouts(tasks, inputs)
        groups = []
        for layout in sorted(set(layouts)):
            rows = [i for i, lay in enumerate(layouts) if lay == layout]
            groups.append((rows, self.decode_batch([tasks[i] for i in rows], [inputs[i] for i in rows], layout)))
        return groups

    def generate(self, tasks: list[str], inputs: list[list[int]]) -> list[list[int]]:
        """One batch: row i is task tasks[i] on input ids inputs[i] (equal prompt lengths). Rows of
        different layouts (`layouts`: e.g. deep and input-level rows of an uncached batch) decode as
        separate batches; with a slot decoder (decode = static | compiled), through its static cache."""
        tok = self.backbone.tokenizer
        out: list[list[int]] = [[] for _ in tasks]
        for rows, batch in self.layout_groups(tasks, inputs):
            if self.decoder is not None:
                gens = self.decoder.decode(rows_of(batch), self.config.max_batch_size, refill=False)
            else:
                gens = greedy_generate(self.backbone.model, batch, tok.eos_token_id, tok.pad_token_id)
            for i, gen in zip(rows, gens):
                out[i] = gen
        return out

    def batch_key(self, task: str) -> tuple[int, bool]:
        """Rows batch together when they share a prompt length and, with the prompt cache off, depth
        (cached, every row is a prefix, so deep and input-level tasks mix)."""
        t = self.tasks[task]
        return t.length, t.deep and not self.config.prompt_cache

    # -- continuous batching (decode = static | compiled) ------------------------------------------------
    def request_row(self, request: Request, key=None, where: str = "input") -> Row:
        """A validated, encoded request as one slot-decoder row, keyed (key, task, example)."""
        example = dict(self.check(request, where), id=request.id if request.id is not None else "0")
        ids = encode_input(self.backbone.tokenizer, self._data[request.task], example, self.config.max_input_tokens)
        (_, batch), = self.layout_groups([request.task], [ids])
        row = rows_of(batch)[0]
        row.key = (key, request.task, example)
        return row

    def columns(self) -> int:
        """Cache columns of the serving slots: the longest prompt + input + answer (longer rows go eager)."""
        longest = max([t.length for t in self.tasks.values()] or [0])
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
        pred = get_task_type(self.tasks[name].type).parse(text, example)
        return self.record(name, example["id"], {**pred, "generation": text})

    def record(self, name: str, example_id: str, pred: dict) -> dict:
        """The answer to one request: its id, task and type, then the prediction's fields."""
        return {"id": example_id, "task": name, "type": self.tasks[name].type,
                **{k: v for k, v in pred.items() if k != "id"}}

    def batches(self, tasks: list[str], lengths: list[int]) -> list[list[int]]:
        """Row indices cut into batches: sorted by (batch key, input length), one batch key each."""
        key = {t: self.batch_key(t) for t in set(tasks)}
        order = sorted(range(len(tasks)), key=lambda i: (key[tasks[i]], lengths[i]))
        out: list[list[int]] = []
        for i in order:
            if out and len(out[-1]) < self.config.max_batch_size and key[tasks[out[-1][0]]] == key[tasks[i]]:
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
        ranked = self.rank(names, ids, examples)                       # {request index: prediction}
        gen = [i for i in range(len(requests)) if i not in ranked]
        texts: dict[int, str] = {}
        batches = [[gen[j] for j in rows] for rows in self.batches([names[i] for i in gen], [len(ids[i]) for i in gen])]
        if self.decoder is not None:  # continuous batching over all the requests, in the batches' order
            order, rows_in = [], []
            for rows in batches:
                for group, batch in self.layout_groups([names[i] for i in rows], [ids[i] for i in rows]):
                    order += [rows[j] for j in group]
                    rows_in += rows_of(batch)
            batches, generated = [order], [self.decoder.decode(rows_in, self.config.max_batch_size, refill=True)]
        else:
            generated = (self.generate([names[i] for i in rows], [ids[i] for i in rows]) for rows in
                         tqdm(batches, desc="predict", unit="batch", disable=not progress, leave=False))
        for rows, gens in zip(batches, generated):
            for i, out in zip(rows, gens):
                texts[i] = tok.decode(out, skip_special_tokens=True)
                self.generated_tokens += len(out)
        return [ranked[i] if i in ranked else self.result(name, ex, texts[i])
                for i, (name, ex) in enumerate(zip(names, examples))]

    def ranks(self, task: str) -> bool:
        """Whether requests of `task` are answered by ranking (classification: rank, an NLI / MCQA task)."""
        return self.config.classification == "rank" and can_rank(self.tasks[task].type)

    def rank(self, names: list[str], ids: list[list[int]], examples: list[dict]) -> dict[int, dict]:
        """NLI / MCQA requests answered by ranking their labels / options (classification: rank), per task:
        {request index: prediction with `generation` = the chosen continuation and `option_logprobs`}."""
        out: dict[int, dict] = {}
        for name in sorted(set(names)):
            task = self.tasks[name]
            if not self.ranks(name):
                continue
            idx = [i for i, n in enumerate(names) if n == name]
            prompt, prefix = (None, task.prompt) if task.deep else (task.prompt, None)
            preds = rank_examples(self.backbone.model, self.backbone.tokenizer, get_task_type(task.type), prompt,
                                  [ids[i] for i in idx], [examples[i] for i in idx], self.config.max_batch_size,
                                  prefix)
            out.update({i: self.record(name, examples[i]["id"], p) for i, p in zip(idx, preds)})
        return out
