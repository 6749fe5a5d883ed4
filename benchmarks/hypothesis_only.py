"""The hypothesis-only baseline of an NLI data set: how much of the label the hypothesis gives away.

Predicts each test pair's label as the label its hypothesis (exact text) carries most often in the
training split, and the training split's majority label for a hypothesis never seen there. An NLI
model that reads the premise should beat it; synthetic data whose hypotheses are templates makes it
high (docs/results/README.md, "Varied data").

    python benchmarks/hypothesis_only.py runs/suite-x/source/note_nli/train.jsonl runs/suite-x/source/note_nli/test.jsonl
    python benchmarks/hypothesis_only.py TRAIN TEST --first 300     # the first 300 test rows (a run's max_eval_examples)

Prints one JSON object: {"n", "accuracy", "macro_f1", "seen" (the share of test hypotheses that occur
in the training split), "majority_label"}.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def hypothesis_only(train: list[dict], test: list[dict]) -> dict:
    """Score the hypothesis-only predictor of `train` on `test` (canonical NLI rows)."""
    from clinical_mpt.tasks.registry import get_task_type

    by_hypothesis: dict[str, Counter] = defaultdict(Counter)
    for row in train:
        by_hypothesis[row["hypothesis"]][row["label"]] += 1
    majority = Counter(row["label"] for row in train).most_common(1)[0][0]
    preds = [{"label": by_hypothesis[row["hypothesis"]].most_common(1)[0][0] if row["hypothesis"] in by_hypothesis
              else majority} for row in test]
    metrics = get_task_type("nli").score(test, preds)
    seen = sum(row["hypothesis"] in by_hypothesis for row in test) / len(test)
    return {"n": len(test), "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "seen": seen,
            "majority_label": majority}


def main(argv: list[str] | None = None) -> int:
    from clinical_mpt.data.canonical import validate_examples
    from clinical_mpt.data.jsonl import read_jsonl

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("train", type=Path, help="canonical NLI JSONL the predictor is read from")
    p.add_argument("test", type=Path, help="canonical NLI JSONL it is scored on")
    p.add_argument("--first", type=int, metavar="N", help="score only the first N test rows")
    args = p.parse_args(argv)
    train = validate_examples(read_jsonl(args.train), str(args.train), "nli")
    test = validate_examples(read_jsonl(args.test), str(args.test), "nli")[:args.first]
    print(json.dumps(hypothesis_only(train, test)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
