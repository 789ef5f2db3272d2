"""How a lifecycle run waits between events, and the typed input that wakes it.

Prefect re-runs a resumed flow from the top, and a suspend whose key already fired returns
its stored input at once instead of waiting. So the run never replays earlier waits: it
reads its position from the database and waits under a key derived from it,
``after-{processed_seq}``. A wake that found nothing new (a late duplicate, say) leaves that
key spent; the next wait at the same position then takes ``after-{seq}.2``, ``.3``, …, chosen
from the keys Prefect reports as fired, so the run never spins and never replays history.
"""

from __future__ import annotations

from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput

#: A suspended run waits this long for its next event; afterwards Prefect fails it, and the
#: reconciler restarts it when the mentorship shows activity again.
WAIT_TIMEOUT_SECONDS = 400 * 24 * 3600


class Wake(RunInput):
    """Sent by whoever appended an event: the newest sequence number at that time."""

    seq: int


def wait_key(processed_seq: int, fired: set[str]) -> str:
    key = f"after-{processed_seq}"
    attempt = 1
    while key in fired:
        attempt += 1
        key = f"after-{processed_seq}.{attempt}"
    return key


def fired_wait_keys() -> set[str]:
    """Keys this run has already suspended under (as Prefect told us when this attempt began)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return set()
    return set(context.flow_run.empirical_policy.pause_keys or ())


def wait_for_next_event(processed_seq: int, spent: set[str]) -> Wake:
    """Suspend until woken; the process exits here and a wake starts the flow from the top.

    Returns only if Prefect refuses to suspend under the key (it fired after this attempt
    began); ``spent`` collects such keys so the caller's next wait picks a fresh one.
    """
    key = wait_key(processed_seq, fired_wait_keys() | spent)
    spent.add(key)
    return suspend_flow_run(wait_for_input=Wake, key=key, timeout=WAIT_TIMEOUT_SECONDS)
