"""The evaluation protocol, torch-free: settings and their names, the runs of a config, where a run's
artifacts live, and the config keys that decide when a finished stage or result can be reused.

    Setting(None, seed)  "full"     every training example
    Setting(0, seed)     "k0"       zero-shot: no target training (the seed is not in the name)
    Setting(k, seed)     "k16-s0"   k examples drawn with `seed`

A run is (method, setting); every target task of a run trains with seed `setting.seed + task index`.
Method facts (config section, learning-rate fields, what it trains) come from methods/table.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from clinical_mpt import meta_source
from clinical_mpt.config import RunConfig, to_dict
from clinical_mpt.errors import ConfigError
from clinical_mpt.methods.table import TABLE, TRAINABLE, adapt_rows, row

META_SUFFIX = "-metaprompt"  # adapt/<setting>-metaprompt: target prompts that also trained P*


@dataclass(frozen=True)
class Setting:
    shots: int | None  # None: full data; 0: zero-shot; k: k examples
    seed: int | None   # the draw (and training) seed; None only when parsed from a name without one

    @property
    def name(self) -> str:
        """full (all training data), k0 (zero-shot) or k16-s0 (16 examples drawn with seed 0)."""
        if self.shots is None:
            return "full"
        return "k0" if self.shots == 0 else f"k{self.shots}-s{self.seed}"

    @property
    def group(self) -> str:
        """What results.json and the report pool over seeds: "full" or the k as a string."""
        return "full" if self.shots is None else str(self.shots)


def parse_setting(name: str) -> Setting | None:
    """The inverse of `Setting.name` ("full", "k0", "k16-s0"); None for anything else."""
    if name == "full":
        return Setting(None, None)
    if name == "k0":
        return Setting(0, None)
    k, sep, seed = name.removeprefix("k").partition("-s")
    if name.startswith("k") and sep and k.isdigit() and seed.lstrip("-").isdigit() and int(k) > 0:
        return Setting(int(k), int(seed))
    return None


def variant_name(setting: Setting, trains_meta_prompt: bool) -> str:
    """The adapt/ folder of MPT target prompts: the setting name, + "-metaprompt" when P* trained too."""
    return setting.name + (META_SUFFIX if trains_meta_prompt else "")


def parse_variant(name: str) -> tuple[Setting | None, bool]:
    """adapt/ folder name -> (its setting or None, whether P* was trained)."""
    return parse_setting(name.removesuffix(META_SUFFIX)), name.endswith(META_SUFFIX)


def adapt_method(trains_meta_prompt: bool) -> str:
    """The method of the `adapt` stage and of its adapt/<variant> folders: the table's first row with
    artifacts in adapt/ that trains P* (or not)."""
    return adapt_rows(trains_meta_prompt)[0].name


def adapt_setting(cfg) -> Setting:
    """The setting the `adapt` stage trains in: full data (seeded with `seed`), or `adapt.shots` examples
    drawn with `adapt.shot_seed`, as `evaluate` seeds that setting."""
    shots = cfg.adapt.shots
    return Setting(shots, cfg.seed if shots is None else cfg.adapt.shot_seed)


def runs_adapt_stage(cfg) -> bool:
    """Whether `run` runs the adapt stage: only when evaluation uses what it trains, i.e. a configured row
    evaluates the artifacts of the stage's method (`adapt_method`: mpt, or mpt-full-prompt under
    `adapt.train_meta_prompt`; mpt-vectors shares mpt's) in the stage's setting, and, for a k-shot
    setting, `protocol.shot_steps` does not re-configure that training. Other MPT prompts are trained
    where evaluation needs them, through the same `fit_or_load`."""
    owner, setting = adapt_method(cfg.adapt.train_meta_prompt), adapt_setting(cfg)
    if setting.shots and cfg.protocol.shot_steps:  # evaluate trains k-shot prompts with other steps (keys)
        return False
    return any(row(m).artifact_owner == owner and s == setting for m, s in runs(cfg))


def settings(protocol, full_seed: int = 0) -> list[Setting]:
    """The settings of a `protocol` config; full data trains with `full_seed`, k0 with the first seed."""
    out = [Setting(None, full_seed)] if protocol.full_data else []
    for k in protocol.shots:
        for seed in ([protocol.seeds[0]] if k == 0 else protocol.seeds):
            out.append(Setting(k, seed))
    return out


def runs_for(method: str, setting: Setting, shot_methods: list) -> bool:
    """A method that trains nothing runs once (full setting); k = 0 runs only for methods that start
    from the meta-prompt (an untrained pt/lora/full would be meaningless)."""
    r = row(method)
    if not r.trains:
        return setting.shots is None
    if setting.shots is not None and shot_methods and method not in shot_methods:
        return False
    return setting.shots != 0 or r.needs_meta_prompt


def runs(cfg: RunConfig) -> list[tuple[str, Setting]]:
    """Every (method, setting) of a config, method by method, in the order `evaluate` runs them."""
    shot_methods = getattr(cfg.protocol, "shot_methods", [])
    return [(m, s) for m in cfg.methods for s in settings(cfg.protocol, cfg.seed) if runs_for(m, s, shot_methods)]


def meta_stage(stage: str, depth: str = "input") -> str:
    """A teach or distill stage's name for one meta-prompt depth: "teach", "distill" (input);
    "teach-deep", "distill-deep" (deep). Names the checkpoints, the log stages and the dry run's lines."""
    return stage if depth == "input" else f"{stage}-{depth}"


