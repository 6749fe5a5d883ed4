"""Fixtures for the web console tests (helpers in console_fixtures.py): a tiny six-task library, a
LexiconEngine over it, live servers with and without an API key, and a headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from console_fixtures import LexiconEngine, browser_missing, build_console_library, live

from clinical_mpt.serve.engine import EngineConfig


@pytest.fixture(scope="session")
def console_library(tiny_backbone, tmp_path_factory) -> Path:
    return build_console_library(tmp_path_factory.mktemp("console") / "library", tiny_backbone)


@pytest.fixture(scope="session")
def console_engine(console_library, tiny_backbone):
    return LexiconEngine.from_library(console_library, backbone=tiny_backbone,
                                      config=EngineConfig(max_input_tokens=4096))


@pytest.fixture(scope="session")
def console_server(console_engine, console_library):
    with live(console_engine, console_library) as server:
        yield server


@pytest.fixture(scope="session")
def keyed_server(console_engine, console_library):
    with live(console_engine, console_library, api_key="s3cret-key") as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page; an uncaught JavaScript error on it fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
