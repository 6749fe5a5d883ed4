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


def paired_medians(fn_a, fn_b, repeats: int, warmup: int = 1) -> tuple[float, float, float]:
    """Time fn_a and fn_b alternately (a, b, a, b, ...): (median seconds of a, of b, median of the
    per-pair ratios a/b). Pairs taken back to back see the same machine load, so the ratio is steadier
    on a noisy machine than the ratio of two medians taken one after the other."""
    for _ in range(warmup):
        fn_a(), fn_b()
    a, b = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, a), (fn_b, b)):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(a), statistics.median(b), statistics.median(x / y for x, y in zip(a, b))


def emit(result: dict) -> None:
    print(json.dumps(result, indent=2))


def machine() -> dict:
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
