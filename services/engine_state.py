"""What the application records about the workflow engine, and the names both sides use.

Each mentorship runs as one long-lived lifecycle flow run; the mentorship row keeps that run's
id (``flow_run_id``) and two cursors in the event log: ``processed_seq``, up to which every
event's consequences are handled (by the fast lane or the run), and ``shown_seq``, up to which
the run has accounted for the log and shown operators where the mentorship stands. The run
needs waking while ``last_seq`` is ahead of ``shown_seq``. The API
(``api/engine.py``) and the reconciler (``flows/reconciler.py``) cannot import each other, so
the deployment names and the run naming live here. No Prefect imports: these are plain reads
and writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import FINISHED_STAGES, OPEN_STAGES, Event, Mentorship
from services import progress
from services.events import pending_events
from services.i18n import translate

LIFECYCLE_FLOW = "mentorship-lifecycle"
LIFECYCLE_DEPLOYMENT_NAME = "lifecycle"
LIFECYCLE_DEPLOYMENT = f"{LIFECYCLE_FLOW}/{LIFECYCLE_DEPLOYMENT_NAME}"
RECONCILER_FLOW = "engine-reconciler"
RECONCILER_DEPLOYMENT_NAME = "reconciler"
RECONCILER_DEPLOYMENT = f"{RECONCILER_FLOW}/{RECONCILER_DEPLOYMENT_NAME}"
LIFECYCLE_TAG = "mentorship-lifecycle"

#: How many recent events the operators' status shows (the full log is in the API).
TIMELINE_LENGTH = 25


def run_name(mentorship_id: int) -> str:
    """The lifecycle run's name, and its idempotency key: one run per mentorship."""
    return f"mentorship-{mentorship_id}"


@dataclass(frozen=True)
class EngineTarget:
    """A mentorship as the engine sees it: its run, and how far the log has been handled and shown."""

    mentorship_id: int
    stage: str
    flow_run_id: str | None
    last_seq: int
    processed_seq: int
    shown_seq: int

    @property
    def run_is_behind(self) -> bool:
        """Events the run has not accounted for yet (handled by the fast lane or not)."""
        return self.last_seq > self.shown_seq

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


def _target(row: Any) -> EngineTarget:
    return EngineTarget(
        mentorship_id=row.id,
        stage=row.stage,
        flow_run_id=row.flow_run_id,
        last_seq=row.last_seq,
        processed_seq=row.processed_seq,
        shown_seq=row.shown_seq,
    )


_TARGET_COLUMNS = (
    Mentorship.id,
    Mentorship.stage,
    Mentorship.flow_run_id,
    Mentorship.last_seq,
    Mentorship.processed_seq,
    Mentorship.shown_seq,
)


def engine_target(session: Session, mentorship_id: int) -> EngineTarget | None:
    row = session.execute(select(*_TARGET_COLUMNS).where(Mentorship.id == mentorship_id)).first()
    return _target(row) if row is not None else None


def engine_targets(session: Session) -> list[EngineTarget]:
    """Every mentorship that needs a lifecycle run: open ones, and any whose run is behind."""
    rows = session.execute(
        select(*_TARGET_COLUMNS)
        .where(
            or_(
                Mentorship.stage.in_(OPEN_STAGES),
                Mentorship.last_seq > Mentorship.shown_seq,
            )
        )
        .order_by(Mentorship.id)
    )
    return [_target(row) for row in rows]


def set_flow_run_id(session: Session, mentorship_id: int, flow_run_id: str) -> None:
    """Remember the mentorship's lifecycle run (the public ``version`` does not change)."""
    mentorship = session.get_one(Mentorship, mentorship_id, with_for_update=True)
    mentorship.flow_run_id = flow_run_id
    session.flush()


def mark_shown(session: Session, mentorship_id: int, seq: int) -> None:
    """The run has shown the log up to ``seq`` (never moves back; the public version stays)."""
    mentorship = session.get_one(Mentorship, mentorship_id, with_for_update={"of": Mentorship})
    mentorship.shown_seq = max(mentorship.shown_seq, seq)
    session.flush()


# --- what the lifecycle flow reads at the start of each pass ----------------------------------


@dataclass(frozen=True)
class PendingEvent:
    event_id: int
    seq: int
    type: str


@dataclass(frozen=True)
class Position:
    """Where a mentorship stands, read fresh from the database on every (re)start of its run."""

    mentorship_id: int
    stage: str
    mentee_id: int
    mentor_id: int
    processed_seq: int
    pending: tuple[PendingEvent, ...]

    @property
    def finished(self) -> bool:
        return self.stage in FINISHED_STAGES


def position(session: Session, mentorship_id: int) -> Position:
    mentorship = session.get_one(Mentorship, mentorship_id, populate_existing=True)
    return Position(
        mentorship_id=mentorship.id,
        stage=mentorship.stage,
        mentee_id=mentorship.mentee_id,
        mentor_id=mentorship.mentor_id,
        processed_seq=mentorship.processed_seq,
        pending=tuple(
            PendingEvent(event_id=e.id, seq=e.seq, type=e.type)
            for e in pending_events(session, mentorship_id)
        ),
    )


# --- what operators see in the Prefect UI ----------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    type: str
    occurred_at: datetime
    actor: str | None


@dataclass(frozen=True)
class RunStatus:
    mentorship_id: int
    stage: str
    mentee: str
    mentor: str
    waiting_for: dict[str, str] | None  # {who, what}
    last_seq: int
    processed_seq: int
    timeline: tuple[TimelineEntry, ...]  # newest last, at most TIMELINE_LENGTH


def run_status(session: Session, mentorship_id: int, *, now: datetime) -> RunStatus:
    mentorship = session.get_one(Mentorship, mentorship_id, populate_existing=True)
    names = {
        mentorship.mentee_id: mentorship.mentee.display_name,
        mentorship.mentor_id: mentorship.mentor.display_name,
    }
    recent = list(
        session.scalars(
            select(Event)
            .where(Event.mentorship_id == mentorship_id)
            .order_by(Event.seq.desc())
            .limit(TIMELINE_LENGTH)
        )
    )
    return RunStatus(
        mentorship_id=mentorship.id,
        stage=mentorship.stage,
        mentee=mentorship.mentee.display_name,
        mentor=mentorship.mentor.display_name,
        waiting_for=_waiting_for(session, mentorship, now),
        last_seq=mentorship.last_seq,
        processed_seq=mentorship.processed_seq,
        timeline=tuple(
            TimelineEntry(
                seq=e.seq,
                type=e.type,
                occurred_at=e.occurred_at,
                actor=names.get(e.actor_id) if e.actor_id is not None else None,
            )
            for e in reversed(recent)
        ),
    )


def _waiting_for(session: Session, mentorship: Mentorship, now: datetime) -> dict[str, str] | None:
    """Who must do what next, in English (the Prefect UI is for operators)."""
    waiting = progress.waiting_for(progress.snapshot(session, mentorship), now)
    if waiting is None:
        return None
    return {"who": waiting.who, "what": translate(waiting.what, "en", **waiting.params)}
