"""`--dry-run`: what a command would do, what it trains, and the GPU memory it needs, from the config
alone: no weights are loaded, no suite is generated, nothing is written.

    clinical-mpt run configs/paper/llama31-8b.yaml --dry-run [--num-processes 8]

The backbone's shape comes from the model folder's config.json when it is on this machine, else from
`backbone.shape` (a built-in of `clinical-mpt roi`). Memory uses the ROI calculator's formulas
(roi.py, docs/roi.md) for one process; the LM head runs only at answer positions, so logits are
counted there; gradient checkpointing keeps one hidden state per layer and recomputes one layer.
Eager attention (gpt-oss has no sdpa kernel in transformers) also keeps each layer's score matrices.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from clinical_mpt.backbone_shapes import BackboneShape, builtin_shape, resolve_backbone, shape_from_hf_config
from clinical_mpt.errors import ConfigError
from clinical_mpt.methods.table import meta_prompt_depths
from clinical_mpt.protocol import meta_stage, runs, runs_adapt_stage
from clinical_mpt.roi import (
    DEFAULT_LORA_TARGETS,
    PEFT_STATE_BYTES,
    activation_bytes,
    compute_roi,
    human_bytes,
    human_count,
    lora_parameters,
)

STAGE_COMMANDS = ("teach", "distill", "adapt", "evaluate", "run")  # the commands whose stages a plan lists
QUANTIZED_BYTES = {"8bit": 1.0, "4bit": 0.5}  # bytes per weight of the quantized linear layers


def backbone_shape(cfg) -> tuple[BackboneShape, str]:
    """(shape, where it came from) without loading weights."""
    b = cfg.backbone
    path = Path(b.name)
    if path.is_dir() and (path / "config.json").is_file():
        return resolve_backbone(path), f"{path / 'config.json'}"
    if b.name == "default":
        return builtin_shape("smollm2-135m"), "built-in smollm2-135m (the embedded default)"
    if b.name == "tiny-random-llama":
        from clinical_mpt.backbone import tiny_llama_config

        config = dict(tiny_llama_config().to_dict(), architectures=["LlamaForCausalLM"])
        return shape_from_hf_config(config, "tiny-random-llama"), "built in (random)"
    if b.shape:
        return builtin_shape(b.shape), f"built-in {b.shape} ({b.name} is not on this machine)"
    raise ConfigError(f"--dry-run: backbone.name {b.name!r} is not a local model folder with a config.json; "
                      "give its shape with backbone.shape=llama-3.1-8b (or meditron3-8b, gpt-oss-20b)")


def task_names(cfg) -> tuple[list[str], list[str], int, str]:
    """(source names, target names, training examples per task (upper bound), where they came from)."""
    suite_file = Path(cfg.data.suite) / "suite.json"
    if suite_file.is_file():
        tasks, origin = json.loads(suite_file.read_text(encoding="utf-8"))["tasks"], str(suite_file)
    else:
        from clinical_mpt.data.synth.tasks import TASKS

        tasks = [{"name": t.name, "role": t.role, "sizes": t.sizes} for t in TASKS]
        origin = f"the synthetic suite (generated in {cfg.data.suite} at run time)"
    names = {role: cfg.data.source_tasks if role == "source" and cfg.data.source_tasks else
             cfg.data.target_tasks if role == "target" and cfg.data.target_tasks else
             [t["name"] for t in tasks if t.get("role") == role] for role in ("source", "target")}
    sizes = [t.get("sizes", {}).get("train", 0) for t in tasks] or [0]
    n_train = min(max(sizes), cfg.data.max_train_examples or max(sizes))
    return names["source"], names["target"], n_train, origin


SHARDINGS = ("none", "fsdp", "zero3")


def plan_stages(cfg, command: str = "run", depth: str | None = None) -> list[str]:
    """The stages a command runs, as `run` and the teach / distill commands decide them: teach and distill
    per meta-prompt depth the methods start from ("teach", "distill"; "teach-deep", "distill-deep"), adapt
    when the MPT row it trains is configured (protocol.runs_adapt_stage), then evaluate."""
    depths = [depth] if depth else meta_prompt_depths(cfg.methods)
    if command in ("teach", "distill"):
        return [meta_stage(command, d) for d in depths or ["input"]]
    if command in ("adapt", "evaluate"):
        return [command]
    meta = [meta_stage(stage, d) for d in depths for stage in ("teach", "distill")]
    adapt = ["adapt"] if runs_adapt_stage(cfg) else []
    return meta + adapt + ["evaluate"]


def memory(cfg, shape: BackboneShape, n_sources: int, n_targets: int, processes: int, sharding: str = "none") -> dict:
    """Bytes per process: training (the largest stage), serving all targets, and the teacher cache.
    `sharding` fsdp: each process holds 1/processes of the decoder layers' weights plus one gathered
    layer (embeddings and LM head replicated); zero3: 1/processes of every weight plus the largest
    module gathered at a time (a decoder layer, or the embedding matrix for the LM head)."""
    b, L, r, d = cfg.backbone, cfg.prompt.length, cfg.prompt.rank, shape.hidden_size
    dtype = 4 if b.dtype == "float32" else 2  # auto = bf16 on a GPU
    embeddings = shape.embedding_parameters * (1 if shape.tie_word_embeddings else 2)
    weights = shape.total_parameters * dtype
    if b.load_in in QUANTIZED_BYTES:  # bitsandbytes quantizes the linear layers; embeddings stay in dtype
        weights = (shape.total_parameters - embeddings) * QUANTIZED_BYTES[b.load_in] + embeddings * dtype
    layers = (shape.total_parameters - embeddings) * dtype
    if sharding == "fsdp" and processes > 1:
        weights = embeddings * dtype + layers / processes + layers / shape.num_layers
    elif sharding == "zero3" and processes > 1:
        weights = shape.total_parameters * dtype / processes + max(layers / shape.num_layers,
                                                                    shape.embedding_parameters * dtype)
    batch = max(cfg.teach.batch_size, cfg.distill.train.batch_size, cfg.adapt.train.batch_size)
    rows = math.ceil(batch / processes)
    seq = cfg.data.max_input_tokens + cfg.data.max_target_tokens
    tokens = rows * (seq + L)
    eager = b.attention == "eager" or shape.attention_sinks
    scores = 2 * rows * shape.num_attention_heads * (seq + L) ** 2 * dtype if eager else 0  # per layer
    if b.gradient_checkpointing:  # layer inputs kept, one layer's activations live during its recompute
        activations = tokens * shape.num_layers * d * dtype + activation_bytes(shape, tokens, dtype) // shape.num_layers
        activations += scores
    else:
        activations = activation_bytes(shape, tokens, dtype) + scores * shape.num_layers
    logits = 2 * rows * cfg.data.max_target_tokens * shape.vocab_size * 4  # fp32 logits + their gradient
    state = (L * d + n_sources * r * (L + d)) * PEFT_STATE_BYTES  # distill trains P* and every (u, v)
    serving = compute_roi(shape, max(1, n_targets), prompt_length=L, rank=r, dtype_bytes=dtype,
                          batch_size=cfg.eval.batch_size, seq_len=seq)["methods"]["mpt"]
    targets = tuple(cfg.baselines.lora.target_modules) or DEFAULT_LORA_TARGETS
    try:
        lora = lora_parameters(shape, cfg.baselines.lora.rank, targets) * PEFT_STATE_BYTES
    except ConfigError:  # target modules the shape does not know: count the default attention targets
        lora = lora_parameters(shape, cfg.baselines.lora.rank, DEFAULT_LORA_TARGETS) * PEFT_STATE_BYTES
    return {"lora_extra": int(weights) + lora,  # lora / full train a private copy of the backbone
            "full_extra": shape.total_parameters * 16,  # fp32 master weights, gradients, 2 Adam moments
            "weights": int(weights), "trainable_state": state, "activations": int(activations), "logits": logits,
            "training_total": int(weights + state + activations + logits), "rows_per_process": rows,
            "tokens_per_process": tokens, "serving_total": serving["serving_memory_bytes"],
            "teacher_cache": n_sources * cfg.data.max_target_tokens * (cfg.distill.teacher_topk * 12 + d * dtype)}


def build_plan(cfg, command: str = "run", processes: int = 1, sharding: str = "none", depth: str | None = None) -> dict:
    """Everything `format_plan` prints, as plain numbers."""
    shape, shape_origin = backbone_shape(cfg)
    sources, targets, n_train, origin = task_names(cfg)
    L, r, d = cfg.prompt.length, cfg.prompt.rank, shape.hidden_size
    mem = memory(cfg, shape, len(sources), len(targets), processes, sharding)
    mem["teacher_cache"] *= n_train
    evals = [(m, s.name) for m, s in runs(cfg)]
    layers = shape.num_layers
    deep_d = layers * 2 * shape.num_kv_heads * shape.head_dim  # layers x D: every layer's keys and values
    stages = plan_stages(cfg, command if command in STAGE_COMMANDS else "run", depth)
    if command == "run" and cfg.adapt.meta_prompt:  # P* given (adapt.meta_prompt): the input teach, distill skipped
        stages = [s for s in stages if s not in ("teach", "distill")]
    return {"command": command, "stages": stages, "processes": processes,
            "sharding": sharding if processes > 1 else "none",
            "backbone": shape.to_dict(), "shape_origin": shape_origin, "sources": sources, "targets": targets,
            "tasks_origin": origin, "train_examples_per_task": n_train,
            "parameters": {"teacher_prompt": L * d, "meta_prompt": L * d, "task_factors": r * (L + d),
                           "distill_trainable": L * d + len(sources) * r * (L + d),
                           "deep_teacher_prompt": L * deep_d,
                           "deep_distill_trainable": L * deep_d + len(sources) * r * (layers * L + deep_d)},
            "evaluations": evals, "memory": mem}


def format_plan(plan: dict, cfg) -> str:
    b, p, m = plan["backbone"], plan["parameters"], plan["memory"]
    bc, t = cfg.backbone, cfg.distill.train
    lines = [f"dry run of `{plan['command']}` for {cfg.name}: nothing is loaded or written",
             f"backbone   {bc.name}: {b['architecture']}, {human_count(b['total_parameters'])} parameters "
             f"({b['total_parameters']:,}), d={b['hidden_size']}, {b['num_layers']} layers, vocab {b['vocab_size']:,}",
             f"           shape from {plan['shape_origin']}",
             f"           dtype {bc.dtype}, load_in {bc.load_in}, gradient checkpointing "
             f"{'on' if bc.gradient_checkpointing else 'off'}, attention {bc.attention}",
             f"processes  {plan['processes']} ("
             + {"fsdp": "FSDP: the decoder layers are sharded over the ranks)",
                "zero3": "DeepSpeed ZeRO-3: every weight is partitioned over the ranks)"}.get(
                 plan["sharding"], "data-parallel: every rank holds the backbone)" if plan["processes"] > 1 else
                 "single process)"),
             f"tasks      {len(plan['sources'])} source, {len(plan['targets'])} target, from {plan['tasks_origin']}",
             f"           source: {', '.join(plan['sources'])}", f"           target: {', '.join(plan['targets'])}"]
    steps = {"teach": f"{len(plan['sources'])} teacher prompts x {cfg.teach.steps} steps "
                      f"(batch {cfg.teach.batch_size}), "
                      f"{human_count(p['teacher_prompt'])} parameters each (L={cfg.prompt.length} x d)",
             "distill": f"P* + {len(plan['sources'])} x (u, v) rank {cfg.prompt.rank}: "
                        f"{human_count(p['distill_trainable'])} parameters, {t.steps} steps (batch {t.batch_size}), "
                        f"teacher cache {cfg.distill.teacher_cache} (<= {human_bytes(m['teacher_cache'])})",
             "teach-deep": f"{len(plan['sources'])} deep teacher prompts x {cfg.teach.steps} steps (batch "
                           f"{cfg.teach.batch_size}, lr {cfg.deep.teach_lr:g}), "
                           f"{human_count(p['deep_teacher_prompt'])} parameters each (layers x 2 x kv x L x hd)",
             "distill-deep": f"deep P* + {len(plan['sources'])} x per-layer (u, v) rank {cfg.prompt.rank}: "
                             f"{human_count(p['deep_distill_trainable'])} parameters, {t.steps} steps "
                             f"(batch {t.batch_size}, lr {cfg.deep.distill_lr:g})",
             "adapt": f"{len(plan['targets'])} targets x {cfg.adapt.train.steps} steps (batch "
                      f"{cfg.adapt.train.batch_size}), {human_count(p['task_factors'])} parameters per task (u, v)"
                      + (" + P*" if cfg.adapt.train_meta_prompt else ""),
             "evaluate": f"{len(plan['evaluations'])} (method, setting) runs x {len(plan['targets'])} targets, "
                         f"split {cfg.eval.split}: " + "; ".join(
                             f"{method} {', '.join(s for a, s in plan['evaluations'] if a == method)}"
                             for method in dict.fromkeys(a for a, _ in plan["evaluations"]))}
    width = max([9] + [len(s) + 1 for s in plan["stages"]])
    lines += ["stages"] + [f"  {i}. {s:<{width}}{steps[s]}" for i, s in enumerate(plan["stages"], 1)]
    if plan["command"] == "run" and cfg.adapt.meta_prompt:
        lines += [f"           teach, distill skipped: P* from {cfg.adapt.meta_prompt} (adapt.meta_prompt)"]
    lines += [f"GPU memory per process (ROI formulas; batch {m['rows_per_process']} rows x "
              f"{m['tokens_per_process'] // max(1, m['rows_per_process'])} tokens incl. the prompt)",
              f"  training   {human_bytes(m['training_total'])} = weights {human_bytes(m['weights'])} + activations "
              f"{human_bytes(m['activations'])} + logits {human_bytes(m['logits'])} + prompt state "
              f"{human_bytes(m['trainable_state'])}",
              f"  serving    {human_bytes(m['serving_total'])} for all {len(plan['targets'])} target prompts "
              f"(batch {cfg.eval.batch_size})"]
    extra = {"lora": f"lora +{human_bytes(m['lora_extra'])} (a private copy of the backbone + adapter state)",
             "full": f"full +{human_bytes(m['full_extra'])} (fp32 copy, gradients, Adam; not sharded here)"}
    baselines = [extra[x] for x in cfg.methods if x in extra]
    lines += [f"  baselines  {'; '.join(baselines)}"] if baselines else []
    return "\n".join(lines)


def print_plan(cfg, command: str = "run", out: str | None = None, processes: int = 1, sharding: str = "none",
               depth: str | None = None) -> dict:
    plan = build_plan(cfg, command, processes, sharding, depth)
    print(format_plan(plan, cfg))
    print(f"output     {out or cfg.out}")
    return plan
