"""Hypothesis helpers shared by the fuzz tests: their settings, and a file's bytes, mutated."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CAMPAIGN = int(os.environ.get("CLINICAL_MPT_FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(examples: int, campaign_factor: int = 1) -> settings:
    """`examples` examples per test; under CLINICAL_MPT_FUZZ_EXAMPLES=N (a random campaign, the
    "campaign" profile of tests/conftest.py) N x campaign_factor new ones each run: that is how new
    bugs are found, and each one found becomes a regression test. The default suite replays the same
    derandomized examples ("replay" profile), so CI cannot fail on a case drawn for the first time."""
    return settings(max_examples=CAMPAIGN * campaign_factor or examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def mutated_bytes(draw, original: bytes, special: list[bytes], random_size: int = 200,
                  duplicate: bool = False) -> bytes:
    """Random bytes (at most `random_size`), or `original` after 1-4 edits at random places: insert,
    delete, overwrite or truncate, with chunks drawn from `special` or random; `duplicate` adds an edit
    that repeats the 20 bytes before the place."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=random_size))
    data = bytearray(original)
    ops = ["insert", "delete", "overwrite", "truncate"] + (["duplicate"] if duplicate else [])
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(ops))
        chunk = draw(st.sampled_from(special) | st.binary(min_size=1, max_size=3))
        if op == "insert":
            data[pos:pos] = chunk
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 8))]
        elif op == "overwrite":
            data[pos:pos + len(chunk)] = chunk
        elif op == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = data[max(0, pos - 20):pos]
    return bytes(data)
