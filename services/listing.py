"""Operators' list of mentorships: search by name, filters, paging, and what is stuck.

Everything is SQL: stage and name filters, and "waiting for" and "overdue" on each
mentorship's stored next step (``services.next_steps``, refreshed first where the clock
changed it), the order, the page and the count; only the page's rows are loaded, and their
next step is worked out again by the one rule (``services.progress.waiting_for``) for the
words shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, aliased, defaultload

from models import OPEN_STAGES, Mentorship, User
from services.next_steps import refresh_stale
from services.progress import Snapshot, WaitingFor, is_overdue, snapshots, waiting_for, waiting_since
from services.search import contains

PER_PAGE = 50
MAX_PER_PAGE = 500
#: Whom a next step can wait for (``WaitingFor.who``); the filter takes these or an action code.
SIDES = ("mentee", "mentor", "both", "system")


@dataclass(frozen=True)
class Row:
    """One mentorship as operators list it: who must act, on what, since when, and if late."""

    snap: Snapshot
    waiting: WaitingFor | None
    since: datetime | None
    overdue: bool

    @property
    def mentorship(self) -> Mentorship:
        return self.snap.mentorship


@dataclass(frozen=True)
class Filters:
    search: str = ""  # part of the mentee's or the mentor's name or e-mail address
    stage: str | None = None
    waiting_for: str | None = None  # a side (SIDES) or an action code
    overdue: bool = False

    @property
    def needs_the_clock(self) -> bool:
        return bool(self.waiting_for) or self.overdue


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    total: int
    offset: int
    limit: int | None


def row_of(snap: Snapshot, now: datetime) -> Row:
    waiting = waiting_for(snap, now)
    if waiting is None:
        return Row(snap, None, None, False)
    since = waiting_since(snap, waiting)
    return Row(snap, waiting, since, is_overdue(waiting, since, now))


def list_mentorships(
    session: Session,
    *,
    now: datetime,
    filters: Filters,
    offset: int = 0,
    limit: int | None = PER_PAGE,
    longest_waiting_first: bool = False,
) -> Listing:
    """Newest request first (or, with a filter that needs the clock, the longest waiting
    first); ``limit`` None lists them all."""
    query = _matching(filters)
    order: list[ColumnElement[Any]] = [Mentorship.id.desc()]
    if filters.needs_the_clock:
        refresh_stale(session, now=now)
        query = _waiting(query, filters, now)
        if longest_waiting_first:
            order.insert(0, Mentorship.next_since.asc())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    paged = query.order_by(*order).offset(offset)
    if limit is not None:
        paged = paged.limit(limit)
    found = list(session.scalars(paged).unique())
    return Listing([row_of(s, now) for s in snapshots(session, found)], total, offset, limit)


def stuck(session: Session, *, now: datetime, limit: int = PER_PAGE) -> Listing:
    """The open mentorships whose next step is late, the longest waiting first (the first
    ``limit`` of them, and how many there are)."""
    return list_mentorships(
        session, now=now, filters=Filters(overdue=True), limit=limit, longest_waiting_first=True
    )


def _matching(filters: Filters) -> Select[Mentorship]:
    query = select(Mentorship).options(*_NAMES_ONLY)
    if filters.stage:
        query = query.where(Mentorship.stage == filters.stage)
    if filters.search.strip():
        mentee, mentor = aliased(User), aliased(User)
        columns = (mentee.display_name, mentor.display_name, mentee.email, mentor.email)
        query = (
            query.join(mentee, Mentorship.mentee_id == mentee.id)
            .join(mentor, Mentorship.mentor_id == mentor.id)
            .where(or_(*(contains(column, filters.search) for column in columns)))
        )
    return query


def _waiting(query: Select[Mentorship], filters: Filters, now: datetime) -> Select[Mentorship]:
    """Only those whose stored next step waits for ``filters.waiting_for`` (a side or an
    action) and, with ``filters.overdue``, is late at ``now``; both imply an open one."""
    query = query.where(Mentorship.stage.in_(OPEN_STAGES), Mentorship.next_action.is_not(None))
    if filters.overdue:
        query = query.where(Mentorship.next_overdue_at < now)
    if filters.waiting_for:
        side_or_action = filters.waiting_for
        query = query.where(
            or_(Mentorship.next_who == side_or_action, Mentorship.next_action == side_or_action)
        )
    return query


#: A list shows the participants' names, not their roles and profiles (which ``User`` would
#: load for each of them: at 10,000 mentorships, most of a filtered list's time).
_NAMES_ONLY = (
    defaultload(Mentorship.mentee).lazyload(User.roles),
    defaultload(Mentorship.mentee).lazyload(User.profile),
    defaultload(Mentorship.mentor).lazyload(User.roles),
    defaultload(Mentorship.mentor).lazyload(User.profile),
)
