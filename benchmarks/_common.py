"""Shared helpers of the benchmarks: a synthetic batch, a timer that reports medians, JSON output."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--backbone", default="default", help="default | tiny-random-llama | a local path")
    p.add_argument("--dtype", default="auto", help="auto (bf16 on CPUs with avx512_bf16) | bfloat16 | float32")
    p.add_argument("--attention", default="auto", help="auto (eager on CPU, sdpa on GPU) | eager | sdpa")
    p.add_argument("--repeats", type=int, default=5, help="timed iterations (median reported)")
    p.add_argument("--warmup", type=int, default=2)
    return p


def make_batch(vocab: int, batch: int, length: int, answer: int = 16, seed: int = 0) -> dict:
    """Random token ids (B, T); the last `answer` tokens of each row are the target."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(10, min(vocab, 20000), (batch, length), generator=g)
    labels = torch.full_like(ids, -100)
    labels[:, -answer:] = ids[:, -answer:]
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def median_seconds(fn, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def interleaved_seconds(fns: dict, repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time the functions in rounds (a, b, c, a, b, c, ...): {name: seconds per round}. Runs of one
    round are back to back and see the same machine load, so ratios taken within rounds
    (`median_ratio`) are steadier on a noisy machine than ratios of medians taken one after another."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def median_ratio(a: list[float], b: list[float]) -> float:
    """The median over rounds of a's time / b's time."""
    return statistics.median(x / y for x, y in zip(a, b))


def paired_medians(fn_a, fn_b, repeats: int, warmup: int = 1) -> tuple[float, float, float]:
    """fn_a and fn_b timed alternately: (median seconds of a, of b, median of the per-round ratios a/b)."""
    t = interleaved_seconds({"a": fn_a, "b": fn_b}, repeats, warmup)
    return statistics.median(t["a"]), statistics.median(t["b"]), median_ratio(t["a"], t["b"])


def emit(result: dict) -> None:
    print(json.dumps(result, indent=2))


def machine() -> dict:
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
