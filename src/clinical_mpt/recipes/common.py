"""What every recipe needs: CLI arguments, config loading, seeding, the backbone, the tasks, and
stage bookkeeping (a finished stage leaves `stage.json` with its config key, protocol.stage_key;
it is skipped next time unless --force)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from clinical_mpt.config import RunConfig, dump_config, load_config
from clinical_mpt.data.jsonl import atomic_write_text, write_json
from clinical_mpt.recipes.plan import print_plan


def configure(parser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML run config (see configs/)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="override config fields, e.g. teach.steps=50 prompt.length=20")
    parser.add_argument("--out", help="output folder (default: the config's `out`, runs/<name>)")
    parser.add_argument("--force", action="store_true", help="re-run stages that already finished")
    parser.add_argument("--resume", action="store_true",
                        help="continue interrupted trainings from their last checkpoint (OUT/checkpoints/)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan, parameter counts and a GPU memory estimate; load and write nothing")
    parser.add_argument("--launcher", choices=["none", "accelerate"], default="none",
                        help="accelerate: re-run this command under `accelerate launch` (data-parallel over "
                             "--num-processes processes; see docs/scaling.md)")
    parser.add_argument("--accelerate-config", metavar="YAML",
                        help="with --launcher accelerate: an accelerate config, e.g. configs/accelerate/ddp.yaml")
    parser.add_argument("--num-processes", type=int, metavar="N",
                        help="processes (GPUs): how many --launcher accelerate starts; with --dry-run, "
                             "the memory estimate is per process")


def add_depth_argument(parser) -> None:
    """--depth of the teach and distill commands."""
    from clinical_mpt.methods.table import META_PROMPT_DEPTHS

    parser.add_argument("--depth", choices=META_PROMPT_DEPTHS,
                        help="which meta-prompt to train: input (OUT/teachers, OUT/distill) or deep "
                             "(OUT/teachers-deep, OUT/distill-deep); default: every form the config's methods "
                             "start from (input when none does)")


def stage_depths(args, cfg) -> list[str]:
    """The meta-prompt depths a teach / distill command trains: --depth, else those `cfg.methods` need."""
    from clinical_mpt.methods.table import meta_prompt_depths

    if getattr(args, "depth", None):
        return [args.depth]
    return meta_prompt_depths(cfg.methods) or ["input"]


def launch_or_plan(args) -> int | None:
    """Handle --dry-run (print the plan) and --launcher accelerate (re-run under `accelerate launch`):
    the exit code when one of them ran, else None (run the command here)."""
    from clinical_mpt import distributed

    if getattr(args, "dry_run", False):
        print_plan(load_config(args.config, args.overrides), getattr(args, "command", None) or "run", args.out,
                   getattr(args, "num_processes", None) or 1, sharding_of(getattr(args, "accelerate_config", None)),
                   getattr(args, "depth", None))
        return 0
    if getattr(args, "launcher", "none") != "accelerate" or distributed.launched():
        return None
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    cmd += ["--config_file", args.accelerate_config] if args.accelerate_config else []
    env = None
    if not args.accelerate_config and (args.num_processes or 1) > 1:
        # without a config, accelerate starts ONE process unless told the multi-process launcher;
        # on a machine without a GPU that launcher runs CPU processes (gloo)
        cmd += ["--multi_gpu"]
        import torch

        if not torch.cuda.is_available():
            env = dict(os.environ, ACCELERATE_USE_CPU="1")
    cmd += ["--num_processes", str(args.num_processes)] if args.num_processes else []
    cmd += ["-m", "clinical_mpt", args.command, args.config, *args.overrides]
    cmd += (["--out", args.out] if args.out else []) + [f for f in ("--force", "--resume") if getattr(args, f[2:])]
    cmd += ["--depth", args.depth] if getattr(args, "depth", None) else []
    cmd += [a for t in getattr(args, "task", None) or [] for a in ("--task", t)]
    print("launching:", " ".join(cmd), flush=True)
    return subprocess.call(cmd, env=env)


def sharding_of(path: str | None) -> str:
    """How an accelerate config file splits the backbone: "fsdp" (`distributed_type: FSDP`), "zero3"
    (`distributed_type: DEEPSPEED` with zero_stage 3, or a deepspeed_config_file whose
    zero_optimization.stage is 3), else "none" (every rank holds the whole backbone)."""
    if not path:
        return "none"
    import json

    import yaml

    from clinical_mpt.errors import ConfigError

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        kind = str(data.get("distributed_type", "")).upper()
        ds = data.get("deepspeed_config") or {}
        stage = ds.get("zero_stage", 2)
        if ds.get("deepspeed_config_file") not in (None, "none"):
            stage = json.loads(Path(ds["deepspeed_config_file"]).read_text(encoding="utf-8"))["zero_optimization"]["stage"]
    except (OSError, yaml.YAMLError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"--accelerate-config {path}: {e}") from None
    if kind == "FSDP":
        return "fsdp"
    return "zero3" if kind == "DEEPSPEED" and str(stage) == "3" else "none"


def setup(args) -> tuple[RunConfig, Path]:
    """Config + output folder. Under a launch, rank 0 writes config.yaml and makes the suite first."""
    from clinical_mpt import distributed

    cfg = load_config(args.config, args.overrides)
    cfg.out = args.out or cfg.out
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if distributed.is_main():
        # generate the synthetic suite once (before other ranks read it) and check that OUT's finished
        # work was trained on this data (data/identity.py), before config.yaml is rewritten
        check_run_data(cfg, out, cfg.methods, cfg.data.target_tasks)
        write_run_config(out, args.config, cfg)
    distributed.barrier()
    return cfg, out


def check_run_data(cfg: RunConfig, out: Path, methods, target_tasks: list[str]) -> None:
    """Load (generating it if missing) the config's suite, then check that OUT's finished work for
    `methods` on `target_tasks` (and the source tasks, when they are read) was trained on this data."""
    from clinical_mpt.data.identity import check_data, used_specs
    from clinical_mpt.data.suite import load_suite

    suite = load_suite(cfg.data.suite, cfg.data.synth_seed)
    sources = cfg.data.source_tasks if reads_sources(cfg, methods) else None
    check_data(out, cfg.data.suite, used_specs(suite, sources, target_tasks))


def reads_sources(cfg: RunConfig, methods) -> bool:
    """Whether a run of `methods` reads the source tasks: it trains teachers for a P* it does not take
    from `adapt.meta_prompt` (input level) or for a deep P* (always distilled in the run)."""
    from clinical_mpt import meta_source
    from clinical_mpt.methods.table import meta_prompt_depths

    depths = meta_prompt_depths(methods)
    return "deep" in depths or ("input" in depths and not meta_source.given(cfg))


def write_run_config(out: Path, config: str, cfg: RunConfig) -> None:
    """OUT/config.yaml: the resolved config a run used, headed by the command that re-runs it."""
    atomic_write_text(out / "config.yaml", f"# clinical-mpt run {config} --out {out}\n" + dump_config(cfg))


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def load_backbone_for(cfg: RunConfig):
    from clinical_mpt.backbone import load_backbone

    b = cfg.backbone
    t = time.time()
    backbone = load_backbone(b.name, b.dtype, b.attention, b.device, b.gradient_checkpointing, b.load_in, b.compile)
    print(f"backbone {b.name}: {backbone.num_parameters:,} parameters, {backbone.dtype}, "
          f"{backbone.model.device}, loaded in {time.time() - t:.1f}s", flush=True)
    return backbone


def stage_done(folder: Path, key: str) -> bool:
    path = folder / "stage.json"
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("key") == key
    except json.JSONDecodeError:
        return False


def artifact_config(folder: Path) -> dict:
    """An artifact's config.json ({} if absent or unreadable)."""
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def artifact_key(folder: Path) -> str | None:
    """The config key recorded in an artifact's config.json (None if absent or unreadable)."""
    return artifact_config(folder).get("key")


def mark_done(folder: Path, key: str, seconds: float, **info) -> None:
    write_json(folder / "stage.json", {"key": key, "seconds": round(seconds, 1), **info})


def stage_main(args, run_stage) -> int:
    """The `main` of a single-stage command: plan or relaunch, set up, then
    `run_stage(cfg, backbone, out, force, resume)`."""
    if (code := launch_or_plan(args)) is not None:
        return code
    cfg, out = setup(args)
    seed_everything(cfg.seed)
    run_stage(cfg, load_backbone_for(cfg), out, args.force, args.resume)
    return 0
