"""Operators' list of mentorships: search by name, filters, paging, and what is stuck.

Stage and name filters are SQL, and an unfiltered page loads only its own rows. Who must act
depends on the clock (a proposed meeting whose time passed, a meeting that started), so the
"waiting for" and "overdue" filters work it out for every open mentorship that matches the
rest, from light snapshots (``progress.snapshots(live_only=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased, defaultload, lazyload

from models import OPEN_STAGES, Mentorship, User
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
    if filters.needs_the_clock:
        # only open ones wait for anyone; who must act needs no names (the page's rows get them)
        query = query.where(Mentorship.stage.in_(OPEN_STAGES)).options(
            lazyload(Mentorship.mentee), lazyload(Mentorship.mentor)
        )
        found = list(session.scalars(query.order_by(Mentorship.id.desc())).unique())
        light = snapshots(session, found, live_only=True)
        rows = [row for row in (row_of(s, now) for s in light) if _keeps(row, filters)]
        if longest_waiting_first:
            rows.sort(key=lambda r: r.since or now)
        page = rows[offset : None if limit is None else offset + limit]
        return Listing(_full(session, page, now), len(rows), offset, limit)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    paged = query.order_by(Mentorship.id.desc()).offset(offset)
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


def _keeps(row: Row, filters: Filters) -> bool:
    if filters.overdue and not row.overdue:
        return False
    if filters.waiting_for:
        return row.waiting is not None and filters.waiting_for in (row.waiting.who, row.waiting.action)
    return True


def _full(session: Session, page: list[Row], now: datetime) -> list[Row]:
    """The page's rows again, with their participants and all their meetings (the light
    snapshots hold only some)."""
    ids = [r.mentorship.id for r in page]
    loaded = session.scalars(
        select(Mentorship)
        .where(Mentorship.id.in_(ids))
        .options(*_NAMES_ONLY)
        .execution_options(populate_existing=True)
    ).unique()
    by_id = {m.id: m for m in loaded}
    return [row_of(s, now) for s in snapshots(session, [by_id[i] for i in ids], refresh=True)]


#: A list shows the participants' names, not their roles and profiles (which ``User`` would
#: load for each of them: at 10,000 mentorships, most of a filtered list's time).
_NAMES_ONLY = (
    defaultload(Mentorship.mentee).lazyload(User.roles),
    defaultload(Mentorship.mentee).lazyload(User.profile),
    defaultload(Mentorship.mentor).lazyload(User.roles),
    defaultload(Mentorship.mentor).lazyload(User.profile),
)
