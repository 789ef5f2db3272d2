"""Start flow runs from a warm process instead of a fresh interpreter.

Prefect's runner starts every flow run, and every resume of a suspended lifecycle run, in a
new interpreter (``multiprocessing``'s *spawn*), which imports Prefect and our flows again:
about 1.2 s of CPU per resume on this kind of machine, all of it before the first line of the
flow runs. Here the runner uses a *forkserver* instead: one process that imported the flows
once, and forks a child for each run in milliseconds. The child is a fresh copy of that
process, so each run is as isolated as before, and its environment and settings are set up
by Prefect exactly as for a spawned one.

It works by swapping the ``multiprocessing`` module that ``prefect.flow_engine`` holds for one
whose ``get_context`` gives the forkserver: ``run_flow_in_subprocess`` takes its context from
there, and Prefect documents that function as the runner's point to override. Pinned to the
Prefect version in ``requirements.lock``; ``MENTORFLOW_WARM_START=off`` goes back to spawn.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
from types import SimpleNamespace

import prefect.flow_engine

#: What the forkserver imports before it forks anything: every flow the runner serves, and the
#: certificate renderer (WeasyPrint costs about a second to import, in every closing pass),
#: warmed by one throwaway render per language (the first render loads fonts and styles);
#: last, the heap so made is frozen, out of the forked runs' garbage collections.
PRELOAD = [
    "flows.lifecycle",
    "flows.reconciler",
    "flows.sweeps",
    "tasks.certificate",
    "deployments.certificate_warm_up",
    "deployments.freeze_heap",
]


def warm_start_enabled() -> bool:
    return os.environ.get("MENTORFLOW_WARM_START", "on").strip().lower() != "off"


def use_warm_flow_processes(preload: list[str] = PRELOAD) -> None:
    """From now on, flow runs this process starts are forked from a preloaded server."""
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(preload)
    prefect.flow_engine.multiprocessing = SimpleNamespace(  # type: ignore[assignment, attr-defined]
        get_context=lambda _method=None: forkserver,
        context=multiprocessing.context,
    )