def teachers_dir(out: Path, depth: str = "input") -> Path:
    """The teach stage's folder for one meta-prompt depth: OUT/teachers (input), OUT/teachers-deep (deep)."""
    return Path(out) / ("teachers" if depth == "input" else f"teachers-{depth}")


def distill_dir(out: Path, depth: str = "input") -> Path:
    """The distill stage's folder (the meta-prompt) for one depth: OUT/distill (input), OUT/distill-deep (deep)."""
    return Path(out) / ("distill" if depth == "input" else f"distill-{depth}")


def artifact_dir(out: Path, method: str, setting: Setting) -> Path:
    """The folder of a run's trained artifacts (one subfolder per task) and its log.jsonl:
    OUT/adapt/<variant> for rows with artifacts "adapt" (the MPT methods), else OUT/targets/<method>/<setting>."""
    r = row(method)
    if r.artifacts == "adapt":
        return Path(out) / "adapt" / variant_name(setting, r.trains_meta_prompt)
    return Path(out) / "targets" / r.artifact_owner / setting.name


def artifact_run(out: Path, folder: Path) -> tuple[str, Setting] | None:
    """The inverse of `artifact_dir` (or of one task's subfolder of it): (the method the artifacts are
    stored under, their setting) for OUT/adapt/<variant>[/<task>] or OUT/targets/<method>/<setting>[/<task>];
    None for any other folder. The setting's seed is the one its name holds (None for full and k0)."""
    parts = Path(folder).relative_to(out).parts
    if len(parts) in (2, 3) and parts[0] == "adapt":
        setting, trains_meta_prompt = parse_variant(parts[1])
        return (adapt_method(trains_meta_prompt), setting) if setting else None
    if len(parts) in (3, 4) and parts[0] == "targets" and parts[1] in TABLE:
        setting = parse_setting(parts[2])
        return (parts[1], setting) if setting else None
    return None


# ---- config keys ------------------------------------------------------------------------------------

# Settings that change where or how a stage runs, not what it computes: left out of stage keys, so moving
# a run to another device, turning on gradient checkpointing or caching teacher outputs on disk reuses
# the stages already finished.
EXECUTION_ONLY = {"backbone": ("device", "gradient_checkpointing", "compile", "shape"), "distill": ("teacher_cache",)}
SHARED = ("backbone", "data", "prompt")        # what every stage depends on
META_STAGES = ("teach", "distill")              # what the (input-level) meta-prompt depends on
# per meta-prompt depth: the sections its teach and its distill stage depend on (besides SHARED); the deep
# stages take teach's and distill's settings with their own rates (`deep`)
TEACH_SECTIONS = {"input": ("teach",), "deep": ("teach", "deep.teach_lr")}
META_SECTIONS = {"input": META_STAGES, "deep": META_STAGES + ("deep",)}


def section(d: dict, path: str):
    """The value at a dotted path ("baselines.lora") of a config dict."""
    for part in path.split("."):
        d = d[part]
    return d


def train_sections(d: dict) -> list[dict]:
    """Every train config (a dict with 'log_to') nested in the config dict `d`."""
    found = [d] if "log_to" in d else []
    for value in d.values():
        if isinstance(value, dict):
            found += train_sections(value)
    return found


