"""Serve mentorflow's background tasks (every fact's consequences) until stopped.

    python -m deployments.task_worker     # needs PREFECT_API_URL and the MENTORFLOW_* settings

A warm Prefect task worker (``prefect.task_worker.serve``): it imported everything once and
picks up each ``handle-events`` task the API submits with ``.delay()`` over a websocket, in a
fraction of a second. Run as many as you like, on as many machines: one mentorship's events
are handled by one worker at a time (``services.handling``), and every step is idempotent.
Task parameters travel through Prefect's result storage, so every machine that submits or
serves tasks needs the same ``PREFECT_LOCAL_STORAGE_PATH`` (or another shared result store).

``MENTORFLOW_TASK_WORKER_LIMIT`` (default 8): tasks one worker runs at once.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings

# Prefect sends the logs of flow runs to its API; a background task has none. The setting
# alone is not enough: a background task runs in the settings of the process that submitted
# it (the API's, serialized with the task), where it is "warn", and a warning for every task
# run filled the worker's log (2,134 in benchmarks/throughput.py's run).
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
warnings.filterwarnings("ignore", message=r".*attempted to send logs to the API without a flow run id")

from prefect.events import emit_event  # noqa: E402 - after the setting above
from prefect.task_worker import serve  # noqa: E402

from tasks.consequences import handle_events  # noqa: E402

log = logging.getLogger("deployments.task_worker")


def announce() -> None:
    """Say in Prefect's event feed that this worker started, before it serves anything.

    It also creates Prefect's events worker here, in the main thread. Prefect 3.9.1 deadlocks
    a task worker whose first events worker is created by a task thread while the event-loop
    thread asks for one too (a burst of tasks right at start): the task thread holds the
    instance lock and waits for the loop, the loop waits for the lock. Measured in the
    scale-out test: the worker received tasks and finished none.
    """
    emit_event(
        event="mentorflow.task-worker.started",
        resource={"prefect.resource.id": f"mentorflow.task-worker.{socket.gethostname()}.{os.getpid()}"},
    )


def main() -> None:
    for name in ("deployments", "tasks"):
        logging.getLogger(name).setLevel(logging.INFO)
    limit = int(os.environ.get("MENTORFLOW_TASK_WORKER_LIMIT") or 8)
    announce()
    log.info("serving handle-events, %d at a time", limit)
    try:
        serve(handle_events, limit=limit)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
