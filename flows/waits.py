"""How a lifecycle run waits for the fact that moves its stage on, and the input that wakes it.

A wait is a Prefect *suspend*: the run's process exits and nothing is held until the API (or
the reconciler) resumes it with a ``Wake``. Prefect then runs the flow again from the top, and
the flow reads from the database where the mentorship stands, so it never replays history.
Each wait has a key of its own (``services.engine_state.wait_key``): one Prefect accepts and
has not seen in this run, derived from the database.

The run tells operators in words what it waits for: the suspended state's message (shown in
the Prefect UI beside the state) and the description of the resume form. Prefect's own
``suspend_flow_run`` sets no message, so ``suspend_until`` proposes the same ``Suspended``
state with one, exactly as that function does (Prefect pinned at 3.9.1).
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from prefect._flow_run_suspension import mark_flow_run_suspension_requested
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.exceptions import Abort, Pause
from prefect.input import RunInput, keyset_from_paused_state
from prefect.states import Suspended
from prefect.utilities.engine import propose_state_sync
from pydantic import Field

from services.engine_state import StageWait

W = TypeVar("W", bound="Wake")

#: A suspended run waits this long; afterwards Prefect fails it, and the reconciler puts it
#: back in line when its mentorship needs it.
WAIT_TIMEOUT_SECONDS = 400 * 24 * 3600

RESUME_NOTE = (
    "\n\n**Resuming by hand changes nothing in the mentorship.** The run reads the mentorship "
    "from the database: if what it waits for has happened it moves on, otherwise it waits "
    "again. The API resumes it on its own the moment the awaited fact is stated."
)


class Wake(RunInput):
    """What a wake carries: which fact met the wait, for the run's log."""

    fact: str = Field(
        default="resumed by an operator",
        description="The fact that met the wait, e.g. 'intro at event 12'. Free text: the run "
        "decides from the database, not from this.",
    )
    seq: int = Field(default=0, ge=0, description="The mentorship's newest event number at the wake.")


class MentorAnswer(Wake):
    """The mentor accepted or declined the request, the mentee withdrew it, or it expired."""


class FirstAgreementApproved(Wake):
    """The mentor approved the first agreement version (or either side ended early)."""


class FinalMeetingHeld(Wake):
    """Both took part in the final meeting (or either side ended early)."""


def message_for(wait: StageWait) -> str:
    return f"Waiting for {wait.waits_for}. {wait.how}"


def fired_wait_keys() -> set[str]:
    """Keys this run has already suspended under (as Prefect told us when this attempt began)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return set()
    return set(context.flow_run.empirical_policy.pause_keys or ())


def suspend_until(wake: type[W], wait: StageWait, key: str) -> W:
    """Suspend the current run under ``key`` with the words of ``wait``.

    Does not return while the suspend holds: the process exits (``Pause``) and a resume starts
    the flow again from the top. Returns the stored input only if the key fired already, which
    the caller avoids by choosing an unused key.
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("only a flow run can wait")
    form = wake.with_initial_data(description=f"**{message_for(wait)}**{RESUME_NOTE}")
    proposed: State[Any] = Suspended(
        timeout_seconds=WAIT_TIMEOUT_SECONDS, pause_key=key, message=message_for(wait)
    )
    keyset = keyset_from_paused_state(proposed)
    proposed.state_details.run_input_keyset = {str(k): v for k, v in keyset.items()}
    with get_client(sync_client=True) as client:
        try:
            state = propose_state_sync(client=client, state=proposed, flow_run_id=context.flow_run.id)
        except Abort as exc:
            raise RuntimeError(f"the run cannot be suspended: {exc}") from exc
        if state.is_running():  # this key fired before: Prefect hands back its input
            return cast(W, form.load(keyset))
        if not state.is_paused():
            raise RuntimeError(f"the run cannot be suspended: the server answered {state}")
        # Suspended first, then the form (Prefect's order; the server wants the state first).
        # A process killed in between leaves a run no resume reaches ("Run input schema not
        # found"): the reconciler reschedules it (``tasks.engine.CannotResume``).
        form.save(keyset)
    mark_flow_run_suspension_requested(context.flow_run.id, state)
    raise Pause(state=state)
