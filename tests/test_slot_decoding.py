"""The static-cache decoder (slot_decoding.py) gives the eager decoder's tokens: static batching on the
same batch, continuous batching per request as if served alone; on tiny random Llama, Qwen2 (sliding
window) and gpt-oss (MoE, attention sinks, sliding window) models with large weights (sharp logits)."""

from __future__ import annotations

import pytest
import torch

from clinical_mpt.decoding import DecodeBatch, compute_prompt_states, greedy_generate
from clinical_mpt.slot_decoding import Row, SlotDecoder, bucket, fast_generate, rows_of

EOS, PAD = 2, 0
INPUTS = [[5, 6, 7, 8], [9, 10], [11, 12, 13, 14, 15, 16, 17, 18, 19, 21], [20], [30, 31, 32]]
BUDGETS = [12, 5, 20, 9, 16]


def _model(arch: str):
    from transformers import (
        GptOssConfig,
        GptOssForCausalLM,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    common = dict(vocab_size=259, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, pad_token_id=PAD, bos_token_id=1, eos_token_id=EOS, initializer_range=0.3)
    if arch == "llama":
        cls, config = LlamaForCausalLM, LlamaConfig(intermediate_size=128, tie_word_embeddings=True, **common)
    elif arch == "qwen2":  # every layer within a window of 8, shorter than prefix + text + answer
        cls, config = Qwen2ForCausalLM, Qwen2Config(intermediate_size=128, use_sliding_window=True, sliding_window=8,
                                                    max_window_layers=0, tie_word_embeddings=True, **common)
    else:
        cls, config = GptOssForCausalLM, GptOssConfig(
            intermediate_size=64, head_dim=16, num_local_experts=4, num_experts_per_tok=2, sliding_window=8,
            layer_types=["sliding_attention", "full_attention"], tie_word_embeddings=False, **common)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = cls(config)
    return model.requires_grad_(False).eval()


def _window(model) -> int | None:
    from clinical_mpt.serve.engine import sliding_window

    return sliding_window(model)


@pytest.fixture(scope="module", params=["llama", "qwen2", "gpt_oss"])
def model(request):
    return _model(request.param)


def _prefix(model, length: int = 3, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return compute_prompt_states(model, torch.randn(length, 64, generator=g) * 0.3)


def _alone(model, row: Row) -> list[int]:
    batch = DecodeBatch([row.ids], [row.budget], None if row.prompt is None else [row.prompt],
                        None if row.prefix is None else [row.prefix], [row.stop])
    return greedy_generate(model, batch, EOS, PAD)[0]


def test_the_sharp_models_generate_distinct_long_answers(model):
    """Exactness below means something only if rows differ and run past a few tokens."""
    out = greedy_generate(model, DecodeBatch(INPUTS, BUDGETS), EOS, PAD)
    assert len({tuple(x) for x in out}) == len(INPUTS)
    assert sum(len(x) for x in out) > 30


@pytest.mark.parametrize("layout", ["plain", "prompts", "prefixes"])
def test_static_batching_gives_the_eager_tokens(model, layout):
    prompts = prefixes = None
    if layout == "prompts":
        prompts = [torch.randn(4, 64, generator=torch.Generator().manual_seed(i)) * 0.3 for i in range(len(INPUTS))]
    if layout == "prefixes":
        prefixes = [_prefix(model, seed=i % 2) for i in range(len(INPUTS))]
    batch = DecodeBatch(INPUTS, BUDGETS, prompts, prefixes)
    fast = fast_generate(SlotDecoder(model, EOS, PAD, window=_window(model)), batch)
    if layout == "prefixes" and _window(model):  # the eager batch has pads inside the window: compare alone
        assert fast == [_alone(model, r) for r in rows_of(batch)]
    else:
        assert fast == greedy_generate(model, batch, EOS, PAD)


def test_stops_and_zero_budgets_end_rows_as_in_the_eager_decoder(model):
    stops = [lambda ids: len(ids) >= 3, None, lambda ids: 100 in ids or len(ids) >= 7, None, None]
    batch = DecodeBatch(INPUTS, [12, 0, 20, 9, 1], stops=stops)
    assert fast_generate(SlotDecoder(model, EOS, PAD, window=_window(model)), batch) == \
        greedy_generate(model, batch, EOS, PAD)


@pytest.mark.parametrize("slots", [1, 2, 3])
def test_continuous_batching_gives_every_request_its_tokens_alone(model, slots):
    """More requests than slots, mixed prefix lengths and layouts, columns so few that the slots shift."""
    rows = []
    for i, (ids, budget) in enumerate(zip(INPUTS * 2, BUDGETS * 2)):
        prefix = _prefix(model, length=2 + i % 3, seed=i) if i % 3 else None
        prompt = torch.randn(3, 64, generator=torch.Generator().manual_seed(i)) * 0.3 if i % 3 == 0 and i % 2 else None
        rows.append(Row(ids, budget, prompt, prefix, None, i))
    decoder = SlotDecoder(model, EOS, PAD, window=_window(model), column_step=8)
    assert decoder.decode(rows, max_slots=slots, refill=True) == [_alone(model, r) for r in rows]


def test_rows_join_while_others_decode_and_the_slots_shift():
    """Continuous batching really refills: fewer steps than static batching; shifting happened."""
    model = _model("llama")
    rows = [Row(ids, b) for ids, b in zip(INPUTS * 3, [1, 30, 2, 3, 30] * 3)]
    continuous, static = SlotDecoder(model, EOS, PAD, column_step=8), SlotDecoder(model, EOS, PAD, column_step=8)
    assert continuous.decode(rows, 2, refill=True) == static.decode(rows, 2, refill=False)
    assert continuous.steps < static.steps
    cache = next(iter(continuous._caches.values()))
    assert cache.shifts > 0 and cache.columns < sum(r.budget for r in rows)  # few columns, reused


def test_a_row_longer_than_the_columns_is_generated_alone_by_the_eager_decoder():
    model = _model("llama")
    rows = [Row(INPUTS[0], 4), Row(INPUTS[2], 40)]
    out = {}
    queue = list(rows)

    def pull(k):
        taken = queue[:k]
        del queue[:k]
        return taken

    SlotDecoder(model, EOS, PAD).run(pull, lambda r, t: out.setdefault(id(r), t), slots=2, columns=16)
    assert [out[id(r)] for r in rows] == [_alone(model, r) for r in rows]


def test_buckets_are_few():
    assert [bucket(n, 16) for n in (1, 2, 3, 5, 9, 16, 17, 40)] == [1, 2, 4, 8, 16, 16, 32, 48]


@pytest.mark.slow
def test_the_compiled_step_gives_the_eager_tokens():
    """torch.compile (CPU inductor) of the one-token step over the static cache: a tiny model, one bucket."""
    model = _model("llama")
    batch = DecodeBatch(INPUTS, BUDGETS, prefixes=[_prefix(model)] * len(INPUTS))
    decoder = SlotDecoder(model, EOS, PAD, compiled=True)
    assert fast_generate(decoder, batch) == greedy_generate(model, batch, EOS, PAD)
    assert fast_generate(decoder, batch) == greedy_generate(model, batch, EOS, PAD)  # the cached graph, reused


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["qwen2", "gpt_oss"])
def test_the_compiled_step_gives_the_eager_tokens_on_every_family(arch):
    model = _model(arch)
    rows = [Row(ids, b, None, _prefix(model, 2 + i % 2, i) if i % 2 else None, None, i)
            for i, (ids, b) in enumerate(zip(INPUTS, BUDGETS))]
    decoder = SlotDecoder(model, EOS, PAD, compiled=True, window=_window(model), column_step=16)
    assert decoder.decode(rows, max_slots=2, refill=True) == [_alone(model, r) for r in rows]
