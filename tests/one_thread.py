"""One torch thread while a folder's tests run (its conftest.py imports the fixture): tiny models gain
nothing from intra-op threads, and on a shared 2-core box the threads only spin."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
