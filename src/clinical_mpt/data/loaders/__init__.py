"""Loaders from real clinical corpus formats to canonical examples: one file per format.

`LOADERS` maps a format name (as given to `clinical-mpt data convert --format`) to a function
`load(path: Path, **options) -> list[dict]` returning canonical examples (see
`clinical_mpt.data.canonical`). Every loader raises `DataError` naming the file and line for bad
input (undecodable bytes, empty files, malformed lines, offsets that do not match the text), and
`ConfigError` for options that make no sense. Options are keyword arguments; the CLI passes only
those a loader's signature accepts. A new format is one file here plus one line below.
"""

from __future__ import annotations

from typing import Callable

from clinical_mpt.data.loaders.brat import load_brat
from clinical_mpt.data.loaders.csv_table import load_csv
from clinical_mpt.data.loaders.headqa import load_headqa
from clinical_mpt.data.loaders.i2b2_2010 import load_i2b2_2010
from clinical_mpt.data.loaders.mcqa_jsonl import load_mcqa_jsonl
from clinical_mpt.data.loaders.mednli import load_mednli
from clinical_mpt.data.loaders.squad import load_squad
from clinical_mpt.data.loaders.summarization_jsonl import load_summarization_jsonl

LOADERS: dict[str, Callable[..., list[dict]]] = {
    "brat": load_brat,
    "i2b2-2010": load_i2b2_2010,
    "mednli": load_mednli,
    "squad": load_squad,
    "mcqa-jsonl": load_mcqa_jsonl,
    "headqa": load_headqa,
    "summarization-jsonl": load_summarization_jsonl,
    "csv": load_csv,
}

__all__ = ["LOADERS", "load_brat", "load_csv", "load_headqa", "load_i2b2_2010", "load_mcqa_jsonl", "load_mednli",
           "load_squad", "load_summarization_jsonl"]
