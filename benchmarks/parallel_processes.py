"""How many training processes one device serves at once: the figure that sizes `--jobs` of
scripts/parallel_study.py.

For each count P in --processes, P worker processes each load the backbone, build one prompt-tuning step
(8 rows, prompt length 100, 128 input tokens of which the last 16 are the answer) on the same device,
warm up, wait at a common start line, and time --repeats steps together. Prints one JSON object: per P
the aggregate steps/s (P x repeats over the slowest worker's time) and each worker's seconds per step,
and the speedup of every P over P = 1, measured in the same run. On a GPU a 135M-parameter step is bound
by kernel launches, so several processes fill it; on a CPU the processes share its cores (one thread each).

    python benchmarks/parallel_processes.py [--backbone default] [--processes 1,2,4,8] [--repeats 20]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import emit, machine, make_batch, parser


def worker(args) -> None:
    """One process: load, warm up, say ready, wait for the start line, time the steps, print seconds."""
    import torch

    from clinical_mpt.backbone import load_backbone
    from clinical_mpt.losses import lm_loss
    from clinical_mpt.modeling import answer_hidden_and_logits
    from clinical_mpt.prompts import SoftPrompt, init_prompt

    bb = load_backbone(args.backbone, args.dtype, args.attention)
    model = bb.model
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in make_batch(bb.fingerprint.vocab_size, args.batch, args.input_length).items()}
    prompt = SoftPrompt(init_prompt(model.get_input_embeddings().weight, args.prompt_length, "vocab")).to(device)
    one_task = torch.zeros(args.batch, dtype=torch.long, device=device)
    optim = torch.optim.AdamW(prompt.parameters(), lr=0.3)

    def step() -> None:
        _, logits, targets = answer_hidden_and_logits(model, prompt, one_task, batch)
        lm_loss(logits, targets).backward()
        optim.step()
        optim.zero_grad(set_to_none=True)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(args.warmup):
        step()
    sync()
    line = Path(args.worker)
    (line / f"ready-{os.getpid()}").touch()
    while not (line / "go").exists():
        time.sleep(0.005)
    start = time.perf_counter()
    for _ in range(args.repeats):
        step()
    sync()
    print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)


def measure(args, count: int) -> dict:
    """P workers side by side: aggregate steps/s and each one's seconds per step."""
    with tempfile.TemporaryDirectory() as line:
        cmd = [sys.executable, __file__, "--worker", line, "--backbone", args.backbone, "--dtype", args.dtype,
               "--attention", args.attention, "--repeats", str(args.repeats), "--warmup", str(args.warmup),
               "--batch", str(args.batch), "--prompt-length", str(args.prompt_length),
               "--input-length", str(args.input_length)]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(count)]
        while len(list(Path(line).glob("ready-*"))) < count:
            if any(p.poll() not in (None, 0) for p in procs):
                raise SystemExit("a worker failed:\n" + next(p for p in procs if p.poll()).stderr.read()[-2000:])
            time.sleep(0.05)
        (Path(line) / "go").touch()
        seconds = []
        for p in procs:
            out, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"a worker failed:\n{err[-2000:]}")
            seconds.append(json.loads(out.strip().splitlines()[-1])["seconds"])
    return {"steps_per_s": count * args.repeats / max(seconds),
            "seconds_per_step": [s / args.repeats for s in seconds]}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--processes", default="1,2", help="comma-separated process counts, e.g. 1,2,4,8,12")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--prompt-length", type=int, default=100)
    p.add_argument("--input-length", type=int, default=128)
    p.add_argument("--worker", help=argparse_hidden())
    args = p.parse_args()
    if args.worker:
        return worker(args)
    counts = [int(c) for c in args.processes.split(",")]
    figures = {str(c): measure(args, c) for c in counts}
    base = figures[str(counts[0])]["steps_per_s"]
    best = max(figures, key=lambda c: figures[c]["steps_per_s"])
    emit({"machine": machine(), "backbone": args.backbone, "repeats": args.repeats,
          "batch": {"rows": args.batch, "prompt_tokens": args.prompt_length, "input_tokens": args.input_length},
          "processes": figures, "speedup": {c: f["steps_per_s"] / base for c, f in figures.items()},
          "most_steps_per_s_at": int(best)})


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
