"""The `TaskType` contract: how one kind of clinical task becomes text-to-text for a causal LM.

A task type is the one place its kind of task is defined: its input fields (`inputs`, read by the
canonical validation, the server's input checks, the synthetic suite and the web console), the check of
its gold fields (`validate`), its prediction field, and the text-to-text round trip. It turns a
canonical example (see `clinical_mpt.data.canonical`) into
`format_input(ex, instruction)` + `format_target(ex)`; the model is trained to generate the target
after the input. At evaluation time the generated text goes through `parse(text, ex)`, which never
raises, and the resulting prediction dicts are scored by `score(gold, preds)`.

Every input ends with the cue `INPUT_CUE` ("\\nAnswer:") and every target starts with a single
space, so `format_input(ex) + format_target(ex)` reads naturally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from clinical_mpt.errors import DataError
from clinical_mpt.tasks.normalize import ended_line

INPUT_CUE = "\nAnswer:"
# A task's name (e.g. "med_ner") is a folder name in a suite and in a prompt library: no '/', no '..'.
TASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
INPUT_KINDS = ("text", "line", "options")


@dataclass(frozen=True)
class InputField:
    """One input field of a task type, as a request or a canonical example gives it.

    - `kind`: "text" (a string, shown as a multi-line box), "line" (a string, shown as one line) or
      "options" (an object mapping at least two keys to option texts, e.g. {"A": "aspirin", "B": "heparin"}).
    - `label`: what the web console calls the field.
    - `optional`: the field may be absent.
    """

    name: str
    label: str
    kind: str = "text"
    optional: bool = False

    def __post_init__(self):
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"input field {self.name!r}: kind {self.kind!r} is not one of {', '.join(INPUT_KINDS)}")


@dataclass(frozen=True)
class TaskType:
    """One task type, e.g. "ner" or "mcqa" (the registered ones: `clinical_mpt.tasks.registry`).

    - `label`: the type's name for people (the web console's task groups).
    - `inputs`: the fields an example's input is made of, in display order.
    - `prediction_field`: the key of the parsed value in a prediction row ("entities", "answer", ...).
    - `validate(ex, where)`: raise `DataError` naming `where` unless the example's gold fields are
      well formed (its `inputs` are checked before, by `clinical_mpt.data.canonical.validate_example`).
    - `primary_metric`: the key of `score(...)` that summarises the task (ner/re/qa f1, mcqa accuracy,
      nli macro_f1, summarization rougeL).
    - `max_new_tokens`: generation budget; enough for a typical target, small enough to be fast.
    - `default_instruction`: the one-line instruction used when a task gives none.
    - `format_input(ex, instruction | None) -> str`: model input, ending with "\\nAnswer:".
    - `format_target(ex) -> str`: the text the model must generate, starting with one space.
    - `parse(generated, ex) -> {"id": ex["id"], <prediction field>: value}`; never raises.
    - `score(gold, preds) -> {metric: fraction in [0, 1], ..., "n": len(gold)}`; `preds` aligned
      with `gold` by position.
    - `prediction_item(item, where)`: None when the prediction is a string; else the prediction is a
      list and this raises `DataError` naming `where` for a malformed item.
    - `answer_complete(generated so far) -> bool`: the answer-format stop: True once `parse` can no
      longer change its answer (a finished line, a repeated `Label: text` pair, ...); the decoder may
      stop that row there.
    - `metric_is_mean`: the primary metric is the mean of per-example scores (a bootstrap may average
      the examples' own scores instead of rescoring each resample).
    - `item_keys(row) -> set`: for micro-F1 types, the items a row is scored on (entities, relations),
      so a bootstrap can sum per-example counts; None for other types.
    """

    name: str
    label: str
    primary_metric: str
    max_new_tokens: int
    default_instruction: str
    inputs: tuple[InputField, ...]
    prediction_field: str
    validate: Callable[[dict, str], None]
    format_input: Callable[[dict, str | None], str]
    format_target: Callable[[dict], str]
    parse: Callable[[str, dict], dict]
    score: Callable[[list[dict], list[dict]], dict]
    prediction_item: Callable[[Any, str], None] | None = None
    answer_complete: Callable[[str], bool] = ended_line
    metric_is_mean: bool = False
    item_keys: Callable[[dict], set] | None = None

    def empty_prediction(self) -> Any:
        """The value that stands in for a missing prediction: no items, or ""."""
        return [] if self.prediction_item is not None else ""


def build_input(instruction: str, lines: list[str]) -> str:
    """`instruction`, then the example's lines (e.g. "Text: ..."), then the answer cue.

    >>> build_input("Do it.", ["Text: abc"])
    'Do it.\\nText: abc\\nAnswer:'
    """
    return "\n".join([instruction.strip(), *lines]) + INPUT_CUE


def check_aligned(gold: list[dict], preds: list[dict]) -> None:
    """Scorers take predictions aligned with gold by position; a length mismatch is a caller bug."""
    if len(gold) != len(preds):
        raise ValueError(f"got {len(preds)} predictions for {len(gold)} gold examples; align them first "
                         "(clinical_mpt.tasks.score_predictions aligns by id)")


def need_str(ex: dict, key: str, where: str) -> str:
    """`ex[key]` when it is a string; DataError naming `where` and the field otherwise."""
    value = ex.get(key)
    if not isinstance(value, str):
        raise DataError(f"{where}: field '{key}' must be a string, got {type(value).__name__}")
    return value
