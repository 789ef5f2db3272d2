"""Debian's Chromium through Playwright: one browser per test process, for every suite.

Playwright's sync API runs its own event loop in the calling thread; a second
``sync_playwright()`` in the same process while the first is alive fails ("using Playwright
Sync API inside the asyncio loop"). So the portal suite and the engine's portal test share
this one session fixture (registered by ``tests/conftest.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: the test command installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
