"""Every loader, fed random or mutated bytes, raises only DataError - and what it returns is valid."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.loaders import LOADERS
from clinical_mpt.errors import DataError
from fuzz_bytes import fuzz_settings, mutated_bytes

FIXTURES = Path(__file__).parent / "fixtures"

# format -> (fixture file or folder, loader options exercising the most code)
CASES = {
    "brat": ("brat", {"type_": "re", "chunk": "sentences", "max_chars": 60}),
    "i2b2-2010": ("i2b2-2010", {"type_": "re", "chunk": "chars", "max_chars": 40}),
    "mednli": ("mednli/mednli.jsonl", {"skip_unlabeled": True}),
    "squad": ("squad/emrqa.json", {}),
    "mcqa-jsonl": ("mcqa-jsonl/mcqa.jsonl", {}),
    "headqa": ("headqa/headqa.json", {}),
    "summarization-jsonl": ("summarization-jsonl/summaries.jsonl", {}),
    "csv": ("csv/summaries.csv", {"skip_empty": True}),
}

# bytes that matter to some format: separators, quotes, digits, broken UTF-8
SPECIAL = [b"\t", b"\n", b"\r\n", b" ", b";", b":", b"|", b'"', b",", b"{", b"}", b"[", b"]", b"0", b"9",
           b"-", b"\\u", b"\xff", b"\xc3", b"\xe2\x80", b"T", b"R", b"E1\t", b"null", b"true"]


def mutate(original: bytes):
    return mutated_bytes(original, SPECIAL, random_size=300, duplicate=True)


@pytest.mark.parametrize("fmt", sorted(CASES))
@fuzz_settings(60)
@given(data=st.data())
def test_loader_raises_only_data_error(fmt, data):
    fixture, options = CASES[fmt]
    with tempfile.TemporaryDirectory() as tmp:
        src = FIXTURES / fixture
        path = Path(tmp) / src.name
        if src.is_dir():
            shutil.copytree(src, path)
            files = sorted(p for p in path.rglob("*") if p.is_file())
        else:
            shutil.copy(src, path)
            files = [path]
        victim = data.draw(st.sampled_from(files), label="file")
        victim.write_bytes(data.draw(mutate(victim.read_bytes()), label="bytes"))
        try:
            rows = LOADERS[fmt](path, **options)
        except DataError:
            return
        validate_examples(rows, f"{fmt} output")
