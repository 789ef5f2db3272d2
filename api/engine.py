"""The API's narrow interface to the workflow engine: start and wake lifecycle runs.

The API calls ``notify_engine(mentorship_id)`` after a fact is committed. The work happens in
a small thread pool, never on the request path; nothing here raises. If Prefect is slow or
down the fact still stands, its event waits in the log, and the reconciler (every minute)
wakes or starts the run. Runs are addressed by deployment name and flow run id only; the API
never imports ``flows/``.

Setting (read from the environment on every call, so tests can switch it):
``MENTORFLOW_ENGINE=prefect`` (default) or ``off`` (API unit tests: nothing is sent).
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from uuid import UUID

from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import NotPausedError, ObjectNotFound, PrefectHTTPStatusError
from prefect.flow_runs import resume_flow_run
from sqlalchemy import Engine

from models.db import session_scope
from services import engine_state
from services.engine_state import LIFECYCLE_DEPLOYMENT, EngineTarget

log = logging.getLogger(__name__)

ENGINE_SETTING = "MENTORFLOW_ENGINE"
#: A wake that finds the run mid-pass (``NotPausedError``), or loses a race with another wake
#: of the same suspension (HTTP 409: both tried to store the input), tries again after these
#: pauses; a pass suspends within a few seconds, and the reconciler covers anything longer.
WAKE_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def engine_enabled() -> bool:
    return os.environ.get(ENGINE_SETTING, "prefect").strip().lower() != "off"


@cache
def _background() -> ThreadPoolExecutor:
    # Threads mostly sleep between wake retries, so a burst of facts needs a few of them.
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="engine-notify")


def notify_engine(mentorship_id: int, *, db: Engine | None = None) -> Future[None] | None:
    """Start the mentorship's run if it has none, else wake it; in the background.

    Returns the background job (tests may wait on it), or ``None`` when the engine is off.
    """
    if not engine_enabled():
        return None
    return _background().submit(_start_or_wake, mentorship_id, db)


def _start_or_wake(mentorship_id: int, db: Engine | None) -> None:
    try:
        target = _target(mentorship_id, db)
        if target is None:
            return
        if target.flow_run_id is None:
            start_lifecycle(mentorship_id, db=db)
        else:
            wake(mentorship_id, db=db)
    except Exception as error:  # best effort by design: the reconciler catches up
        log.warning("engine not told about mentorship %s: %r", mentorship_id, error)


def start_lifecycle(
    mentorship_id: int, *, db: Engine | None = None, deployment: str = LIFECYCLE_DEPLOYMENT
) -> str | None:
    """Create the mentorship's lifecycle run and remember its id; ``None`` if Prefect failed.

    The idempotency key makes a second call (a retry, a race with the reconciler) return the
    same run. ``timeout=0``: returns once the run is created, without waiting for it.
    """
    name = engine_state.run_name(mentorship_id)
    try:
        run: FlowRun = run_deployment(  # type: ignore[assignment, call-arg]
            deployment,
            parameters={"mentorship_id": mentorship_id},
            flow_run_name=name,
            idempotency_key=name,
            as_subflow=False,
            timeout=0,
            _sync=True,  # never a coroutine, even where a caller's thread runs an event loop
        )
    except Exception as error:
        log.warning("could not start the run of mentorship %s: %r", mentorship_id, error)
        return None
    with session_scope(db) as session:
        engine_state.set_flow_run_id(session, mentorship_id, str(run.id))
    return str(run.id)


def wake(mentorship_id: int, *, db: Engine | None = None) -> bool:
    """Resume the mentorship's suspended run with ``Wake(seq=<newest event>)``.

    Returns True once the run was resumed or has caught up by itself; False if it stayed busy
    or Prefect failed (the reconciler will wake it). The fast lane may have handled the events
    already; the run is woken all the same, to move on and show where the mentorship stands.
    """
    for delay in (0.0, *WAKE_RETRY_DELAYS):
        time.sleep(delay)
        target = _target(mentorship_id, db)
        if target is None or not target.run_is_behind:
            return True  # the run accounted for the events meanwhile
        if target.flow_run_id is None:
            return start_lifecycle(mentorship_id, db=db) is not None
        try:
            resume_flow_run(UUID(target.flow_run_id), run_input={"seq": target.last_seq}, _sync=True)  # type: ignore[call-arg]
            return True
        except ObjectNotFound:
            return start_lifecycle(mentorship_id, db=db) is not None
        except (NotPausedError, RuntimeError) as busy:  # mid-pass, or a concurrent wake won
            log.debug("run for mentorship %s busy: %s", mentorship_id, busy)
        except PrefectHTTPStatusError as error:
            if error.response.status_code != 409:  # 409: a concurrent wake stored its input first
                log.warning("could not wake the run of mentorship %s: %r", mentorship_id, error)
                return False
        except Exception as error:
            log.warning("could not wake the run of mentorship %s: %r", mentorship_id, error)
            return False
    log.info("run of mentorship %s stayed busy; the reconciler will wake it", mentorship_id)
    return False


def _target(mentorship_id: int, db: Engine | None) -> EngineTarget | None:
    with session_scope(db) as session:
        return engine_state.engine_target(session, mentorship_id)
