"""The mentorship lifecycle: one long-lived flow run per mentorship, named ``mentorship-{id}``.

    requested ─accept→ intro ─agreement approved→ active ─final meeting held→ closing
                                                          ─certificates issued→ completed

People make the decided moves (accept, decline, withdraw, end) in their API request. This
flow makes the moves that follow from facts, and runs every event's consequences. Each pass
starts from the database, never from history: read the position, handle the waiting events
oldest first, show operators where things stand, and suspend until the next event (no
process is held meanwhile). A resume costs the same at the first meeting and the fiftieth.
The fast lane (``flows/fast_lane.py``) runs the same ``catch_up`` the moment a fact is
stated, so a pass usually finds the consequences done and only shows where things stand.
"""

from __future__ import annotations

from prefect import flow

from flows.wake import wait_for_next_event
from models import Stage
from services.engine_state import LIFECYCLE_FLOW, PendingEvent, Position
from tasks.consequences import apply_event_consequences, send_pending_mail
from tasks.lifecycle import (
    activate_when_agreed,
    close_when_final_meeting_held,
    complete_when_certified,
    issue_certificate,
    mark_event_processed,
    read_position,
)
from tasks.run_status import show_where_it_stands


@flow(name=LIFECYCLE_FLOW, flow_run_name="mentorship-{mentorship_id}", log_prints=False)
def mentorship_lifecycle(mentorship_id: int) -> str:
    """Follow one mentorship from request to its end; returns the stage it finished in."""
    spent_keys: set[str] = set()
    while True:
        position = catch_up(mentorship_id)
        send_pending_mail()
        show_where_it_stands(mentorship_id)
        if position.finished:
            return position.stage
        wait_for_next_event(position.processed_seq, spent_keys)


def catch_up(mentorship_id: int) -> Position:
    """Handle every waiting event, oldest first, until none is left (stage moves add events)."""
    position = read_position(mentorship_id)
    while position.pending:
        stage = position.stage
        for event in position.pending:
            stage = handle(event, position, stage)
        position = read_position(mentorship_id)
    return position


def handle(event: PendingEvent, position: Position, stage: str) -> str:
    """One event: its consequences, the stage moves that now follow, then mark it handled."""
    apply_event_consequences(event.event_id)
    stage = follow_facts(position, stage)
    mark_event_processed(position.mentorship_id, event.seq)
    return stage


def follow_facts(position: Position, stage: str) -> str:
    """Make the stage move the facts call for; returns the stage afterwards."""
    if stage == Stage.INTRO:
        return intro(position)
    if stage == Stage.ACTIVE:
        return active(position)
    if stage == Stage.CLOSING:
        return closing(position)
    return stage  # requested, or finished: only people move these


# --- one function per stage: what has to be true to move on ------------------------------------


def intro(position: Position) -> str:
    """Get-to-know-you meeting, agreement drafted and submitted; approved → active."""
    return activate_when_agreed(position.mentorship_id)


def active(position: Position) -> str:
    """Meetings, feedback, amendments; the final meeting held → closing."""
    return close_when_final_meeting_held(position.mentorship_id)


def closing(position: Position) -> str:
    """A certificate for each participant; both issued → completed."""
    for user_id in (position.mentee_id, position.mentor_id):
        issue_certificate(position.mentorship_id, user_id)
    return complete_when_certified(position.mentorship_id)
