"""Turn the prompts of a finished run folder into library entries (composed, with their metrics).

    RUN/config.yaml                         the resolved run config; first line: the command
    RUN/distill/                            {"shared" (L, d), "u" (K, L, r), "v" (K, r, d)}
    RUN/adapt/<variant>/<task>/             {"u" (1, L, r), "v" (1, r, d)[, "shared"]}  -> method mpt
    RUN/targets/pt/<setting>/<task>/        {"prompt" (L, d)}                           -> method pt
    RUN/teachers/<task>/                    {"prompt" (L, d)}                           -> method teacher
    RUN/targets/prefix/<setting>/<task>/    {"prefix" (layers, 2, kv, L, hd)}           -> method prefix
    RUN/targets/deep-mpt[-full-prompt]/<setting>/<task>/
                                            {"u" (1, layers, L, r), "v" (1, layers, r, D)[, "shared"]}
                                            with the deep P* of RUN/distill             -> method deep-mpt
    RUN/eval/<method>/<setting>/<task>/metrics.json

Folder names are protocol.py's (`variant_name`, `Setting.name`). An MPT entry stores the composed
prompt P* o (U V) (MPTPrompt.task_prompt) with `parameters` = its task-specific count; its metrics are
those of the first method of the table evaluated on those prompts (mpt, else mpt-vectors).
A deep entry stores its composed prefix (DeepMPTPrompt.task_prefix for deep-mpt): what the engine puts
in the KV cache; its `parameters` is what the method stores per task (layers·r·(L + D) for deep-mpt).
Every entry records its task's majority baseline (library/baseline.py) from the run's data.suite,
and a teacher the metrics its artifact's config.json records (`metrics`: {split: {...}}, written by
the teach stage's teacher-quality gate), if any, and the gate's verdict under `training.gate`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from clinical_mpt.artifacts import load_artifact
from clinical_mpt.data.identity import DATA_FILE, changed_tasks
from clinical_mpt.library.entry import Entry, LibraryError, entry_config
from clinical_mpt.methods.table import adapt_rows
from clinical_mpt.prompts import DeepMPTPrompt, MPTPrompt
from clinical_mpt.protocol import META_SUFFIX, distill_dir, parse_variant, teachers_dir

# The library entry kind (entry.METHODS) of each deep method of the table: both deep MPT rows give a
# composed deep-mpt prefix, as both MPT rows give a composed mpt prompt.
DEEP_ENTRY_KINDS = {"prefix": "prefix", "deep-mpt": "deep-mpt", "deep-mpt-full-prompt": "deep-mpt"}
# `library add --method` choices that add a run's teachers alone -> the meta-prompt depth of their folder
TEACHER_DEPTHS = {"teacher": "input", "teacher-deep": "deep"}


@dataclass
class RunPrompts:
    backbone_name: str
    fingerprint: dict
    entries: list[Entry]


def read_run_config(run: Path) -> tuple[dict, str | None]:
    """(resolved config dict, the command from its first comment line)."""
    path = run / "config.yaml"
    if not path.is_file():
        raise LibraryError(f"{run}: not a run folder (no config.yaml); give the --out folder of `clinical-mpt run`")
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0] if text else ""
    command = first[1:].strip() if first.startswith("#") else None
    try:
        cfg = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise LibraryError(f"{path}: invalid YAML ({e})") from None
    return cfg, command


def run_meta_dir(run: Path) -> Path:
    """The meta-prompt a run adapted from: the artifact its `adapt.meta_prompt` names, else RUN/distill."""
    cfg, _ = read_run_config(Path(run))
    given = (cfg.get("adapt") or {}).get("meta_prompt")
    return Path(given) if given else Path(run) / "distill"


def eval_split(run: Path, cfg: dict) -> str:
    results = run / "results.json"
    if results.is_file():
        try:
            return json.loads(results.read_text(encoding="utf-8")).get("split", "test")
        except json.JSONDecodeError:
            pass
    return (cfg.get("eval") or {}).get("split", "test")


def find_metrics(run: Path, method: str, setting: str, task: str) -> dict | None:
    """The metrics of (method, setting, task) from RUN/eval, or None if it was not evaluated."""
    path = run / "eval" / method / setting / task / "metrics.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    return record.get("metrics", record)


def _task_dirs(folder: Path, tasks: list[str] | None, what: str) -> list[Path]:
    if not folder.is_dir():
        siblings = sorted(p.name for p in folder.parent.iterdir() if p.is_dir()) if folder.parent.is_dir() else []
        raise LibraryError(f"{folder}: no {what} here" + (f"; found: {', '.join(siblings)}" if siblings else ""))
    found = {p.name: p for p in sorted(folder.iterdir()) if (p / "config.json").is_file()}
    if tasks is None:
        return list(found.values())
    missing = [t for t in tasks if t not in found]
    if missing:
        raise LibraryError(f"{folder}: no {what} for {', '.join(missing)}; available: {', '.join(found) or '(none)'}")
    return [found[t] for t in tasks]


def _entry(art_cfg: dict, prompt: torch.Tensor, method: str, parameters: int, metrics: dict | None,
           split: str, command: str | None, source: Path, training: dict) -> Entry:
    config = entry_config(
        art_cfg["task"], art_cfg["type"], art_cfg.get("instruction"), prompt, method, parameters,
        art_cfg["backbone"], rank=art_cfg.get("rank"), training=training,
        metrics={split: metrics} if metrics else {}, command=command, source={"run_artifact": str(source)})
    return Entry(config, prompt.float())


def mpt_entries(run: Path, variant: str, tasks, split: str, command) -> list[Entry]:
    meta, _ = load_artifact(run_meta_dir(run))  # RUN/distill, or the P* its adapt.meta_prompt named
    entries = []
    _, meta_prompt = parse_variant(variant)
    setting = variant.removesuffix(META_SUFFIX)
    evaluated_as = [r.name for r in adapt_rows(meta_prompt)]
    for folder in _task_dirs(run / "adapt" / variant, tasks, "adapted prompts"):
        tensors, cfg = load_artifact(folder)
        shared = tensors.get("shared", meta["shared"])
        prompt = MPTPrompt.from_factors(shared, tensors["u"], tensors["v"]).task_prompt(0).detach()  # (L, d)
        found = (find_metrics(run, m, setting, cfg["task"]) for m in evaluated_as)
        metrics = next((m for m in found if m is not None), None)
        training = {"variant": variant, "examples": cfg.get("train_examples"), "shots": cfg.get("shots"),
                    "trainable_parameters": cfg.get("trainable_parameters"), "init_from": cfg.get("init_from"),
                    "train_meta_prompt": cfg.get("train_meta_prompt", meta_prompt)}
        entries.append(_entry(cfg, prompt, "mpt", cfg.get("task_parameters", prompt.shape[0] + prompt.shape[1]),
                              metrics, split, command, folder, training))
    return entries


def single_prompt_entries(root: Path, method: str, tasks, split: str, command, run: Path,
                          setting: str | None) -> list[Entry]:
    entries = []
    for folder in _task_dirs(root, tasks, "teacher prompts" if method == "teacher" else "pt prompts"):
        tensors, cfg = load_artifact(folder)
        prompt = tensors["prompt"] if "prompt" in tensors else tensors["prefix"]  # a deep teacher: its K/V prefix
        metrics = find_metrics(run, "pt", setting, cfg["task"]) if setting else None
        training = {"examples": cfg.get("train_examples"), "steps": cfg.get("steps"), "shots": cfg.get("shots")}
        if setting:
            training["variant"] = setting
        if isinstance(cfg.get("gate"), dict):  # a teacher's verdict from the teacher-quality gate (teacher_gate.py)
            training["gate"] = cfg["gate"]
        entry = _entry(cfg, prompt, method, prompt.numel(), metrics, split, command, folder, training)
        recorded = cfg.get("metrics")  # a teacher's own scores by split, when its training recorded them
        if isinstance(recorded, dict):
            entry.config["metrics"].update({k: v for k, v in recorded.items() if isinstance(v, dict)})
        entries.append(entry)
    return entries


def deep_kv_heads(cfg: dict, run_cfg: dict, folder: Path) -> int:
    """The kv heads a deep-mpt artifact's rows split into: recorded by methods/deep_mpt.py, else read
    from the run's backbone shape (a built-in name or a local model folder)."""
    if cfg.get("kv_heads"):
        return int(cfg["kv_heads"])
    from clinical_mpt.backbone_shapes import resolve_backbone
    from clinical_mpt.errors import ConfigError

    name = (run_cfg.get("backbone") or {}).get("name", "default")
    try:
        return resolve_backbone(name).num_kv_heads
    except ConfigError as e:
        raise LibraryError(f"{folder}/config.json records no kv_heads and the run's backbone {name!r} gives "
                           f"none ({e}); retrain it with this clinical-mpt (it records kv_heads)") from None


