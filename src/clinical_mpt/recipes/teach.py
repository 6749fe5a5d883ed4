"""Stage 1: one soft prompt (teacher) per source task, LM loss on the answer tokens only.

    clinical-mpt teach CONFIG [--out DIR]   ->   DIR/teachers/<task>/{config.json, prompt.safetensors}
"""

from __future__ import annotations

import time
from pathlib import Path

from clinical_mpt.protocol import stage_key
from clinical_mpt.recipes import common


def configure(parser) -> None:
    common.configure(parser)


def train_teacher(backbone, task, cfg, seed: int, log_path: Path, checkpoint_dir: Path | None = None,
                  resume: bool = False, dev=None):
    """Train one SoftPrompt on `task` (encoded TaskData), early-stopped on `dev` (encoded TaskData)
    when `teach.eval_every` is set; -> (prompt, training summary).

    Every teacher starts from the same prompt (drawn with `cfg.seed`), so that their mean, which
    initialises P* in distillation, averages prompts that moved from one point; `seed` orders the data.
    """
    from clinical_mpt.methods.base import fit_supervised
    from clinical_mpt.prompts import new_soft_prompt
    from clinical_mpt.training import summary

    prompt = new_soft_prompt(backbone, cfg.prompt, cfg.seed)
    rows = fit_supervised(backbone.model, prompt, [prompt.weight], task, cfg.teach, seed,
                          backbone.tokenizer.pad_token_id, f"teach {task.name}", log_path, checkpoint_dir, resume,
                          dev=dev)
    return prompt, summary(rows)


def encoded_split(cfg, tokenizer, spec: dict, split: str):
    """One split of a suite task, read (capped as `data` says) and encoded."""
    from clinical_mpt.batching import encode_task
    from clinical_mpt.data.suite import load_split

    limit = cfg.data.max_train_examples if split == "train" else cfg.data.max_eval_examples
    return encode_task(tokenizer, load_split(cfg.data.suite, spec, split, limit), cfg.data.max_input_tokens,
                       cfg.data.max_target_tokens)


def run_teach(cfg, backbone, out: Path, force: bool = False, resume: bool = False) -> Path:
    from clinical_mpt import distributed
    from clinical_mpt.artifacts import save_artifact
    from clinical_mpt.data.suite import load_suite, select_tasks

    folder = out / "teachers"
    key = stage_key(cfg, ("backbone", "data", "prompt", "teach"))
    if not force and common.stage_done(folder, key):
        print(f"teach: already done in {folder} (use --force to re-run)")
        return folder
    suite = load_suite(cfg.data.suite, cfg.data.synth_seed)
    specs = select_tasks(suite, "source", cfg.data.source_tasks)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "log.jsonl"
    start = time.time()
    for i, spec in enumerate(specs):
        if not force and common.artifact_key(folder / spec["name"]) == key:
            continue  # this teacher finished earlier (e.g. before an interruption)
        task = encoded_split(cfg, backbone.tokenizer, spec, "train")
        dev = encoded_split(cfg, backbone.tokenizer, spec, "dev") if cfg.teach.eval_every else None
        prompt, trained = train_teacher(backbone, task, cfg, cfg.seed + i, log_path,
                                        out / "checkpoints" / "teach" / spec["name"], resume, dev)
        if distributed.is_main():
            save_artifact(folder / spec["name"], {"prompt": prompt.weight},
                          {"kind": "teacher", "method": "pt", "task": spec["name"], "type": spec["type"],
                           "instruction": spec.get("instruction"), "prompt_length": cfg.prompt.length,
                           "train_examples": len(task.examples), "steps": cfg.teach.steps, "training": trained,
                           "key": key},
                          backbone.fingerprint)
        distributed.barrier()  # every rank sees the same finished teachers
    if distributed.is_main():
        common.mark_done(folder, key, time.time() - start, tasks=[s["name"] for s in specs])
    distributed.barrier()
    return folder


def main(args) -> int:
    return common.stage_main(args, run_teach)
