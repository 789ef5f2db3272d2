"""Serve every mentorflow deployment, with its schedule, from one process.

    python -m deployments.serve          # needs PREFECT_API_URL and the MENTORFLOW_* settings

The process polls the Prefect API for runs of its deployments and starts each run as a
subprocess. To run the same flows on a work pool instead, see ``deployments/prefect.yaml``.

Environment (defaults chosen for mentorflow, not Prefect's):

=================================  =========  ==================================================
PREFECT_RUNNER_POLL_FREQUENCY      1          seconds between polls; Prefect's default of 10 s
                                              adds ~5 s to every wake (see BENCHMARKS.md)
PREFECT_FLOWS_HEARTBEAT_FREQUENCY  30         seconds between a running flow's heartbeats
                                              (Prefect's minimum); the reconciler uses them
MENTORFLOW_RUNNER_LIMIT            16         flow runs executing at once (~95 MB each)
MENTORFLOW_RECONCILE_EVERY         60s        the reconciler's interval
MENTORFLOW_ENGINE_STALE_AFTER      3 beats    a pending/running run silent this long lost its
                                              process: the reconciler reschedules it
MENTORFLOW_WARM_START              on         fork flow runs from a preloaded process instead
                                              of a new interpreter (deployments/warm_start.py)
=================================  =========  ==================================================
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prefect import Flow
from prefect.runner import Runner
from prefect.types.entrypoint import EntrypointType

from deployments.warm_start import use_warm_flow_processes, warm_start_enabled
from flows.lifecycle import mentorship_lifecycle
from flows.reconciler import reconcile
from flows.sweeps import housekeeping, inactivity_sweep, meetings_sweep, pending_answers_sweep, send_mail
from models.settings import parse_duration
from services.engine_state import LIFECYCLE_DEPLOYMENT_NAME, RECONCILER_DEPLOYMENT_NAME

TAGS = ["mentorflow"]

#: Scheduled sweeps (DESIGN rule 4): one line each — flow, deployment name, interval.
SWEEPS: list[tuple[Flow[..., Any], str, timedelta]] = [
    (inactivity_sweep, "daily", timedelta(days=1)),
    (pending_answers_sweep, "hourly", timedelta(hours=1)),
    (meetings_sweep, "hourly", timedelta(hours=1)),
    (housekeeping, "daily", timedelta(days=1)),
    (send_mail, "every-minute", timedelta(minutes=1)),
]


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _duration_env(name: str, default: timedelta) -> timedelta:
    raw = os.environ.get(name)
    if not raw:
        return default
    value = parse_duration(raw)
    if not isinstance(value, timedelta):
        raise ValueError(f"{name}={raw!r}: expected a duration such as 90s, 15m, 2h")
    return value


def poll_seconds() -> int:
    return _int_env("PREFECT_RUNNER_POLL_FREQUENCY", 1)


def heartbeat_seconds() -> int:
    return max(30, _int_env("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", 30))


@dataclass(frozen=True)
class Served:
    """One deployment this process serves: its flow, name and options (interval, parameters)."""

    flow: Flow[..., Any]
    name: str
    options: dict[str, Any] = field(default_factory=dict)


def served() -> list[Served]:
    """What ``main`` serves (``prefect.yaml`` declares the same for work pools)."""
    stale_after = _duration_env("MENTORFLOW_ENGINE_STALE_AFTER", timedelta(seconds=3 * heartbeat_seconds()))
    reconcile_every = _duration_env("MENTORFLOW_RECONCILE_EVERY", timedelta(minutes=1))
    reconciler_parameters = {
        "stale_after_seconds": int(stale_after.total_seconds()),
    }
    return [
        Served(mentorship_lifecycle, LIFECYCLE_DEPLOYMENT_NAME),
        Served(
            reconcile,
            RECONCILER_DEPLOYMENT_NAME,
            {"interval": reconcile_every, "parameters": reconciler_parameters},
        ),
        *(Served(flow, name, {"interval": every}) for flow, name, every in SWEEPS),
    ]


def main() -> None:
    """Serve every deployment with the flow objects in memory, so that Prefect starts runs
    from them (forked from a warm process, see ``deployments/warm_start.py``) rather than by
    running ``python -m prefect.engine`` for each."""
    # Prefect's console handler sits on the root logger at WARNING: let the reconciler's
    # decisions and the engine's notes through to the runner's log
    for name in ("flows", "tasks"):
        logging.getLogger(name).setLevel(logging.INFO)
    if warm_start_enabled():
        use_warm_flow_processes()
    runner = Runner(
        name="mentorflow",
        limit=_int_env("MENTORFLOW_RUNNER_LIMIT", 16),
        query_seconds=poll_seconds(),
        heartbeat_seconds=heartbeat_seconds(),
        pause_on_shutdown=False,
    )
    for one in served():
        runner.add_flow(
            one.flow, name=one.name, tags=TAGS, entrypoint_type=EntrypointType.MODULE_PATH, **one.options
        )
    try:
        asyncio.run(runner.start())
    except KeyboardInterrupt:
        pass  # Ctrl-C: the runner has shut down


if __name__ == "__main__":
    main()
