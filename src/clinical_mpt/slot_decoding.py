"""The fast decoder: a static KV cache of batch slots, a one-token step that can be compiled, and
continuous batching. `decoding.greedy_generate` stays the reference (and the fallback): on the same
rows this gives its tokens.

The cache holds S slots x C columns of K/V per layer (transformers `StaticLayer`, preallocated once per
(S, C) bucket and reused). Every step writes one column, the same for all slots, in place:

    slot 0:  [ prefix | pads | prompt | text | gen gen gen .. ]
    slot 1:        [ stale (masked) | prefix | text | gen .. ]        admitted later, right-aligned
    column:  0 ..                                         t  (the next step writes column t)
    mask:    (S, C), 1 where a slot's own states are; positions: one per slot, from its own prefill

A row is admitted into a free slot by an eager prefill (its `prefixes` states, prompt and text, as in
`decoding.prefill`), whose states are copied into the slot's columns ending at t; its first token comes
from that prefill's logits. Keys are stored after the rotary embedding, so a column is only a storage
place: what a row sees is given by the mask and its own positions. A row's states stay contiguous
in columns (a sliding window over columns is the window over its positions, as in the eager decoder).

Continuous batching: when a row finishes (EOS, budget or its stop), its slot is free at the next
step and takes the next waiting row, while the others keep decoding. When the columns run out, every
slot's states are shifted left by the earliest live row's start (one copy, rare).

The step (`model(input_ids (S, 1), mask (S, C), positions (S, 1))` -> next ids (S,)) has static shapes,
so `compiled=True` runs it through `torch.compile` (CPU: inductor with weight freezing; GPU:
mode="reduce-overhead", CUDA graphs): one compilation per (S, C) bucket. Prefill stays eager.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch

from clinical_mpt.decoding import DecodeBatch, PrefixStates, Stop, greedy_generate, prefill
from clinical_mpt.hf_compat import cache_kwarg, cache_layers, eager_generation, new_static_cache, returned_cache


def compile_step(step: Callable, on_gpu: bool) -> Callable:
    """torch.compile of the one-token step. GPU: CUDA graphs (mode="reduce-overhead"). CPU: inductor with
    `freezing`, which folds the frozen backbone's weights into the graph as constants and prepacks them
    for the CPU GEMM kernels (benchmarks/serving.py on the default backbone: speedup over eager 0.97
    without it, 1.08 with it; docs/performance.md). The packed copy costs the weights' bytes once more,
    and weights changed after the first call are not seen (the backbone is frozen while it serves)."""
    if on_gpu:
        return torch.compile(step, mode="reduce-overhead", dynamic=False)
    return torch.compile(step, dynamic=False, options={"freezing": True})


@dataclass
class Row:
    """One request to decode (one row of a `DecodeBatch`) and the caller's handle for it."""

    ids: list[int]
    budget: int
    prompt: torch.Tensor | None = None       # (L, d) soft prompt through inputs_embeds
    prefix: PrefixStates | None = None       # per-layer (K, V), each (1, kv_heads, P, head_dim)
    stop: Stop | None = None
    key: object = None                       # returned with the row's tokens

    @property
    def width(self) -> int:
        """Columns the row's prefill takes: P + L + T."""
        P = 0 if self.prefix is None else int(self.prefix[0][0].shape[2])
        L = 0 if self.prompt is None else int(self.prompt.shape[0])
        return P + L + len(self.ids)


def rows_of(batch: DecodeBatch) -> list[Row]:
    """A DecodeBatch as rows (key = the row index)."""
    return [Row(batch.inputs[i], batch.budgets[i],
                None if batch.prompts is None else batch.prompts[i],
                None if batch.prefixes is None else batch.prefixes[i],
                None if batch.stops is None else batch.stops[i], i) for i in range(len(batch.inputs))]


