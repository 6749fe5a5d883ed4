"""The `TaskType` contract: how one kind of clinical task becomes text-to-text for a causal LM.

A task type turns a canonical example (see `clinical_mpt.data.canonical`) into
`format_input(ex, instruction)` + `format_target(ex)`; the model is trained to generate the target
after the input. At evaluation time the generated text goes through `parse(text, ex)`, which never
raises, and the resulting prediction dicts are scored by `score(gold, preds)`.

Every input ends with the cue `INPUT_CUE` ("\\nAnswer:") and every target starts with a single
space, so `format_input(ex) + format_target(ex)` reads naturally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from clinical_mpt.tasks.normalize import ended_line

INPUT_CUE = "\nAnswer:"


@dataclass(frozen=True)
class TaskType:
    """One task type ("ner", "re", "qa", "mcqa", "nli", "summarization").

    - `primary_metric`: the key of `score(...)` that summarises the task (ner/re/qa f1, mcqa accuracy,
      nli macro_f1, summarization rougeL).
    - `max_new_tokens`: generation budget; enough for a typical target, small enough to be fast.
    - `default_instruction`: the one-line instruction used when a task gives none.
    - `format_input(ex, instruction | None) -> str`: model input, ending with "\\nAnswer:".
    - `format_target(ex) -> str`: the text the model must generate, starting with one space.
    - `parse(generated, ex) -> {"id": ex["id"], <prediction field>: value}`; never raises.
    - `score(gold, preds) -> {metric: fraction in [0, 1], ..., "n": len(gold)}`; `preds` aligned
      with `gold` by position.
    - `answer_complete(generated so far) -> bool`: the answer-format stop: True once `parse` can no
      longer change its answer (a finished line, a repeated `Label: text` pair, ...); the decoder may
      stop that row there.
    """

    name: str
    primary_metric: str
    max_new_tokens: int
    default_instruction: str
    format_input: Callable[[dict, str | None], str]
    format_target: Callable[[dict], str]
    parse: Callable[[str, dict], dict]
    score: Callable[[list[dict], list[dict]], dict]
    answer_complete: Callable[[str], bool] = ended_line


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
