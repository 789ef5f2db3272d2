"""Run the fast lane (``flows/fast_lane.py``) until SIGTERM or Ctrl-C.

    python -m deployments.fast_lane      # needs the MENTORFLOW_* settings and PREFECT_API_URL

One per installation is enough; a second one is harmless (every step is idempotent) but does
the same work twice. Settings: ``MENTORFLOW_FAST_LANE_POLL`` (default 100ms) and
``MENTORFLOW_FAST_LANE_WORKERS`` (default 4).
"""

from __future__ import annotations

import logging
import os
import signal
import threading

# Its steps run as Prefect tasks outside any flow run: their logs stay in this process's log.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

from flows.fast_lane import FastLane  # noqa: E402 - after the Prefect setting above
from models.settings import get_settings  # noqa: E402

log = logging.getLogger("deployments.fast_lane")


def main() -> None:
    # Prefect's console handler sits on the root logger (level WARNING): let ours through
    for name in ("deployments", "flows", "tasks"):
        logging.getLogger(name).setLevel(logging.INFO)
    settings = get_settings()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    lane = FastLane(poll_seconds=settings.fast_lane_poll.total_seconds(), workers=settings.fast_lane_workers)
    log.info("watching the event log every %.0f ms", lane.poll_seconds * 1000)
    lane.run(stop)
    log.info("stopped")


if __name__ == "__main__":
    main()