def bucket(n: int, step: int) -> int:
    """n rounded up to a power of two below `step`, else to a multiple of `step` (few distinct shapes)."""
    if n <= step:
        return 1 << max(0, n - 1).bit_length()
    return -(-n // step) * step


class SlotCache:
    """S slots x C columns of K/V per layer, their mask (S, C), and the shared write column."""

    def __init__(self, slots: int, columns: int, like: PrefixStates):
        self.slots, self.columns = slots, columns
        self.cache = new_static_cache(len(like), columns)
        for layer, (k, v) in zip(self.cache.layers, like):                  # like: (B, kv_heads, *, head_dim)
            layer.lazy_initialization(k.new_zeros(slots, k.shape[1], 1, k.shape[3]),
                                      v.new_zeros(slots, v.shape[1], 1, v.shape[3]))
        self.mask = torch.zeros(slots, columns, dtype=torch.long, device=like[0][0].device)
        self.column = 0
        self.shifts = 0  # times the columns ran out and the slots moved left

    def set_column(self, column: int) -> None:
        """The column the next step writes (every layer's StaticLayer write position)."""
        for layer in self.cache.layers:
            layer.cumulative_length.fill_(column)
        self.column = column

    def place(self, slots: list[int], states: PrefixStates, mask: torch.Tensor) -> None:
        """Copy k rows' prefill states (k, kv_heads, W, head_dim) per layer into `slots`, columns
        [column - W, column); their mask (k, W) likewise, every other column of theirs masked."""
        W = mask.shape[1]
        start, idx = self.column - W, torch.tensor(slots, device=self.mask.device)
        for layer, (k, v) in zip(self.cache.layers, states):
            layer.keys[idx, :, start:self.column] = k.to(layer.keys.dtype)
            layer.values[idx, :, start:self.column] = v.to(layer.values.dtype)
        self.mask[idx] = 0
        self.mask[idx, start:self.column] = mask.to(self.mask.dtype)

    def shift(self, by: int) -> None:
        """Move every slot's columns [by, column) to [0, column - by) (keys carry their own positions)."""
        if by <= 0:
            return
        n = self.column - by
        for layer in self.cache.layers:
            layer.keys[:, :, :n] = layer.keys[:, :, by:self.column].clone()
            layer.values[:, :, :n] = layer.values[:, :, by:self.column].clone()
        self.mask[:, :n] = self.mask[:, by:self.column].clone()
        self.mask[:, n:] = 0
        self.set_column(n)
        self.shifts += 1


@dataclass
class _Live:
    """A row in a slot: its tokens so far, the token to feed next, its start column and next position."""

    row: Row
    start: int
    position: int
    token: int
    generated: list[int] = field(default_factory=list)


class SlotDecoder:
    """Greedy decoding of rows over reusable static caches, one per (slots, columns) bucket.

    `decode(rows)` -> their tokens (static batching when `refill` is off: rows beyond the slots wait for
    the whole batch); `run(pull, done)` continuous batching: free slots take `pull(k)`'s rows at every
    step, `done(row, tokens)` is called as each row finishes."""

    def __init__(self, model, eos_id: int, pad_id: int, compiled: bool = False, window: int | None = None,
                 column_step: int = 256):
        self.model, self.eos_id, self.pad_id, self.compiled = model, eos_id, pad_id, compiled
        self.window, self.column_step = window, column_step
        self._caches: dict[tuple[int, int], SlotCache] = {}
        self._steps: dict[tuple[int, int], Callable] = {}
        self.steps = 0  # decode steps run (all runs)

    # -- the step ------------------------------------------------------------------------------------
    def _step_fn(self, slots: SlotCache) -> Callable:
        key = (slots.slots, slots.columns)
        if key not in self._steps:
            model, cache, kwarg = self.model, slots.cache, cache_kwarg(self.model)

            def step(ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
                out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                            **{kwarg: cache})                                      # ids, positions (S, 1)
                return out.logits[:, -1].argmax(-1)                                 # (S,)

            if self.compiled:
                step = compile_step(step, on_gpu=slots.mask.device.type == "cuda")
            self._steps[key] = step
        return self._steps[key]

    def _cache(self, slots: int, columns: int, like: PrefixStates) -> SlotCache:
        key = (slots, columns)
        if key not in self._caches:
            self._caches[key] = SlotCache(slots, columns, like)
        return self._caches[key]

    # -- admission -----------------------------------------------------------------------------------
    def _groups(self, rows: list[Row]) -> list[list[Row]]:
        """Rows prefilled together: one prefix and prompt length (and, with a window, one text length:
        no pads between a prefix and its text)."""
        groups: dict[tuple, list[Row]] = {}
        for r in rows:
            P = 0 if r.prefix is None else int(r.prefix[0][0].shape[2])
            L = 0 if r.prompt is None else int(r.prompt.shape[0])
            groups.setdefault((P, L, len(r.ids) if self.window else 0, r.prefix is None), []).append(r)
        return list(groups.values())

    @torch.no_grad()
    def _prefill(self, rows: list[Row]):
        """-> (per-layer states (k, kv_heads, W, head_dim), mask (k, W), next positions (k,), first ids (k,))."""
        batch = DecodeBatch([r.ids for r in rows], [r.budget for r in rows],
                            None if rows[0].prompt is None else [r.prompt for r in rows],
                            None if rows[0].prefix is None else [r.prefix for r in rows])
        with eager_generation():
            state = prefill(self.model, batch)
        states = cache_layers(returned_cache(state.out))
        first = state.out.logits[:, -1].argmax(-1)
        return states, state.mask, state.position_ids[:, -1] + 1, first

    def _room(self, slots: SlotCache, live: dict[int, _Live], rows: list[Row]) -> int | None:
        """The column new `rows` end at (all of them fitting, with every live row's remaining budget),
        shifting the slots left when that makes room; None: they do not fit now."""
        if not live:
            slots.set_column(0)
            target = max(r.width for r in rows)
        else:
            target = max([slots.column] + [r.width for r in rows])
            if target > slots.column and self.window:  # a jump would put a gap inside live rows' windows
                return None
        need = max([r.budget for r in rows] + [x.row.budget - len(x.generated) for x in live.values()])
        if target + need > slots.columns and live:
            by = min(x.start for x in live.values())
            slots.shift(by)
            for x in live.values():
                x.start -= by
            target = max([slots.column] + [r.width for r in rows])
            if target > slots.column and self.window:
                return None
        return target if target + need <= slots.columns else None

    def _admit(self, slots: SlotCache, live: dict[int, _Live], rows: list[Row]) -> list[Row]:
        """Put as many of `rows` as fit into free slots (in order) -> the rows left waiting."""
        free = [s for s in range(slots.slots) if s not in live]
        take = rows[:len(free)]
        while take and self._room(slots, live, take) is None:
            take = take[:-1]
        if not take:
            return rows
        target = self._room(slots, live, take)
        if target > slots.column:  # no live row sees the skipped columns: none, or no window (masked gap)
            slots.mask[:, slots.column:target] = 0
            slots.set_column(target)
        for group in self._groups(take):
            states, mask, positions, first = self._prefill(group)
            mine = free[:len(group)]
            free = free[len(group):]
            slots.place(mine, states, mask)
            for s, r, pos, tok in zip(mine, group, positions.tolist(), first.tolist()):
                live[s] = _Live(r, target - mask.shape[1], pos, tok)
        return rows[len(take):]

    # -- the loop ------------------------------------------------------------------------------------
    def _consume(self, live: dict[int, _Live], done: Callable[[Row, list[int]], None]) -> None:
        """Apply each live row's pending token: EOS (left out), its budget or its stop finish the row."""
        for s in list(live):
            x = live[s]
            finished = x.row.budget <= 0 or x.token == self.eos_id
            if not finished:
                x.generated.append(x.token)
                finished = len(x.generated) >= x.row.budget or (x.row.stop is not None and x.row.stop(x.generated))
            if finished:
                del live[s]
                done(x.row, x.generated)

    @torch.no_grad()
    def run(self, pull: Callable[[int], list[Row]], done: Callable[[Row, list[int]], None], slots: int,
            columns: int, refill: bool = True) -> None:
        """Decode until `pull` has no more rows and every admitted row is done. `pull(k)` returns up to k
        rows (never blocking); with `refill` off it is asked only while no row is live (static batching).
        A row longer than `columns` (prefill + budget) is generated alone by the eager decoder."""
        live: dict[int, _Live] = {}
        waiting: list[Row] = []
        cache: SlotCache | None = None
        while True:
            if refill or not live:
                if len(live) + len(waiting) < slots:
                    waiting += pull(slots - len(live) - len(waiting))
                for r in [r for r in waiting if r.width + r.budget > columns]:
                    done(r, self._alone(r))
                waiting = [r for r in waiting if r.width + r.budget <= columns]
                if waiting:
                    cache = cache or self._cache(slots, columns, self._like(waiting[0]))
                    waiting = self._admit(cache, live, waiting)  # with no live row, all that fit the slots
            if not live and not waiting:
                return
            self._consume(live, done)
            if live:
                self._decode_step(cache, live)

    def _decode_step(self, cache: SlotCache, live: dict[int, _Live]) -> None:
        """Feed every live row's token at the write column; -> each row's next token."""
        S, device = cache.slots, cache.mask.device
        ids = torch.full((S, 1), self.pad_id, dtype=torch.long)
        positions = torch.zeros(S, 1, dtype=torch.long)
        for s, x in live.items():
            ids[s, 0], positions[s, 0] = x.token, x.position
        cache.mask[:, cache.column] = 1                                   # every slot sees its own column
        step = self._step_fn(cache)
        if self.compiled:
            nxt = step(ids.to(device), cache.mask, positions.to(device))
        else:
            with eager_generation():
                nxt = step(ids.to(device), cache.mask, positions.to(device))
        cache.column += 1                                                 # the layers advanced their own
        tokens = nxt.tolist()                                             # one device sync per step
        for s, x in live.items():
            x.token, x.position = tokens[s], x.position + 1
        self.steps += 1

    def _like(self, row: Row) -> PrefixStates:
        """Per-layer (K, V) of the backbone's layout (for the cache's shapes and dtype)."""
        if row.prefix is not None:
            return row.prefix
        states, _, _, _ = self._prefill([Row(row.ids[:1], 1)])
        return states

    def _alone(self, row: Row) -> list[int]:
        batch = DecodeBatch([row.ids], [row.budget], None if row.prompt is None else [row.prompt],
                            None if row.prefix is None else [row.prefix], [row.stop])
        return greedy_generate(self.model, batch, self.eos_id, self.pad_id)[0]

    # -- one batch -------------------------------------------------------------------------------------
    def decode(self, rows: Sequence[Row], max_slots: int = 16, refill: bool = True) -> list[list[int]]:
        """Every row's tokens, in order (what `greedy_generate` gives each)."""
        if not rows:
            return []
        queue = [replace(r, key=i) for i, r in enumerate(rows)]   # keys: the rows' places in `out`
        out: list[list[int]] = [[] for _ in queue]
        slots = bucket(min(max_slots, len(queue)), max_slots)
        # room for the widest prefill and the longest budget together: a full batch goes in as one prefill
        columns = bucket(max(r.width for r in queue) + max(r.budget for r in queue), self.column_step)

        def pull(k: int) -> list[Row]:
            taken = queue[:k]
            del queue[:k]
            return taken

        def done(row: Row, tokens: list[int]) -> None:
            out[row.key] = tokens

        self.run(pull, done, slots, columns, refill)
        return out


def fast_generate(decoder: SlotDecoder, batch: DecodeBatch, max_slots: int = 16) -> list[list[int]]:
    """`greedy_generate`'s result through the static cache (one batch, static batching)."""
    return decoder.decode(rows_of(batch), max_slots=max(max_slots, len(batch.inputs)), refill=False)
