"""The synthetic clinical benchmark: 21 source + 10 target tasks, deterministic from a seed.

SYNTHETIC: generated from curated vocabularies and templates (no patient data). It shows that the
pipeline trains and transfers across task types and institution styles; it cannot show clinical
validity or real-world accuracy. See docs/synthetic-suite.md.

    generate_suite(out_dir, seed=0) -> suite dict   (writes suite.json and <role>/<task>/<split>.jsonl)
    build_suite(seed=0) -> (suite dict, {task: {split: [examples]}})   (pure)
"""

from clinical_mpt.data.synth.suite import build_suite, generate_suite
from clinical_mpt.data.synth.tasks import TASKS, TaskSpec

__all__ = ["build_suite", "generate_suite", "TASKS", "TaskSpec"]