def deep_meta_prompt(run: Path) -> torch.Tensor:
    """The run's deep P* (layers, L, D) from RUN/distill-deep; LibraryError when the run distilled none."""
    folder = distill_dir(run, "deep")
    if not (folder / "config.json").is_file():
        raise LibraryError(f"{folder}: deep-mpt entries need the run's deep meta-prompt; run "
                           "`clinical-mpt distill CONFIG --depth deep` (or `clinical-mpt run CONFIG` with deep-mpt)")
    meta, _ = load_artifact(folder)
    shared = meta.get("shared")
    if shared is None or shared.dim() != 3:
        got = "nothing" if shared is None else f"shape {tuple(shared.shape)}"
        raise LibraryError(f"{folder}: deep-mpt entries need a deep meta-prompt (layers, L, D), found {got}")
    return shared


def deep_prefix(tensors: dict, cfg: dict, run: Path, run_cfg: dict, folder: Path) -> torch.Tensor:
    """A deep target artifact's composed prefix (layers, 2, kv, L, hd): `prefix` as saved, or
    P*_l o (u_l v_l^T) composed by DeepMPTPrompt (P* its own when it trained one, else the run's)."""
    if "prefix" in tensors:
        return tensors["prefix"]
    shared = tensors["shared"] if "shared" in tensors else deep_meta_prompt(run)
    prompt = DeepMPTPrompt(shared, 1, deep_kv_heads(cfg, run_cfg, folder), tensors["u"].shape[-1])
    with torch.no_grad():
        prompt.u.copy_(tensors["u"])
        prompt.v.copy_(tensors["v"])
    return prompt.task_prefix(0).detach()


