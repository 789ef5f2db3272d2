"""The mentorship lifecycle: one long-lived flow run per mentorship, named ``mentorship-{id}``.

    requested ─the mentor's answer→ intro ─first agreement approved→ active
              ─the final meeting held→ closing ─a certificate for each→ completed
    and at any wait: declined, withdrawn (or expired), ended early

The run owns the stages and their waits; it does not handle events (their consequences run on
Prefect task workers, ``tasks/consequences.py``). At each wait it suspends, holding no
process, until the API reports the one fact that wait awaits. A resumed run starts again
from the top and reads from the database where the mentorship stands, so it goes straight to
the right stage: a resume costs the same at the first meeting and at the fiftieth, and a
whole mentorship resumes about three times.
"""

from __future__ import annotations

from prefect import flow
from prefect.client.schemas.objects import State
from prefect.states import Completed

from flows.waits import (
    FinalMeetingHeld,
    FirstAgreementApproved,
    MentorAnswer,
    Wake,
    fired_wait_keys,
    suspend_until,
)
from models import Stage
from services.engine_state import LIFECYCLE_FLOW, STAGE_WAITS, wait_key
from tasks.lifecycle import (
    Standing,
    activate,
    begin_closing,
    check_wait,
    complete,
    finish,
    issue_certificate,
    show_where_it_stands,
    where_it_stands,
)


@flow(name=LIFECYCLE_FLOW, flow_run_name="mentorship-{mentorship_id}", log_prints=False)
def mentorship_lifecycle(mentorship_id: int) -> State[str]:
    """Follow one mentorship from the request to its end; completes with the stage it ended in."""
    standing = where_it_stands(mentorship_id)
    stage = standing.stage
    if stage == Stage.REQUESTED:
        stage = request(mentorship_id)
    if stage == Stage.INTRO:
        stage = intro(mentorship_id)
    if stage == Stage.ACTIVE:
        stage = active(mentorship_id)
    if stage == Stage.CLOSING:
        stage = closing(standing)
    stage = finish(mentorship_id)
    return Completed(message=ENDINGS.get(stage, f"The mentorship is {stage}."), data=stage)


#: What the finished run says, by the stage its mentorship ended in.
ENDINGS: dict[str, str] = {
    Stage.COMPLETED: "The mentorship was completed; both participants hold their certificate.",
    Stage.ENDED: "The mentorship was ended early by one of the participants.",
    Stage.DECLINED: "The request was declined by the mentor, or expired unanswered.",
    Stage.WITHDRAWN: "The request was withdrawn by the mentee.",
}


# --- one function per stage: what it waits for, and the step that follows ----------------------


def request(mentorship_id: int) -> str:
    """Wait for the mentor's answer; accepted → intro (declined, withdrawn, expired: the end)."""
    return wait_for(mentorship_id, Stage.REQUESTED, MentorAnswer)


def intro(mentorship_id: int) -> str:
    """The get-to-know-you meeting, then the agreement; the first approval → active."""
    stage = wait_for(mentorship_id, Stage.INTRO, FirstAgreementApproved)
    return activate(mentorship_id) if stage == Stage.INTRO else stage


def active(mentorship_id: int) -> str:
    """Meetings, feedback, amendments; the final meeting held → closing."""
    stage = wait_for(mentorship_id, Stage.ACTIVE, FinalMeetingHeld)
    return begin_closing(mentorship_id) if stage == Stage.ACTIVE else stage


def closing(standing: Standing) -> str:
    """A certificate for each participant; both issued → completed."""
    for user_id in (standing.mentee_id, standing.mentor_id):
        issue_certificate(standing.mentorship_id, user_id)
    return complete(standing.mentorship_id)


# --- waiting ------------------------------------------------------------------------------------


def wait_for(mentorship_id: int, stage: str, wake: type[Wake]) -> str:
    """Suspend until the stage's wait is met; returns the stage then.

    The database says whether it is met (``check_wait``), never the wake's input: a resume
    that met nothing (an operator's click, a duplicate) just waits again, under a new key.
    """
    spent: set[str] = set()
    while True:
        show_where_it_stands(mentorship_id)
        check = check_wait(mentorship_id, stage)
        if check.met:
            return check.stage
        key = wait_key(stage, check.last_seq, fired_wait_keys() | spent)
        spent.add(key)
        suspend_until(wake, STAGE_WAITS[stage], key)
