"""THE method table: every target-task method is one row here plus one module with its `fit`.

A row says where the method's settings live in the run config, which learning rates a sweep may set,
what it trains, and where its fit function is. Every other list of methods is derived from this table
(config.METHODS, NEEDS_META_PROMPT, meta_prompt_depths: which teach + distill stages `run` trains, the
sweep's learning-rate fields, the result keys in protocol.py, the sharded-backbone guard, the report's
row order and labels); tests/methods/test_table.py fails if a method name appears anywhere in the
package without a row.

Torch-free: rows name their functions by "module:function" and `Row.fit` imports on call, so the CLI,
the config and `--dry-run` can read the table without loading torch.

Adding a method = one module with `fit(ctx, task, seed, log_path) -> Fitted` (methods/base.py) + one row.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from clinical_mpt.errors import ConfigError

META_PROMPT_DEPTHS = ("input", "deep")  # the two forms of the teach + distill stages, in the order `run` trains them


@dataclass(frozen=True)
class Row:
    name: str                      # the name in `methods:` of a config and in results.json
    label: str                     # the report's row label
    fit_path: str                  # "module:function", fit(ctx, task, seed, log_path) -> Fitted
    section: str | None            # dotted config path of the method's own settings (None: it has none)
    train: str | None              # dotted config path of its TrainConfig (steps, lr, ...); None: trains nothing
    lr_fields: tuple[str, ...] = ()  # dotted learning-rate fields a sweep sets (more than one: per parameter group)
    trains_backbone: bool = False  # updates backbone weights (needs an unsharded private copy)
    meta_prompt: str | None = None  # starts from the distilled P* of this depth: "input" (OUT/distill) or
    #                                 "deep" (OUT/distill-deep), made by the run's teach + distill stages
    trains_meta_prompt: bool = False  # also updates P* (in adapt/: the folder adapt/<setting>-metaprompt)
    artifacts: str = "targets"     # "adapt": OUT/adapt/<variant>, the adapt stage's prompts (u, v[, P*]);
    #                                "targets": OUT/targets/<method>/<setting>
    shares_artifacts_with: str | None = None  # another row whose trained artifacts this one evaluates as is
    load_prompt_path: str | None = None  # "module:function", (ctx, tensors) -> (L, d) prompt: a saved
    #                                      artifact with the same key is loaded instead of retrained
    paired_reference: bool = False  # results.json's paired deltas compare every meta-prompt method with it

    def __post_init__(self):
        if self.meta_prompt not in (None, *META_PROMPT_DEPTHS):
            raise ValueError(f"row {self.name}: meta_prompt {self.meta_prompt!r} is not one of "
                             f"{', '.join(META_PROMPT_DEPTHS)} or None")

    @property
    def needs_meta_prompt(self) -> bool:
        """Starts from a distilled P* (of either depth)."""
        return self.meta_prompt is not None

    @property
    def trains(self) -> bool:
        return self.train is not None

    @property
    def artifact_owner(self) -> str:
        """The method whose name the trained artifacts are stored under."""
        return self.shares_artifacts_with or self.name

    def fit(self):
        return _resolve(self.fit_path)

    def load_prompt(self):
        return _resolve(self.load_prompt_path) if self.load_prompt_path else None


def _resolve(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


_MPT = "clinical_mpt.methods.mpt"
_DEEP = "clinical_mpt.methods.deep_mpt"
# The report lists the rows bottom-up: zero-shot and the baselines first, then MPT, deep MPT and prefix.
ROWS: tuple[Row, ...] = (
    # a fresh per-layer key/value prefix per task (P-Tuning v2): the deep baseline
    Row("prefix", "Prefix tuning (deep)", "clinical_mpt.methods.prefix:fit", "baselines.prefix", "baselines.prefix",
        ("baselines.prefix.lr",), paired_reference=True),  # the deep methods' single-task counterpart
    # per-layer u, v of the deep meta-prompt: prefix_l = P*_l o (u_l v_l^T)
    Row("deep-mpt", "Deep MPT (u, v)", f"{_DEEP}:fit", "adapt", "adapt.deep", ("adapt.deep.lr",),
        meta_prompt="deep"),
    # deep P*, u, v
    Row("deep-mpt-full-prompt", "Deep MPT (P*, u, v)", f"{_DEEP}:fit_full_prompt", "adapt", "adapt.deep",
        ("adapt.deep.lr",), meta_prompt="deep", trains_meta_prompt=True),
    # u, v only: r(L + d) parameters per task
    Row("mpt", "MPT (u, v)", f"{_MPT}:fit", "adapt", "adapt.train", ("adapt.train.lr", "adapt.lr_vectors"),
        meta_prompt="input", artifacts="adapt", load_prompt_path=f"{_MPT}:load_prompt"),
    # the study's name for mpt: evaluates mpt's prompts
    Row("mpt-vectors", "MPT (u, v)", f"{_MPT}:fit", "adapt", "adapt.train", ("adapt.train.lr", "adapt.lr_vectors"),
        meta_prompt="input", artifacts="adapt", shares_artifacts_with="mpt", load_prompt_path=f"{_MPT}:load_prompt"),
    # P*, u, v
    Row("mpt-full-prompt", "MPT (P*, u, v)", f"{_MPT}:fit_full_prompt", "adapt", "adapt.train",
        ("adapt.train.lr", "adapt.lr_vectors", "adapt.lr_meta_prompt"),
        meta_prompt="input", trains_meta_prompt=True, artifacts="adapt", load_prompt_path=f"{_MPT}:load_prompt"),
    # a fresh L x d prompt per task
    Row("pt", "Prompt tuning", "clinical_mpt.methods.prompt_tuning:fit", "baselines.pt", "baselines.pt",
        ("baselines.pt.lr",), paired_reference=True),
    # peft LoRA on a private copy of the backbone
    Row("lora", "LoRA", "clinical_mpt.methods.lora:fit", "baselines.lora", "baselines.lora.train",
        ("baselines.lora.train.lr",), trains_backbone=True, paired_reference=True),
    # every backbone weight
    Row("full", "Full fine-tuning", "clinical_mpt.methods.full:fit", "baselines.full", "baselines.full",
        ("baselines.full.lr",), trains_backbone=True),
    # nothing trained: the frozen backbone with the plain instruction
    Row("zero-shot", "Zero-shot", "clinical_mpt.methods.zero_shot:fit", None, None),
)

TABLE: dict[str, Row] = {r.name: r for r in ROWS}  # what code looks methods up in (a test may add a row here)
METHOD_NAMES: tuple[str, ...] = tuple(TABLE)
NEEDS_META_PROMPT: frozenset[str] = frozenset(r.name for r in ROWS if r.needs_meta_prompt)
TRAINABLE: tuple[str, ...] = tuple(r.name for r in ROWS if r.lr_fields)
PAIRED_REFERENCES: tuple[str, ...] = tuple(r.name for r in ROWS if r.paired_reference)
BACKBONE_FREE: tuple[str, ...] = tuple(r.name for r in ROWS if not r.trains_backbone)


def meta_prompt_depths(methods) -> list[str]:
    """The meta-prompt depths ("input", "deep") that some of `methods` start from, in training order."""
    needed = {row(m).meta_prompt for m in methods}
    return [d for d in META_PROMPT_DEPTHS if d in needed]


def adapt_rows(trains_meta_prompt: bool) -> list[Row]:
    """The rows whose artifacts are the adapt stage's folders with or without a trained P*, in table order."""
    return [r for r in TABLE.values() if r.artifacts == "adapt" and r.trains_meta_prompt == trains_meta_prompt]


def row(method: str, where: str = "methods") -> Row:
    """The table row of `method`; an unknown name is an error that lists the known ones."""
    if method not in TABLE:
        raise ConfigError(f"{where}: unknown method {method!r}; choose from {', '.join(TABLE)}")
    return TABLE[method]
