"""A tiny run folder holding deep target prompts, made by the real fit path (recipes/fit.fit_or_load):

    RUN/config.yaml                              the resolved config (first line: the command)
    RUN/targets/prefix/full/<task>/              `prefix` trained 2 steps on tiny-random-llama
    RUN/distill-deep/                            a deep meta-prompt (layers, L, D) made from the text init
    RUN/targets/deep-mpt/full/<task>/            `deep-mpt` u, v trained 2 steps from it
    RUN/targets/deep-mpt-full-prompt/full/<task>/  `deep-mpt-full-prompt`: u, v and its own P*
    RUN/eval/prefix/full/dose_qa/metrics.json    one recorded score (to check metrics travel)

Used by tests/library (library add --from-run --method prefix|deep-mpt), tests/serve and tests/console.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["dose_qa", "drug_mcqa"]
PREFIX_LENGTH = 8  # configs/tiny.yaml's prompt.length: the input-level entries of the tiny library share it


def deep_meta(backbone, cfg, sources: list[str], rank: int = 1) -> dict:
    """A deep meta-prompt as distillation leaves it: P* (layers, L, D) from the init text, u, v per source."""
    from clinical_mpt.prompts.deep_prompt import init_prefix, to_rows

    shared = to_rows(init_prefix(backbone.model, backbone.tokenizer, cfg.prompt.init_text, cfg.prompt.length))
    layers, length, dim = shared.shape
    g = torch.Generator().manual_seed(0)
    u = 1 + 0.1 * torch.randn(len(sources), layers, length, rank, generator=g)
    v = 1 + 0.1 * torch.randn(len(sources), layers, rank, dim, generator=g)
    return {"shared": shared, "u": u / rank, "v": v}


def build_deep_run(suite: Path, run: Path, backbone) -> Path:
    """The run folder above (reused when present)."""
    if (run / "config.yaml").is_file():
        return run
    from clinical_mpt.artifacts import save_artifact
    from clinical_mpt.config import dump_config, load_config
    from clinical_mpt.data.suite import load_suite, select_tasks
    from clinical_mpt.protocol import Setting
    from clinical_mpt.recipes.fit import fit_or_load, method_context

    cfg = load_config(ROOT / "configs" / "tiny.yaml", [
        f"data.suite={suite}", "data.source_tasks=[med_ner,problem_nli]", f"data.target_tasks=[{','.join(TARGETS)}]",
        "methods=[prefix,deep-mpt,deep-mpt-full-prompt]", "baselines.prefix.steps=2", "adapt.deep.steps=2", "adapt.deep.batch_size=4",
        "baselines.prefix.batch_size=4"])
    run.mkdir(parents=True, exist_ok=True)
    sources = ["med_ner", "problem_nli"]
    meta = deep_meta(backbone, cfg, sources)
    save_artifact(run / "distill-deep", meta, {"kind": "meta", "tasks": sources, "depth": "deep"}, backbone.fingerprint)
    ctx = method_context(cfg, backbone, run, need_meta=True)
    specs = select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "target", cfg.data.target_tasks)
    for method in ("prefix", "deep-mpt", "deep-mpt-full-prompt"):
        for i, spec in enumerate(specs):
            fit_or_load(ctx, method, spec, Setting(None, 0), i)
    scores = run / "eval" / "prefix" / "full" / "dose_qa" / "metrics.json"
    scores.parent.mkdir(parents=True, exist_ok=True)
    scores.write_text(json.dumps({"metrics": {"f1": 0.25, "n": 6}}))
    (run / "config.yaml").write_text(f"# clinical-mpt run configs/tiny.yaml --out {run}\n" + dump_config(cfg))
    return run
