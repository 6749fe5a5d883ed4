"""Stage 2: distil the teachers into one shared meta-prompt P* and per-task rank-r factors (u_k, v_k).

    student prompt_k = P* o (u_k v_k^T)
    loss = LM loss + lambda * ( KL_T(teacher || student) + MSE(hidden_teacher, hidden_student) )

on a mixture of all source tasks (each row of a batch picks its task). Teacher outputs are computed
once (teacher_cache.py), kept in memory or, with `distill.teacher_cache: disk`, in safetensors files
under DIR/distill/teacher_cache/ read per batch. P* starts at the mean of the teacher prompts, u and v
at ones. Under a multi-process launch each rank runs its slice of every global batch (distributed.py).

Deep form (`--depth deep`, or a configured deep-mpt method): the deep teachers of DIR/teachers-deep
distil into DeepMPTPrompt (per layer prefix_l = P*_l o (u_l v_l^T), P* = the teachers' mean), every
forward through the KV cache (deep_modeling.deep_answer_hidden_and_logits), with the same losses, task
batches and early stopping, `distill`'s settings at `deep.distill_lr`, saved in DIR/distill-deep.

    clinical-mpt distill CONFIG [--out DIR] [--depth input|deep]
      ->   DIR/distill/{config.json, prompt.safetensors}        (input: shared (L, d), u, v)
      ->   DIR/distill-deep/{config.json, prompt.safetensors}   (deep: shared (layers, L, D), u, v)
"""

from __future__ import annotations

import time
from pathlib import Path

from clinical_mpt.protocol import distill_dir, distill_key, meta_stage, teach_key, teachers_dir
from clinical_mpt.recipes import common


def configure(parser) -> None:
    common.configure(parser)
    common.add_depth_argument(parser)


def forward_of(depth: str):
    """The forward pass of prompts of this depth: (model, prompt_fn, task_ids, batch) -> (hidden, logits, targets)."""
    if depth == "deep":
        from clinical_mpt.deep_modeling import deep_answer_hidden_and_logits

        return deep_answer_hidden_and_logits
    from clinical_mpt.modeling import answer_hidden_and_logits

    return answer_hidden_and_logits


def new_student(teachers: list, cfg, depth: str, generator):
    """The student: P* at the teachers' mean, u and v at ones (+ `distill.uv_init_std` noise), one pair per task.
    input: MPTPrompt over (L, d) teachers; deep: DeepMPTPrompt over (layers, 2, kv, L, hd) teachers."""
    import torch

    from clinical_mpt.prompts import DeepMPTPrompt, MPTPrompt

    stacked = torch.stack(teachers)
    if depth == "deep":
        return DeepMPTPrompt.from_teachers(stacked, cfg.prompt.rank, cfg.distill.uv_init_std, generator)
    return MPTPrompt(stacked.mean(0), len(teachers), cfg.prompt.rank, cfg.distill.uv_init_std, generator)


def distill_train_config(cfg, depth: str):
    """distill.train, at `deep.distill_lr` for the deep form."""
    import dataclasses

    train = cfg.distill.train
    return dataclasses.replace(train, lr=cfg.deep.distill_lr) if depth == "deep" else train


def distill_loss(backbone, mpt, batch, refs, task_ids, cache, dcfg, share: float = 1.0, forward=None):
    """-> (total loss, components) for one mixed-task batch; both scaled by this rank's `share` of the
    global batch (distributed.token_share; 1 in one process). `forward`: forward_of(depth) (default input)."""
    from clinical_mpt.losses import hidden_mse, kl_topk, lm_loss
    from clinical_mpt.teacher_cache import gather

    forward = forward or forward_of("input")
    hidden, logits, targets = forward(backbone.model, mpt, task_ids, batch)
    lm = lm_loss(logits, targets)
    parts = {"lm": lm.detach()}
    total = lm
    if dcfg.use_kl or dcfg.use_mse:
        teacher = gather(cache, refs, logits.device)
        if dcfg.use_kl:
            parts["kl"] = kl_topk(teacher.logp, teacher.ids, logits, dcfg.temperature)
            total = total + dcfg.lambda_ * parts["kl"]
        if dcfg.use_mse:
            parts["mse"] = hidden_mse(hidden, teacher.hidden)
            total = total + dcfg.lambda_ * parts["mse"]
    return total * share, {k: v.detach() * share for k, v in parts.items()}


