"""MedNLI (and any NLI set in its JSONL form): one premise/hypothesis pair per line.

    {"pairID": "...", "sentence1": "premise", "sentence2": "hypothesis", "gold_label": "entailment"}

Other fields (parses, annotator labels) are ignored; a JSON array of such objects is read too.
`gold_label` must be entailment, neutral or contradiction; `-` (no annotator consensus) or an empty
label is an error unless `skip_unlabeled`, and a record without `gold_label` is refused as missing it.
"""

from __future__ import annotations

from pathlib import Path

from clinical_mpt.data.canonical import NLI_LABELS
from clinical_mpt.data.loaders.common import claim_id, get_id, log, missing, need_str, read_json_lines
from clinical_mpt.errors import DataError

UNLABELED = ("-", "")
LAYOUT = "one JSON object per line with pairID, sentence1, sentence2 and gold_label (MedNLI / SNLI layout)"


def load_mednli(path: Path, skip_unlabeled: bool = False) -> list[dict]:
    """Canonical `nli` examples: {id: pairID, type, premise, hypothesis, label}."""
    path = Path(path)
    examples, seen, skipped = [], set(), 0
    for lineno, obj in read_json_lines(path, LAYOUT):
        where = f"{path}:{lineno}"
        if obj.get("gold_label") is None:
            raise missing(obj, "gold_label", where, LAYOUT)
        label = obj["gold_label"]
        if skip_unlabeled and label in UNLABELED:
            skipped += 1
            continue
        if label not in NLI_LABELS:
            hint = " (use --skip-unlabeled to drop unlabelled pairs)" if label in UNLABELED else ""
            raise DataError(f"{where}: unknown gold_label {label!r}; expected one of "
                            f"{', '.join(NLI_LABELS)}{hint}")
        examples.append({
            "id": claim_id(get_id(obj, "pairID", where), seen, where),
            "type": "nli",
            "premise": need_str(obj, "sentence1", where, LAYOUT),
            "hypothesis": need_str(obj, "sentence2", where, LAYOUT),
            "label": label,
        })
    if not examples:
        raise DataError(f"{path}: no labelled pairs ({skipped} unlabelled skipped)")
    if skipped:
        log.warning(f"{path}: skipped {skipped} unlabelled pair(s)")
    return examples
