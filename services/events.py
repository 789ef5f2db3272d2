"""The per-mentorship event log: append in the fact's transaction, read in order, mark handled.

Event types and payloads (``actor_id`` is the person who stated the fact, ``None`` for the system):

=======================  ==========================================================
mentorship.requested     {message}
mentorship.accepted      {}
mentorship.declined      {reason}
mentorship.withdrawn     {}
mentorship.ended         {reason}
mentorship.expired       {}                      (system: request unanswered too long)
agreement.draft_saved    {number}
agreement.submitted      {number}
agreement.approved       {number, first}
agreement.rejected       {number, reason}
meeting.proposed         {meeting_id, starts_at, is_intro, is_final}
meeting.confirmed        {meeting_id, starts_at}
meeting.declined         {meeting_id, reason}
meeting.cancelled        {meeting_id, reason}
meeting.rescheduled      {meeting_id, starts_at, previous_starts_at, status}  (status after the move)
meeting.attendance       {meeting_id, attended}
meeting.held             {meeting_id, is_intro, is_final, held_count}
meeting.missed           {meeting_id}
feedback.given           {feedback_id, meeting_id (or null)}: that feedback was given, not what
survey.answered          {survey: fit | closure}: that the survey was answered, not what
stage.changed            {from, to}              (system)
certificate.issued       {certificate_id, user_id} (system)
=======================  ==========================================================
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Event, Mentorship
from services import next_steps

SYSTEM_EVENTS = frozenset({"stage.changed", "certificate.issued", "mentorship.expired"})


def append_event(
    session: Session,
    mentorship: Mentorship,
    type: str,
    *,
    actor_id: int | None,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Record a fact on a mentorship the caller has locked, after the fact's changes: bumps
    its sequence and version and writes its next step anew (``services.next_steps``)."""
    mentorship.last_seq += 1
    mentorship.version += 1
    if actor_id is not None:
        mentorship.last_activity_at = now
    event = Event(
        mentorship_id=mentorship.id,
        seq=mentorship.last_seq,
        type=type,
        actor_id=actor_id,
        payload=payload or {},
        occurred_at=now,
    )
    session.add(event)
    session.flush()
    next_steps.record(session, mentorship, now=now)
    return event


def events_of(session: Session, mentorship_id: int) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.mentorship_id == mentorship_id).order_by(Event.seq))
    )


def pending_events(session: Session, mentorship_id: int) -> list[Event]:
    """Events whose consequences are not handled yet, oldest first."""
    processed = select(Mentorship.processed_seq).where(Mentorship.id == mentorship_id)
    return list(
        session.scalars(
            select(Event)
            .where(Event.mentorship_id == mentorship_id, Event.seq > processed.scalar_subquery())
            .order_by(Event.seq)
        )
    )
