"""Each mentorship's next step kept on its row, so operators' lists filter, sort, page and
count who must act in SQL instead of working it out for every open mentorship.

``services.progress.waiting_for`` stays the one rule; this module only writes what it says
(``Mentorship.next_who``, ``next_action``, ``next_since``, ``next_overdue_at``,
``next_changes_at``):

- with every fact, in its transaction: ``services.events.append_event``, which every fact and
  every stage move passes through, calls ``record`` once the fact's changes are made;
- when the clock alone changes the step (``next_changes_at``: a live meeting's start passed)
  or the row was never filled (databases from before migration 0017): ``refresh_stale``
  works those rows out again. Operators' reads call it before they query, so what they show
  is true for their ``now``; the API stores what an operator's read refreshed
  (``api.deps.keep_next_steps``) and a sweep every minute does too, so reads rarely must.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, or_, select, update
from sqlalchemy.orm import Session, lazyload

from models import OPEN_STAGES, Mentorship
from services.progress import Snapshot, changes_at, overdue_at, snapshots, waiting_for, waiting_since


@dataclass(frozen=True)
class NextStep:
    who: str | None
    action: str | None
    since: datetime | None
    overdue_at: datetime | None
    changes_at: datetime | None


NOBODY = NextStep(None, None, None, None, None)


def step_of(snap: Snapshot, now: datetime) -> NextStep:
    """What ``waiting_for`` says at ``now``, in the row's words."""
    waiting = waiting_for(snap, now)
    if waiting is None:
        return NOBODY
    since = waiting_since(snap, waiting)
    return NextStep(waiting.who, waiting.action, since, overdue_at(waiting, since), changes_at(snap, now))


def stored_step(mentorship: Mentorship) -> NextStep:
    m = mentorship
    return NextStep(m.next_who, m.next_action, m.next_since, m.next_overdue_at, m.next_changes_at)


def record(session: Session, mentorship: Mentorship, *, now: datetime) -> None:
    """Write ``mentorship``'s next step after a fact (flushed first, so the rule sees it)."""
    session.flush()
    step = step_of(snapshots(session, [mentorship], live_only=True)[0], now)
    if step != stored_step(mentorship):
        mentorship.next_who, mentorship.next_action, mentorship.next_since = step.who, step.action, step.since
        mentorship.next_overdue_at, mentorship.next_changes_at = step.overdue_at, step.changes_at


def is_stale(now: datetime) -> ColumnElement[bool]:
    """Open mentorships whose stored step the clock changed, or that were never filled."""
    return Mentorship.stage.in_(OPEN_STAGES) & or_(
        Mentorship.next_action.is_(None), Mentorship.next_changes_at <= now
    )


def refresh_stale(session: Session, *, now: datetime) -> int:
    """Work out the stale rows' steps again, in ``session``'s transaction (a few statements
    however many rows); how many.

    The rows are loaded into a session of their own on the same connection, so
    ``session`` holds no half-loaded objects afterwards. Each row is written only if it still
    has the version it was worked out from: a fact committed meanwhile wrote the newer step.
    """
    session.flush()
    with Session(bind=session.connection(), autoflush=False) as scratch:
        stale = list(
            scratch.scalars(
                select(Mentorship)
                .where(is_stale(now))
                .order_by(Mentorship.id)  # concurrent refreshes lock rows in one order
                .options(lazyload(Mentorship.mentee), lazyload(Mentorship.mentor))
            )
        )
        rows = [
            _row(snap.mentorship, step_of(snap, now)) for snap in snapshots(scratch, stale, live_only=True)
        ]
    if rows:
        table = Mentorship.metadata.tables["mentorship"]
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
            .values({name: bindparam(f"b_{name}") for name in _COLUMNS}),
            rows,
        )
    return len(rows)


_COLUMNS = ("next_who", "next_action", "next_since", "next_overdue_at", "next_changes_at")


def _row(m: Mentorship, step: NextStep) -> dict[str, object]:
    return {
        "b_id": m.id,
        "b_version": m.version,
        "b_next_who": step.who,
        "b_next_action": step.action,
        "b_next_since": step.since,
        "b_next_overdue_at": step.overdue_at,
        "b_next_changes_at": step.changes_at,
    }
