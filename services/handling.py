"""Handing out a mentorship's events to consequence handlers: one at a time, in order, once.

Two guarantees, each with its own mechanism:

- **One handler per mentorship at a time.** A handler first *claims* the mentorship: a lease
  (``handler_token`` until ``handler_until``) written with a conditional UPDATE, so of two
  task workers that got the same mentorship's tasks, one works and the other returns. A
  handler that dies loses its lease when it runs out; the reconciler submits the events again.
- **Each event once, in order.** ``take_next_event`` locks the mentorship row, takes the event
  right after ``processed_seq`` and moves the cursor in the same transaction as the event's
  consequences. Even a handler whose lease ran out while it was stalled cannot apply an
  event twice or skip one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session

from models import Event, Mentorship
from services.access import load_mentorship

#: A handler renews its lease with every event; a dead handler's lease runs out after this.
LEASE = timedelta(seconds=30)


def claim(session: Session, mentorship_id: int, *, token: str, now: datetime) -> bool:
    """Take the mentorship's events for ``LEASE`` (or renew our own lease); whether we hold it."""
    result = session.execute(
        update(Mentorship)
        .where(
            Mentorship.id == mentorship_id,
            or_(
                Mentorship.handler_token.is_(None),
                Mentorship.handler_token == token,
                Mentorship.handler_until < now,
            ),
        )
        # started: facts from now on queue a new handler (this one may have read past them)
        .values(handler_token=token, handler_until=now + LEASE, consequences_queued_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


#: A handler queued this long ago that has not started is taken for lost (a task worker
#: killed with it, Prefect restarted): the next fact, or the reconciler, queues another.
QUEUED_FOR = timedelta(seconds=30)


def queue_handler(
    session: Session, mentorship_id: int, *, now: datetime, even_if_queued: bool = False
) -> bool:
    """Note that a handler is queued for the mentorship's events; False if one is already:
    queued (and not yet started, for less than ``QUEUED_FOR``) or at work (holding the lease).

    Either one takes every event committed before this call: a queued handler reads the events
    once it starts (``claim`` clears the note first), and a working one looks again after it
    lets go (``tasks.consequences.handle_events``). So a second handler is not needed.
    ``even_if_queued`` queues one anyway unless one is at work (see ``submit_consequences``).
    """
    not_queued = or_(
        Mentorship.consequences_queued_at.is_(None), Mentorship.consequences_queued_at < now - QUEUED_FOR
    )
    result = session.execute(
        update(Mentorship)
        .where(
            Mentorship.id == mentorship_id,
            true() if even_if_queued else not_queued,
            or_(Mentorship.handler_until.is_(None), Mentorship.handler_until < now),
        )
        .values(consequences_queued_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def unqueue_handler(session: Session, mentorship_id: int) -> None:
    """The queued handler never reached the task workers (Prefect refused it)."""
    session.execute(
        update(Mentorship)
        .where(Mentorship.id == mentorship_id)
        .values(consequences_queued_at=None)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, mentorship_id: int, *, token: str) -> None:
    session.execute(
        update(Mentorship)
        .where(Mentorship.id == mentorship_id, Mentorship.handler_token == token)
        .values(handler_token=None, handler_until=None)
        .execution_options(synchronize_session=False)
    )


def take_next_event(session: Session, mentorship_id: int) -> Event | None:
    """The oldest unhandled event, marked handled in this transaction; ``None`` when none is left.

    The caller applies the event's consequences in the same transaction and commits: both
    happen, or neither.
    """
    mentorship = load_mentorship(session, mentorship_id, lock=True)
    if mentorship is None or mentorship.processed_seq >= mentorship.last_seq:
        return None
    event = session.scalar(
        select(Event).where(Event.mentorship_id == mentorship_id, Event.seq == mentorship.processed_seq + 1)
    )
    if event is None:  # a gap cannot happen (seq comes from last_seq under the lock); be safe
        return None
    mentorship.processed_seq = event.seq
    session.flush()
    return event


#: A consequence that failed this often is given up: set aside for operators, with its error.
SET_ASIDE_AFTER = 3
_ERROR_LENGTH = 2000


def note_failure(session: Session, mentorship_id: int, seq: int, *, error: str, now: datetime) -> bool:
    """Count a failed try at event ``seq``'s consequences; after ``SET_ASIDE_AFTER`` tries the
    event is set aside and the cursor moves past it, so later events go on. Returns whether it
    was set aside. (The failed try's own transaction was rolled back: nothing of it remains.)"""
    mentorship = load_mentorship(session, mentorship_id, lock=True)
    event = session.scalar(select(Event).where(Event.mentorship_id == mentorship_id, Event.seq == seq))
    if mentorship is None or event is None or mentorship.processed_seq >= seq:
        return False  # someone else handled it meanwhile
    event.failures += 1
    event.last_error = error[:_ERROR_LENGTH]
    if event.failures < SET_ASIDE_AFTER:
        return False
    event.set_aside_at = now
    mentorship.processed_seq = seq
    return True


def set_aside_events(session: Session, *, limit: int = 200) -> list[Event]:
    """Events whose consequences were given up, newest first: for operators to look into."""
    return list(
        session.scalars(
            select(Event)
            .where(Event.set_aside_at.is_not(None))
            .order_by(Event.set_aside_at.desc())
            .limit(limit)
        )
    )


def has_unhandled_events(session: Session, mentorship_id: int) -> bool:
    found = session.scalar(
        select(Mentorship.id).where(
            Mentorship.id == mentorship_id, Mentorship.last_seq > Mentorship.processed_seq
        )
    )
    return found is not None
