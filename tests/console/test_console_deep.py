"""A deep library entry in the web console (headless Chromium against a live server on the real engine):
the task list offers it, says it is a deep prefix, answers it, and the library page marks it deep."""

from __future__ import annotations

import argparse

import pytest
from console_fixtures import live
from test_console_browser import open_task, run

from clinical_mpt.serve.engine import Engine, EngineConfig


@pytest.fixture(scope="module")
def deep_server(deep_run, tiny_backbone, tmp_path_factory):
    from clinical_mpt.commands import library

    lib = tmp_path_factory.mktemp("console_deep") / "lib"
    parser = argparse.ArgumentParser()
    library.configure(parser)
    assert library.main(parser.parse_args(["add", str(lib), "--from-run", str(deep_run), "--method", "prefix"])) == 0
    engine = Engine.from_library(lib, backbone=tiny_backbone, config=EngineConfig(max_new_tokens=4))
    with live(engine, lib) as server:
        yield server


def test_a_deep_task_is_listed_answered_and_marked(page, deep_server):
    open_task(page, deep_server.url, "dose_qa")
    assert page.eval_on_selector_all("#task option", "os => os.map(o => o.value).filter(v => v)") == \
        ["dose_qa", "drug_mcqa"]
    info = page.inner_text("#task-info")
    assert "method prefix" in info and "prompt length 8" in info and "deep prefix in the KV cache" in info
    run(page)
    assert page.is_visible("#result")
    page.goto(f"{deep_server.url}/#library")
    page.wait_for_selector("#library-table tbody tr")
    methods = page.eval_on_selector_all("#library-table tbody tr", "rs => rs.map(r => r.cells[2].textContent)")
    assert methods == ["prefix (deep)", "prefix (deep)"]
