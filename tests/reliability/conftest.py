"""The full-size fault scenario runs only when ``-m`` names ``reliability_full``: a plain
``pytest`` (and the test command) leaves it out."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "reliability_full" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="full size: run with -m reliability_full (see RELIABILITY.md)")
    for item in items:
        if item.get_closest_marker("reliability_full"):
            item.add_marker(skip)