def teacher_outputs(cfg, backbone, out: Path, teachers: list, tasks: list, depth: str = "input") -> list:
    """Per task, its examples' teacher outputs: in memory, or files under DIR/distill[-deep]/teacher_cache/
    (each rank computes every W-th task's file, reused while the teachers and T, k are unchanged)."""
    from clinical_mpt import distributed, sharding
    from clinical_mpt.teacher_cache import DiskTeacherOutputs, compute_teacher_outputs, save_teacher_outputs

    dcfg, pad = cfg.distill, backbone.tokenizer.pad_token_id
    if not (dcfg.use_kl or dcfg.use_mse):
        return []
    if dcfg.teacher_cache == "memory":
        return [compute_teacher_outputs(backbone.model, p, t.encoded, pad, dcfg.temperature, dcfg.teacher_topk,
                                        desc=t.name, forward=forward_of(depth)) for p, t in zip(teachers, tasks)]
    key = teach_key(cfg, depth) + f"-{dcfg.temperature}-{dcfg.teacher_topk}"
    paths = [distill_dir(out, depth) / "teacher_cache" / f"{t.name}.safetensors" for t in tasks]
    todo = [k for k in range(len(tasks)) if DiskTeacherOutputs.key_of(paths[k]) != key]
    distributed.barrier()  # every rank decided on the same files
    sharded = sharding.sharded(backbone.model)  # then every rank runs every forward; rank 0 writes
    for k in todo if sharded else todo[distributed.rank()::distributed.world_size()]:
        outputs = compute_teacher_outputs(backbone.model, teachers[k], tasks[k].encoded, pad, dcfg.temperature,
                                          dcfg.teacher_topk, desc=tasks[k].name, forward=forward_of(depth))
        if not sharded or distributed.is_main():
            save_teacher_outputs(paths[k], outputs, key)
    distributed.barrier()
    return [DiskTeacherOutputs(p) for p in paths]


def source_dev_loss(cfg, backbone, mpt, specs: list, forward=None):
    """-> the early-stopping signal of distillation: the student's LM loss on the first
    `distill.dev_examples` dev examples of every source task, averaged over the tasks.
    `forward`: forward_of(depth) (default input)."""
    import dataclasses

    from clinical_mpt.methods.base import dev_loss_fn
    from clinical_mpt.recipes.teach import encoded_split

    forward = forward or forward_of("input")
    small = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, max_eval_examples=cfg.distill.dev_examples))
    losses = [dev_loss_fn(backbone.model, lambda ids, k=k: mpt(ids + k), encoded_split(small, backbone.tokenizer, s, "dev"),
                          backbone.tokenizer.pad_token_id, cfg.eval.batch_size, forward)
              for k, s in enumerate(specs)]
    return lambda: sum(f() for f in losses) / len(losses)


def gated_sources(cfg, out: Path, specs: list[dict], depth: str = "input") -> tuple[list[dict], list[dict]]:
    """(the source tasks whose teachers of `depth` distillation uses, [{"task", "why"}] of the teachers
    the teacher-quality gate excluded: teach.gate exclude | retrain, teacher_gate.py). Stops with an
    error naming the fix when the gate excluded every teacher."""
    from clinical_mpt.errors import ConfigError
    from clinical_mpt.teacher_gate import used_teachers

    folder = teachers_dir(out, depth)
    used, excluded = used_teachers(cfg.teach.gate, folder, specs)
    if excluded:
        print("distill: the teacher gate excluded " + ", ".join(f"{e['task']} ({e['why']})" for e in excluded),
              flush=True)
    if not used:
        raise ConfigError(f"teach.gate={cfg.teach.gate}: no teacher passed the teacher-quality gate (see "
                          f"{folder / 'gate.json'}); train the teachers longer (teach.steps, "
                          f"{'teach.lr' if depth == 'input' else 'deep.teach_lr'}) "
                          "or set teach.gate=warn to distil from every teacher anyway")
    return used, excluded


