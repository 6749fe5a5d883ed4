"""Stage 3: adapt the meta-prompt to each unseen target task by training only u, v (optionally P*).

u, v start from the mean of the source tasks' factors (or one named source task); P* is kept frozen
unless `adapt.train_meta_prompt: true` (method mpt-full-prompt instead of mpt). `adapt.shots: k`
trains on k seeded examples per task; `adapt.shots: 0` is zero-shot (no training: the initial prompt
is evaluated as is). Each task goes through `fit_or_load`, the path `evaluate` takes too, so a prompt
made here is the one evaluated.

    clinical-mpt adapt CONFIG [--out DIR]   ->   DIR/adapt/<variant>/<task>/{config.json, prompt.safetensors}
"""

from __future__ import annotations

import time
from pathlib import Path

from clinical_mpt import distributed
from clinical_mpt.protocol import adapt_method, adapt_setting, artifact_dir
from clinical_mpt.recipes import common


def configure(parser) -> None:
    common.configure(parser)


def run_adapt(cfg, backbone, out: Path, force: bool = False, resume: bool = False) -> Path:
    # deferred: these import torch, which `clinical-mpt adapt --help` and --dry-run do not need
    from clinical_mpt.data.suite import load_suite, select_tasks
    from clinical_mpt.recipes.fit import fit_or_load, method_context

    method = adapt_method(cfg.adapt.train_meta_prompt)
    setting = adapt_setting(cfg)  # as `evaluate` seeds it
    folder = artifact_dir(out, method, setting)
    if force and folder.exists() and distributed.is_main():
        for cfg_file in folder.glob("*/config.json"):
            cfg_file.unlink()
    distributed.barrier()
    ctx = method_context(cfg, backbone, out, resume=resume, depths=("input",))  # the input-level P* (OUT/distill)
    specs = select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "target", cfg.data.target_tasks)
    start = time.time()
    for i, spec in enumerate(specs):
        fit_or_load(ctx, method, spec, setting, setting.seed + i)
    if distributed.is_main():
        print(f"adapt: {len(specs)} target prompts in {folder} ({time.time() - start:.0f}s)", flush=True)
    return folder


def main(args) -> int:
    return common.stage_main(args, run_adapt)