def deep_entries(run: Path, method: str, setting: str, tasks, split: str, command, run_cfg: dict) -> list[Entry]:
    """The deep target prompts of `method` (prefix, deep-mpt, deep-mpt-full-prompt) in `setting`."""
    entries = []
    for folder in _task_dirs(run / "targets" / method / setting, tasks, f"{method} prompts"):
        tensors, cfg = load_artifact(folder)
        prefix = deep_prefix(tensors, cfg, run, run_cfg, folder)
        if "u" in tensors:
            cfg = dict(cfg, rank=int(tensors["u"].shape[-1]))
        metrics = find_metrics(run, method, setting, cfg["task"])
        training = {"variant": setting, "trained_as": method, "examples": cfg.get("train_examples"),
                    "shots": cfg.get("shots"), "trainable_parameters": cfg.get("trainable_parameters")}
        parameters = cfg.get("task_parameters", prefix.numel())
        entries.append(_entry(cfg, prefix, DEEP_ENTRY_KINDS[method], parameters, metrics, split, command, folder,
                              training))
    return entries


def prompts_from_run(run: str | Path, variant: str = "full", tasks: list[str] | None = None,
                     teachers: bool = False, method: str = "mpt") -> RunPrompts:
    """The target prompts of `run` (MPT adapted with `variant`, or the `pt`, `prefix`, `deep-mpt` or
    `deep-mpt-full-prompt` targets of that setting), plus its source-task teachers when `teachers`;
    method "teacher" / "teacher-deep": the input-level / deep teachers alone (`tasks` then names source
    tasks). All must share one backbone fingerprint."""
    run = Path(run)
    cfg, command = read_run_config(run)
    split = eval_split(run, cfg)
    if method in TEACHER_DEPTHS:  # the source-task teachers alone (input level or deep)
        entries = single_prompt_entries(teachers_dir(run, TEACHER_DEPTHS[method]), "teacher", tasks, split,
                                        command, run, None)
    elif method == "mpt":
        entries = mpt_entries(run, variant, tasks, split, command)
    elif method == "pt":
        entries = single_prompt_entries(run / "targets" / "pt" / variant, "pt", tasks, split, command, run, variant)
    elif method in DEEP_ENTRY_KINDS:
        entries = deep_entries(run, method, variant, tasks, split, command, cfg)
    else:
        raise LibraryError(f"--method: {method!r} is not mpt, pt or one of "
                           f"{', '.join([*DEEP_ENTRY_KINDS, *TEACHER_DEPTHS])}")
    if teachers and method not in TEACHER_DEPTHS:  # teacher-deep with --teachers: the deep ones, not both
        entries += single_prompt_entries(teachers_dir(run), "teacher", None, split, command, run, None)
    if not entries:
        raise LibraryError(f"{run}: no prompts to add")
    from clinical_mpt.library.baseline import majority_record

    suite = (cfg.get("data") or {}).get("suite")
    changed = changed_tasks(run, suite, [e.name for e in entries]) if suite else []
    if changed:  # a baseline of other data than the prompts were scored on would mislead: none is recorded
        print(f"warning: {suite} now holds other data for {', '.join(changed)} than {run} was run on "
              f"({run / DATA_FILE}): no majority baseline recorded for them", file=sys.stderr)
    for e in entries:  # the task's majority baseline on dev and test, beside the entry's own scores
        e.config["majority"] = majority_record(suite, e.name) if suite and e.name not in changed else {}
    fingerprint = entries[0].config["backbone"]
    for e in entries[1:]:
        if e.config["backbone"] != fingerprint:
            raise LibraryError(f"{run}: {e.name} was trained on a different backbone than {entries[0].name}")
    return RunPrompts((cfg.get("backbone") or {}).get("name", "default"), fingerprint, entries)