def run_distill(cfg, backbone, out: Path, force: bool = False, resume: bool = False, depth: str = "input") -> Path:
    """Distil the teachers of one meta-prompt `depth` ("input": OUT/teachers -> OUT/distill,
    "deep": OUT/teachers-deep -> OUT/distill-deep)."""
    import torch

    from clinical_mpt import distributed, training
    from clinical_mpt.artifacts import load_artifact, save_artifact
    from clinical_mpt.batching import MixtureSampler, collate, encode_task, mixture_probs
    from clinical_mpt.data.suite import load_split, load_suite, select_tasks
    from clinical_mpt.errors import ConfigError
    from clinical_mpt.methods.base import answer_tokens, text_tokens
    from clinical_mpt.recipes.teach import TEACHER_TENSOR
    from clinical_mpt.teacher_cache import kept_mass

    folder, stage = distill_dir(out, depth), meta_stage("distill", depth)
    key = distill_key(cfg, depth)
    if not force and common.stage_done(folder, key):
        print(f"{stage}: already done in {folder} (use --force to re-run)")
        return folder
    dcfg, train_cfg, forward = cfg.distill, distill_train_config(cfg, depth), forward_of(depth)
    if dcfg.train.batch_size < distributed.world_size():
        raise ConfigError(f"distill.train.batch_size ({dcfg.train.batch_size}) is smaller than the number of "
                          f"processes ({distributed.world_size()}); raise it or launch fewer processes")
    specs = select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "source", cfg.data.source_tasks)
    specs, excluded = gated_sources(cfg, out, specs, depth)
    teachers = [load_artifact(teachers_dir(out, depth) / s["name"], backbone.fingerprint)[0][TEACHER_TENSOR[depth]]
                for s in specs]
    tasks = [encode_task(backbone.tokenizer, load_split(cfg.data.suite, s, "train", cfg.data.max_train_examples),
                         cfg.data.max_input_tokens, cfg.data.max_target_tokens) for s in specs]
    pad = backbone.tokenizer.pad_token_id
    start = time.time()
    cache = teacher_outputs(cfg, backbone, out, teachers, tasks, depth)
    mpt = new_student(teachers, cfg, depth, torch.Generator().manual_seed(cfg.seed))
    sampler = MixtureSampler(tasks, mixture_probs([len(t.examples) for t in tasks], dcfg.sampling,
                                                  dcfg.sampling_temperature), cfg.seed)

    def loss_fn(step):
        global_refs = sampler.sample_refs(dcfg.train.batch_size, dcfg.tasks_per_batch)  # the same on every rank
        refs = distributed.shard_rows(global_refs)
        rows = [tasks[k].encoded[j] for k, j in refs]
        share = distributed.token_share(answer_tokens(rows),
                                        answer_tokens([tasks[k].encoded[j] for k, j in global_refs]))
        task_ids = torch.tensor([k for k, _ in refs], dtype=torch.long)
        loss, parts = distill_loss(backbone, mpt, collate(rows, pad), refs, task_ids, cache, dcfg, share, forward)
        return loss, {**parts, "tokens": text_tokens(rows)}

    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "log.jsonl"
    if not resume and distributed.is_main():
        log_path.unlink(missing_ok=True)
    kept = {t.name: round(kept_mass(c), 4) for t, c in zip(tasks, cache)}
    if kept and min(kept.values()) < 0.9 and distributed.is_main():
        low = min(kept, key=kept.get)
        print(f"warning: the cached top-{dcfg.teacher_topk} teacher tokens keep only {kept[low]:.0%} of the softened "
              f"mass on {low} (T = {dcfg.temperature}); raise distill.teacher_topk or lower distill.temperature",
              flush=True)
    rows = training.train(list(mpt.parameters()), loss_fn, train_cfg, desc=stage, log_path=log_path,
                          checkpoint_dir=out / "checkpoints" / stage, sampler=sampler, resume=resume,
                          dev_loss=source_dev_loss(cfg, backbone, mpt, specs, forward) if train_cfg.eval_every
                          else None)
    if distributed.is_main():
        save_artifact(folder, {"shared": mpt.shared, "u": mpt.u, "v": mpt.v},
                      {"kind": "meta-prompt", "method": "mpt" if depth == "input" else "deep-mpt", "depth": depth,
                       "tasks": [s["name"] for s in specs],
                       "types": [s["type"] for s in specs], "prompt_length": cfg.prompt.length,
                       "rank": cfg.prompt.rank, "lambda": dcfg.lambda_, "temperature": dcfg.temperature,
                       "steps": dcfg.train.steps, "lr": train_cfg.lr, "training": training.summary(rows),
                       "teacher_topk": dcfg.teacher_topk, "tasks_per_batch": dcfg.tasks_per_batch,
                       "teacher_kept_mass": kept, "excluded_teachers": excluded}, backbone.fingerprint)
        common.mark_done(folder, key, time.time() - start)
    distributed.barrier()
    return folder


def main(args) -> int:
    def run_depths(cfg, backbone, out, force, resume):  # --depth, else the forms the config's methods need
        for depth in common.stage_depths(args, cfg):
            run_distill(cfg, backbone, out, force, resume, depth)

    return common.stage_main(args, run_depths)
