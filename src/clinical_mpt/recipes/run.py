"""All stages of a config, in order: teach -> distill -> adapt -> evaluate -> results.json.
With `adapt.meta_prompt` set (an existing distilled P*), teach and distill are skipped.

teach and distill run once per meta-prompt depth some configured method starts from (methods/table.py
`meta_prompt`): input (OUT/teachers, OUT/distill) for the MPT rows, deep (OUT/teachers-deep,
OUT/distill-deep) for the deep-mpt rows; adapt (OUT/adapt/) runs when evaluation uses what it trains
(protocol.runs_adapt_stage: its method, mpt or, under adapt.train_meta_prompt, mpt-full-prompt, is
configured in its setting); the other MPT prompts are trained by evaluate.

A stage that already finished with the same config is skipped (its `stage.json` records a hash of
the config sections it depends on). `--force` re-runs teach, distill and adapt and re-scores every
evaluation; the target prompts evaluate trains itself (baselines, and MPT prompts the adapt stage does
not train) are reloaded when their key matches: delete OUT/targets/<method> or OUT/adapt/<variant> to
retrain them.

    clinical-mpt run CONFIG [KEY=VALUE ...] [--out DIR] [--force]
"""

from __future__ import annotations

import time

from clinical_mpt import meta_source
from clinical_mpt.recipes import common


def configure(parser) -> None:
    common.configure(parser)


def main(args) -> int:
    if (code := common.launch_or_plan(args)) is not None:
        return code
    from clinical_mpt.methods.table import meta_prompt_depths
    from clinical_mpt.protocol import runs_adapt_stage
    from clinical_mpt.recipes.adapt import run_adapt
    from clinical_mpt.recipes.distill import run_distill
    from clinical_mpt.recipes.evaluate import run_evaluate
    from clinical_mpt.recipes.teach import run_teach

    started = time.time()
    cfg, out = common.setup(args)
    if meta_source.given(cfg):  # a clear error before the backbone loads
        meta = meta_source.read_meta_config(cfg.adapt.meta_prompt)
        print(f"meta-prompt {cfg.adapt.meta_prompt}: distilled from {len(meta.get('tasks', []))} source tasks, "
              f"L = {meta.get('prompt_length')}, {meta_source.identity(cfg.adapt.meta_prompt)[:19]}", flush=True)
    common.seed_everything(cfg.seed)
    backbone = common.load_backbone_for(cfg)
    for depth in meta_prompt_depths(cfg.methods):
        if depth == "input" and meta_source.given(cfg):  # P* was distilled elsewhere (e.g. the library's shipped one)
            print(f"teach, distill: skipped; starting from the meta-prompt in {cfg.adapt.meta_prompt} "
                  "(adapt.meta_prompt)", flush=True)
            continue
        run_teach(cfg, backbone, out, args.force, args.resume, depth)
        run_distill(cfg, backbone, out, args.force, args.resume, depth)
    if runs_adapt_stage(cfg):  # its method is configured (the other MPT rows train in evaluate)
        run_adapt(cfg, backbone, out, args.force, args.resume)
    run_evaluate(cfg, backbone, out, args.force, started, args.resume)
    print(f"\nwrote {out / 'results.json'} in {time.time() - started:.0f}s")
    return 0
