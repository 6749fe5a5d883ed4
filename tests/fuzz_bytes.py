"""A hypothesis strategy shared by the fuzz tests: a file's bytes, mutated."""

from __future__ import annotations

from hypothesis import strategies as st


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