def keyed_dict(cfg: RunConfig) -> dict:
    """The config as a dict, without what changes where or how work runs rather than what it computes
    (execution-only settings, where training curves are logged)."""
    d = to_dict(cfg)
    for name, fields in EXECUTION_ONLY.items():
        for f in fields:
            d[name].pop(f, None)
    for train_cfg in train_sections(d):
        train_cfg.pop("log_to", None)
    if d["backbone"].get("load_in") == "none":  # quantised weights change the numbers: keyed only when asked for
        d["backbone"].pop("load_in")
    if d["adapt"].get("meta_prompt"):  # a given P* is keyed by its checksum, not by where it lies
        d["adapt"]["meta_prompt"] = meta_source.identity(d["adapt"]["meta_prompt"])
    else:
        d["adapt"].pop("meta_prompt", None)  # unset: the keys of runs that distil stay as they were
    return d


def stage_key(cfg: RunConfig, sections: tuple[str, ...]) -> str:
    """Hash of the config sections (top-level or dotted) a stage depends on, execution-only settings left out."""
    d = keyed_dict(cfg)
    blob = json.dumps({s: section(d, s) for s in sections} | {"seed": cfg.seed}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def teach_key(cfg: RunConfig, depth: str = "input") -> str:
    """Config key of the teachers of one meta-prompt depth (OUT/teachers, OUT/teachers-deep)."""
    return stage_key(cfg, SHARED + TEACH_SECTIONS[depth])


def distill_key(cfg: RunConfig, depth: str = "input") -> str:
    """Config key of the distilled meta-prompt of one depth (OUT/distill, OUT/distill-deep)."""
    return stage_key(cfg, SHARED + META_SECTIONS[depth])


def _upstream(cfg: RunConfig, method: str) -> tuple[str, ...]:
    """What a method's P* depends on: this run's teach + distill sections of its depth, or the identity
    of the artifact `adapt.meta_prompt` names (input-level only)."""
    depth = row(method).meta_prompt
    if not depth:
        return ()
    return ("adapt.meta_prompt",) if depth == "input" and meta_source.given(cfg) else META_SECTIONS[depth]


def method_key(cfg: RunConfig, method: str) -> str:
    """Config key of one method's results: the shared sections, the eval section and the method's own
    section from the table (a top-level one, e.g. adapt, joins the hash; a nested one, e.g. baselines.pt,
    is hashed on its own so that changing one baseline's learning rate does not redo the others)."""
    r = row(method)
    base = SHARED + ("eval",) + _upstream(cfg, method)
    if r.section and "." not in r.section:
        return stage_key(cfg, base + (r.section,))
    own = section(keyed_dict(cfg), r.section) if r.section else {}  # a method without settings hashes {}
    return stage_key(cfg, base) + hashlib.sha256(json.dumps(own, sort_keys=True).encode()).hexdigest()[:8]


def artifact_key(cfg: RunConfig, method: str, setting: Setting, seed: int) -> str:
    """Config key of one task's trained artifact: a saved one with this key is loaded, not retrained.
    Methods that share artifacts (mpt, mpt-vectors) get the same key."""
    r = row(method)
    own = stage_key(cfg, (r.section,) if r.section else ())
    return stage_key(cfg, SHARED + _upstream(cfg, method)) + f"-{setting.shots}-{seed}-{r.trains_meta_prompt}-{own}"


# ---- config rewrites ----------------------------------------------------------------------------------

def replace_path(obj, path: str, value):
    """A copy of the dataclass `obj` with the field at dotted `path` set to `value`."""
    head, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(obj, **{head: value})
    return dataclasses.replace(obj, **{head: replace_path(getattr(obj, head), rest, value)})


def with_lr(cfg: RunConfig, method: str, lr: float, fields: tuple[str, ...] | None = None) -> RunConfig:
    """A copy of `cfg` whose `method` trains with learning rate `lr` (every lr field of its row, or `fields`)."""
    r = TABLE.get(method)
    if r is None or not r.lr_fields:
        raise ConfigError(f"--method: {method!r} trains nothing or is unknown; choose {', '.join(TRAINABLE)}")
    for path in fields or r.lr_fields:
        if path not in r.lr_fields:
            raise ConfigError(f"{path!r} is not a learning-rate field of {method}; "
                              f"choose {', '.join(r.lr_fields)}")
        cfg = replace_path(cfg, path, lr)
    return cfg


def with_target_steps(cfg: RunConfig, steps: int) -> RunConfig:
    """A copy of `cfg` whose target-task trainings (every method's TrainConfig) all run `steps` steps."""
    for path in dict.fromkeys(r.train for r in TABLE.values() if r.train):
        cfg = replace_path(cfg, path + ".steps", steps)
    return cfg

