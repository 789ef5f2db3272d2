"""``deployments/prefect.yaml`` (work pools) declares the same deployments, schedules and
parameters as ``python -m deployments.serve``, so the two ways to run mentorflow never drift."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployments.serve import served

Declared = tuple[str, str, float | None, tuple[tuple[str, Any], ...], tuple[int, str] | None]


def from_yaml(path: Path) -> set[Declared]:
    found: set[Declared] = set()
    for d in yaml.safe_load(path.read_text())["deployments"]:
        file, function = d["entrypoint"].split(":")
        module = file.removesuffix(".py").replace("/", ".")
        intervals = [s["interval"] for s in d.get("schedules", [])]
        found.add(
            (
                d["name"],
                f"{module}.{function}",
                float(intervals[0]) if intervals else None,
                tuple(sorted((d.get("parameters") or {}).items())),
                _limit(d.get("concurrency_limit")),
            )
        )
    return found


def _limit(declared: Any) -> tuple[int, str] | None:
    if declared is None:
        return None
    if isinstance(declared, dict):
        return (declared["limit"], str(declared.get("collision_strategy", "ENQUEUE")))
    return (declared.limit, declared.collision_strategy.value)


def from_serve() -> set[Declared]:
    found: set[Declared] = set()
    for one in served():
        interval = one.options.get("interval")
        found.add(
            (
                one.name,
                f"{one.flow.fn.__module__}.{one.flow.fn.__name__}",
                interval.total_seconds() if isinstance(interval, timedelta) else None,
                tuple(sorted((one.options.get("parameters") or {}).items())),
                _limit(one.options.get("concurrency_limit")),
            )
        )
    return found


def test_the_work_pool_file_declares_what_serve_runs(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY",
        "MENTORFLOW_RECONCILE_EVERY",
        "MENTORFLOW_ENGINE_STALE_AFTER",
    ):
        monkeypatch.delenv(name, raising=False)  # the defaults are what the file writes down
    assert from_yaml(repo_root / "deployments" / "prefect.yaml") == from_serve()
