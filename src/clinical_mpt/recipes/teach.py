"""Stage 1: one soft prompt (teacher) per source task, LM loss on the answer tokens only.

In the form of the meta-prompt a configured method starts from (methods/table.py `meta_prompt`):
input-level teachers (L, d) for the MPT methods, deep teachers (layers, 2, kv_heads, L, head_dim) for
deep-mpt, trained with `teach`'s settings at `deep.teach_lr` through the KV cache (deep_modeling.py).

    clinical-mpt teach CONFIG [--out DIR] [--depth input|deep] [--task NAME ...]
      ->   DIR/teachers/<task>/{config.json, prompt.safetensors}        (input, tensor "prompt")
      ->   DIR/teachers-deep/<task>/{config.json, prompt.safetensors}   (deep, tensor "prefix")
      ->   DIR/teachers[-deep]/gate.json   the teacher-quality gate's verdicts (`teach.gate`, both depths)

Each teacher is saved with the stage's config key as it finishes and is skipped by a later run with the
same key, so `--task` splits the teachers over processes (or machines sharing DIR): each trains only
the named ones; the stage is marked done (stage.json, gate.json) by whichever run finds every teacher
finished, e.g. a final `teach` or `run` without `--task`. Its `seconds` add up every teacher's own.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from clinical_mpt.errors import ConfigError
from clinical_mpt.protocol import meta_stage, teach_key, teachers_dir
from clinical_mpt.recipes import common

# per meta-prompt depth: a teacher's tensor name in its artifact, and the single-task method it is an instance of
TEACHER_TENSOR = {"input": "prompt", "deep": "prefix"}
TEACHER_METHOD = {"input": "pt", "deep": "prefix"}


def configure(parser) -> None:
    common.configure(parser)
    common.add_depth_argument(parser)
    parser.add_argument("--task", action="append", default=[], metavar="NAME",
                        help="train only this source task's teacher (repeatable); the stage is done once "
                             "every teacher is, so several processes can each train a share of them")


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


def train_deep_teacher(backbone, task, cfg, seed: int, log_path: Path, checkpoint_dir: Path | None = None,
                       resume: bool = False, dev=None):
    """`train_teacher` in deep form: one DeepPrompt on `task`, through the KV cache, with `teach`'s
    settings at `deep.teach_lr`; -> (prompt, training summary).

    Every deep teacher starts from the same prefix, the keys and values of `prompt.init_text` (never
    random), so that their mean, which initialises the deep P*, averages prefixes that moved from one point.
    """
    import dataclasses

    from clinical_mpt.deep_modeling import deep_answer_hidden_and_logits
    from clinical_mpt.methods.base import fit_supervised
    from clinical_mpt.prompts import new_deep_prompt
    from clinical_mpt.training import summary

    prompt = new_deep_prompt(backbone, cfg.prompt)
    train_cfg = dataclasses.replace(cfg.teach, lr=cfg.deep.teach_lr)
    rows = fit_supervised(backbone.model, prompt, [prompt.weight], task, train_cfg, seed,
                          backbone.tokenizer.pad_token_id, f"teach-deep {task.name}", log_path, checkpoint_dir,
                          resume, dev=dev, forward=deep_answer_hidden_and_logits)
    return prompt, summary(rows)


TRAIN_TEACHER = {"input": train_teacher, "deep": train_deep_teacher}


def fresh_teacher(backbone, cfg, depth: str):
    """The prompt every teacher of `depth` starts from (what `train_teacher` / `train_deep_teacher` draw)."""
    from clinical_mpt.prompts import new_deep_prompt, new_soft_prompt

    return new_soft_prompt(backbone, cfg.prompt, cfg.seed) if depth == "input" else new_deep_prompt(backbone, cfg.prompt)


def teacher_lr(cfg, depth: str) -> float:
    """The learning rate the teachers of `depth` train at: `teach.lr` (input) or `deep.teach_lr` (deep)."""
    return cfg.teach.lr if depth == "input" else cfg.deep.teach_lr


def with_teacher_lr(cfg, depth: str, lr: float):
    """`cfg` with the teachers of `depth` training at `lr` (the gate's `retrain` halves it)."""
    import dataclasses

    if depth == "input":
        return dataclasses.replace(cfg, teach=dataclasses.replace(cfg.teach, lr=lr))
    return dataclasses.replace(cfg, deep=dataclasses.replace(cfg.deep, teach_lr=lr))


def encoded_split(cfg, tokenizer, spec: dict, split: str):
    """One split of a suite task, read (capped as `data` says) and encoded."""
    from clinical_mpt.batching import encode_task
    from clinical_mpt.data.suite import load_split

    limit = cfg.data.max_train_examples if split == "train" else cfg.data.max_eval_examples
    return encode_task(tokenizer, load_split(cfg.data.suite, spec, split, limit), cfg.data.max_input_tokens,
                       cfg.data.max_target_tokens)


def gate_splits(cfg, tokenizer, spec: dict, dev=None) -> dict:
    """What the teacher-quality gate reads: the whole train split (the majority answer), the dev split
    encoded (losses; capped like every evaluation split: `dev` when the caller already encoded it) and,
    when the task has one, the test split."""
    from clinical_mpt.data.suite import load_split

    dev = dev if dev is not None else encoded_split(cfg, tokenizer, spec, "dev")
    splits = {"train": load_split(cfg.data.suite, spec, "train"), "dev": dev}
    if (Path(cfg.data.suite) / spec.get("role", "source") / spec["name"] / "test.jsonl").is_file():
        splits["test"] = load_split(cfg.data.suite, spec, "test", cfg.data.max_eval_examples)
    return splits


def prompt_dev_loss(backbone, prompt, dev, cfg, depth: str = "input") -> float:
    """The LM loss per answer token of `prompt` (a SoftPrompt, or a DeepPrompt for depth "deep") on
    `dev` (encoded TaskData)."""
    import torch

    from clinical_mpt.deep_modeling import deep_answer_hidden_and_logits
    from clinical_mpt.methods.base import answer_hidden_and_logits, dev_loss_fn

    forward = answer_hidden_and_logits if depth == "input" else deep_answer_hidden_and_logits
    with torch.no_grad():
        return dev_loss_fn(backbone.model, prompt, dev, backbone.tokenizer.pad_token_id, cfg.eval.batch_size,
                           forward=forward)()


def gate_score(backbone, prompt, split, cfg, depth: str) -> dict:
    """The task type's metrics of a teacher on `split` (TaskData), predicted as evaluation predicts:
    an input-level prompt through `inputs_embeds`, a deep one as the prefix in the cache."""
    from clinical_mpt import teacher_gate

    if depth == "input":
        return teacher_gate.score_split(backbone, prompt.weight, split, cfg)
    return teacher_gate.score_split(backbone, None, split, cfg, prefix=prompt.weight)


def teach_and_gate(backbone, spec: dict, task, cfg, seed: int, log_path: Path, checkpoint_dir: Path | None,
                   resume: bool, dev, depth: str = "input"):
    """Train one teacher of `depth` and, unless `teach.gate` is off, put it through the teacher-quality
    gate (teacher_gate.py); -> (prompt, training summary, entries for its config.json: metrics, majority,
    dev_loss, gate). Under `retrain` a failing teacher is trained once more at half its rate (`teach.lr`,
    or `deep.teach_lr` for a deep teacher)."""
    from clinical_mpt import teacher_gate

    train, mode, lr = TRAIN_TEACHER[depth], cfg.teach.gate, teacher_lr(cfg, depth)
    if mode == "off":
        prompt, trained = train(backbone, task, cfg, seed, log_path, checkpoint_dir, resume, dev)
        return prompt, trained, {}
    splits = gate_splits(cfg, backbone.tokenizer, spec, dev)
    initial = prompt_dev_loss(backbone, fresh_teacher(backbone, cfg, depth), splits["dev"], cfg, depth)
    baseline = {split: teacher_gate.majority_row(splits["train"], splits[split]) for split in ("dev", "test")
                if split in splits}
    metric = baseline["dev"]["metric"]
    attempts = 2 if mode == "retrain" else 1
    for attempt in range(1, attempts + 1):
        run_lr = lr / 2 ** (attempt - 1)
        where = checkpoint_dir if attempt == 1 or checkpoint_dir is None else checkpoint_dir / f"retry{attempt}"
        try:
            prompt, trained = train(backbone, task, with_teacher_lr(cfg, depth, run_lr), seed, log_path, where,
                                    resume, dev)
        except FloatingPointError as e:  # the training loss became non-finite: keep the initial prompt
            prompt, trained = fresh_teacher(backbone, cfg, depth), {"error": str(e)}
            final, dev_metrics, verdict = math.nan, {}, teacher_gate.failed_training(str(e))
        else:
            final = prompt_dev_loss(backbone, prompt, splits["dev"], cfg, depth)
            dev_metrics = gate_score(backbone, prompt, splits["dev"], cfg, depth)
            verdict = teacher_gate.verdict(metric, dev_metrics[metric], baseline["dev"]["score"],
                                           teacher_gate.divergence(initial, final))
        if verdict["passed"]:
            break
        if attempt < attempts:
            print(f"teach gate: {spec['name']} failed ({verdict['why']}); retraining at lr "
                  f"{lr / 2 ** attempt:g}", flush=True)
    metrics = {"dev": dev_metrics} if dev_metrics else {}
    if dev_metrics and "test" in splits:  # scored once, for the kept prompt; never part of the verdict
        metrics["test"] = gate_score(backbone, prompt, splits["test"], cfg, depth)
    gate = {**verdict, "mode": mode, "attempts": attempt, "lr": run_lr}
    if not verdict["passed"]:
        fate = "excluded from distillation" if mode in teacher_gate.EXCLUDING else "still used (teach.gate: warn)"
        print(f"teach gate: {spec['name']} FAILED: {verdict['why']}; {fate}", flush=True)
    return prompt, trained, {"metrics": metrics, "majority": baseline,
                             "dev_loss": {"initial": finite(initial), "final": finite(final)}, "gate": gate}


def finite(loss: float) -> float | None:
    """A loss for config.json: rounded, or None when it is not finite (JSON has no NaN)."""
    return round(loss, 6) if math.isfinite(loss) else None


def write_gate_summary(folder: Path, mode: str, names: list[str]) -> list[dict]:
    """DIR/teachers[-deep]/gate.json: every teacher with its dev score, baseline and verdict; a warning when
    an excluding gate leaves no teacher for distillation."""
    from clinical_mpt import teacher_gate
    from clinical_mpt.data.jsonl import write_json

    rows = teacher_gate.summary_rows(folder, names)
    write_json(folder / "gate.json", {"mode": mode, "teachers": rows})
    if mode in teacher_gate.EXCLUDING and rows and not any(r["passed"] is not False for r in rows):  # None: no verdict, used
        print(f"teach gate: no teacher passed (see {folder / 'gate.json'}); distillation will stop. Train longer, "
              "or set teach.gate=warn to distil from every teacher anyway", flush=True)
    return rows


def run_teach(cfg, backbone, out: Path, force: bool = False, resume: bool = False, depth: str = "input",
              tasks: list[str] | None = None) -> Path:
    """Train the teachers of one meta-prompt `depth` ("input": OUT/teachers, "deep": OUT/teachers-deep);
    with `tasks`, only those (the stage is marked done when every source task's teacher is finished)."""
    from clinical_mpt import distributed
    from clinical_mpt.artifacts import save_artifact
    from clinical_mpt.data.suite import load_suite, select_tasks

    folder = teachers_dir(out, depth)
    key = teach_key(cfg, depth)
    if not force and common.stage_done(folder, key):
        print(f"teach: already done in {folder} (use --force to re-run)")
        return folder
    suite = load_suite(cfg.data.suite, cfg.data.synth_seed)
    specs = select_tasks(suite, "source", cfg.data.source_tasks)
    names = [s["name"] for s in specs]
    if unknown := sorted(set(tasks or []) - set(names)):
        raise ConfigError(f"teach --task {', '.join(unknown)}: not a source task of this run "
                          f"({', '.join(names)})")
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "log.jsonl"
    for i, spec in enumerate(specs):
        if tasks and spec["name"] not in tasks:
            continue  # another process trains it
        if not force and common.artifact_key(folder / spec["name"]) == key:
            continue  # this teacher finished earlier (e.g. before an interruption, or in another process)
        start = time.time()
        task = encoded_split(cfg, backbone.tokenizer, spec, "train")
        dev = encoded_split(cfg, backbone.tokenizer, spec, "dev") if cfg.teach.eval_every else None
        where = out / "checkpoints" / meta_stage("teach", depth) / spec["name"]
        prompt, trained, gated = teach_and_gate(backbone, spec, task, cfg, cfg.seed + i, log_path, where, resume,
                                                dev, depth)
        if distributed.is_main():
            save_artifact(folder / spec["name"], {TEACHER_TENSOR[depth]: prompt.weight},
                          {"kind": "teacher", "method": TEACHER_METHOD[depth], "depth": depth,
                           "task": spec["name"], "type": spec["type"],
                           "instruction": spec.get("instruction"), "prompt_length": cfg.prompt.length,
                           "train_examples": len(task.examples), "steps": cfg.teach.steps, "training": trained,
                           **gated, "seconds": round(time.time() - start, 1), "key": key},
                          backbone.fingerprint)
        distributed.barrier()  # every rank sees the same finished teachers
    waiting = [n for n in names if common.artifact_key(folder / n) != key]
    if waiting:  # a --task share: the others are someone else's
        print(f"teach: {len(names) - len(waiting)} of {len(names)} teachers finished in {folder}; "
              f"waiting for {', '.join(waiting)}", flush=True)
        return folder
    if distributed.is_main():
        if cfg.teach.gate != "off":
            write_gate_summary(folder, cfg.teach.gate, names)
        common.mark_done(folder, key, sum(teacher_seconds(folder / n) for n in names), tasks=names)
    distributed.barrier()
    return folder


def teacher_seconds(folder: Path) -> float:
    """The time one teacher's training and gate took (recorded in its config.json; 0 for one that predates it)."""
    return float(common.artifact_config(folder).get("seconds", 0))


def main(args) -> int:
    def run_depths(cfg, backbone, out, force, resume):  # --depth, else the forms the config's methods need
        for depth in common.stage_depths(args, cfg):
            run_teach(cfg, backbone, out, force, resume, depth, args.task)

    return common.stage_main(args, run_depths)
