"""What the application records about the workflow engine, and the names every side uses.

Each mentorship runs as one long-lived lifecycle flow run (``mentorship-{id}``). The row keeps
that run's id and ``run_stage``, the stage the run waits in: the run writes it just before it
suspends and clears it when a pass begins. A fact *meets the wait* when the stage moved past
``run_stage`` (a person accepted, declined, withdrew or ended) or the flow's next move is due
(the first agreement approved, the final meeting held); only then is the run woken. The
consequences of every event are handled apart from the run, by Prefect task workers
(``services.handling``). No Prefect imports here: these are plain reads and writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, lazyload

from models import FINISHED_STAGES, OPEN_STAGES, Event, Mentorship, Stage
from services import progress
from services.access import load_mentorship
from services.errors import NotFound
from services.i18n import _, translate
from services.lifecycle import move_due, moves_due

LIFECYCLE_FLOW = "mentorship-lifecycle"
LIFECYCLE_DEPLOYMENT_NAME = "lifecycle"
LIFECYCLE_DEPLOYMENT = f"{LIFECYCLE_FLOW}/{LIFECYCLE_DEPLOYMENT_NAME}"
RECONCILER_FLOW = "engine-reconciler"
RECONCILER_DEPLOYMENT_NAME = "reconciler"
RECONCILER_DEPLOYMENT = f"{RECONCILER_FLOW}/{RECONCILER_DEPLOYMENT_NAME}"
#: The Prefect global concurrency limit (of 1) that keeps reconciler passes from overlapping.
RECONCILER_LIMIT = "mentorflow-reconciler"
LIFECYCLE_TAG = "mentorship-lifecycle"
DEPLOYMENT_TAG = "mentorflow"

#: How many recent events the operators' status shows (the full log is in the API).
TIMELINE_LENGTH = 25


def run_name(mentorship_id: int) -> str:
    """The lifecycle run's name, its idempotency key, and the tag on everything of one mentorship."""
    return f"mentorship-{mentorship_id}"


# --- what each stage waits for, in operators' words -------------------------------------------


@dataclass(frozen=True)
class StageWait:
    """What a lifecycle run waits for in one stage: the key it suspends under, and the words."""

    key: str  # lowercase letters and dashes: Prefect refuses anything else in a wait key
    waits_for: str
    how: str


STAGE_WAITS: dict[str, StageWait] = {
    Stage.REQUESTED: StageWait(
        "mentor-answer",
        "the mentor's answer to the request",
        "The mentor accepts or declines; the mentee may withdraw; unanswered requests expire.",
    ),
    Stage.INTRO: StageWait(
        "first-agreement",
        "the first approved agreement",
        "After the get-to-know-you meeting the mentee writes and submits the agreement and "
        "the mentor approves it; then the pair is officially a mentorship. Either side may end early.",
    ),
    Stage.ACTIVE: StageWait(
        "final-meeting",
        "the final meeting, held by both",
        "The mentee proposes meetings, the mentor confirms them, both confirm they took part; "
        "amendments need both sides. The final meeting, once held, ends the mentorship. "
        "Either side may end early.",
    ),
}


def wait_key(stage: str, last_seq: int, fired: set[str]) -> str:
    """A key Prefect accepts and has not seen in this run: ``{wait}-{last event}[-{attempt}]``.

    Derived from the database, so a resumed run waits under a new key and never replays an
    earlier wait; a wake that met nothing (an operator's click, a late duplicate) leaves the
    key spent, and the next wait at the same point takes the next attempt number.
    """
    base = f"{STAGE_WAITS[stage].key}-{last_seq}"
    key, attempt = base, 1
    while key in fired:
        attempt += 1
        key = f"{base}-{attempt}"
    return key


# --- the run's side: where a pass begins, waits and ends ---------------------------------------


@dataclass(frozen=True)
class WaitCheck:
    """The answer to "may the run wait here?": ``met`` means go on instead."""

    stage: str  # the stage now
    met: bool
    last_seq: int


def begin_pass(session: Session, mentorship_id: int) -> str:
    """A pass of the run begins: it waits nowhere until it says so again. Returns the stage."""
    mentorship = _lock(session, mentorship_id)
    mentorship.run_stage = None
    session.flush()
    return mentorship.stage


def check_wait(session: Session, mentorship_id: int, stage: str) -> WaitCheck:
    """Record that the run waits in ``stage``, unless the wait is met already.

    Under the row lock, so a fact committed after this sees ``run_stage`` and wakes the run,
    and a fact committed before it is seen here: no fact falls between the two.
    """
    mentorship = _lock(session, mentorship_id)
    met = mentorship.stage != stage or move_due(session, mentorship)
    mentorship.run_stage = None if met else stage
    session.flush()
    return WaitCheck(stage=mentorship.stage, met=met, last_seq=mentorship.last_seq)


def finish_run(session: Session, mentorship_id: int) -> str:
    """The run ends with the mentorship: it waits for nothing more. Returns the final stage."""
    mentorship = _lock(session, mentorship_id)
    mentorship.run_stage = mentorship.stage
    session.flush()
    return mentorship.stage


def _lock(session: Session, mentorship_id: int) -> Mentorship:
    mentorship = load_mentorship(session, mentorship_id, lock=True)
    if mentorship is None:
        raise NotFound(_("No such mentorship."))
    return mentorship


def wait_is_met(session: Session, mentorship: Mentorship, *, move_is_due: bool | None = None) -> bool:
    """The suspended run has something to do: the facts moved past the stage it waits in.

    ``move_is_due``: ``move_due`` for the mentorship when the caller knows it already."""
    if mentorship.run_stage is None or mentorship.run_stage in FINISHED_STAGES:
        return False
    if mentorship.stage != mentorship.run_stage:
        return True
    return move_due(session, mentorship) if move_is_due is None else move_is_due


# --- what the API and the reconciler read -------------------------------------------------------


@dataclass(frozen=True)
class EngineTarget:
    """A mentorship as the engine sees it: its run, the run's wait, and unhandled events."""

    mentorship_id: int
    stage: str
    flow_run_id: str | None
    run_stage: str | None
    wait_met: bool
    last_seq: int
    processed_seq: int
    oldest_unhandled_at: datetime | None = None
    requested_at: datetime | None = None
    handler_until: datetime | None = None  # a consequence handler holds the lease until then

    @property
    def run_finished(self) -> bool:
        return self.run_stage in FINISHED_STAGES

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def has_unhandled_events(self) -> bool:
        return self.last_seq > self.processed_seq


def engine_target(session: Session, mentorship_id: int) -> EngineTarget | None:
    mentorship = load_mentorship(session, mentorship_id)
    return None if mentorship is None else _target(session, mentorship, None)


def engine_targets(session: Session) -> list[EngineTarget]:
    """Every mentorship the engine still owes something: a run that has not finished with its
    mentorship, or events whose consequences are not handled yet."""
    mentorships = session.scalars(
        select(Mentorship)
        .where(
            or_(
                Mentorship.run_stage.is_(None),
                Mentorship.run_stage.in_(OPEN_STAGES),
                Mentorship.last_seq > Mentorship.processed_seq,
            )
        )
        .order_by(Mentorship.id)
        # the engine needs no names: without this, each row joined both participants, and
        # their roles and profiles (52,000 objects at 10,000 mentorships: BENCHMARKS.md, "Idle")
        .options(lazyload(Mentorship.mentee), lazyload(Mentorship.mentor))
    ).all()
    oldest = _oldest_unhandled(session, [m for m in mentorships if m.last_seq > m.processed_seq])
    due = moves_due(session, list(mentorships))
    return [_target(session, m, oldest.get(m.id), move_is_due=m.id in due) for m in mentorships]


def _target(
    session: Session, m: Mentorship, oldest_unhandled_at: datetime | None, *, move_is_due: bool | None = None
) -> EngineTarget:
    return EngineTarget(
        mentorship_id=m.id,
        stage=m.stage,
        flow_run_id=m.flow_run_id,
        run_stage=m.run_stage,
        wait_met=wait_is_met(session, m, move_is_due=move_is_due),
        last_seq=m.last_seq,
        processed_seq=m.processed_seq,
        oldest_unhandled_at=oldest_unhandled_at,
        requested_at=m.requested_at,
        handler_until=m.handler_until,
    )


def _oldest_unhandled(session: Session, mentorships: list[Mentorship]) -> dict[int, datetime]:
    """When the oldest unhandled event of each mentorship happened (one query)."""
    if not mentorships:
        return {}
    rows = session.execute(
        select(Event.mentorship_id, func.min(Event.occurred_at))
        .join(Mentorship, Mentorship.id == Event.mentorship_id)
        .where(Event.mentorship_id.in_([m.id for m in mentorships]), Event.seq > Mentorship.processed_seq)
        .group_by(Event.mentorship_id)
    )
    return {row[0]: row[1] for row in rows}


def set_flow_run_id(session: Session, mentorship_id: int, flow_run_id: str) -> None:
    """Remember the mentorship's lifecycle run (the public ``version`` does not change)."""
    mentorship = session.get_one(Mentorship, mentorship_id, with_for_update=True)
    mentorship.flow_run_id = flow_run_id
    session.flush()


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
    timeline: tuple[TimelineEntry, ...]  # newest last, at most TIMELINE_LENGTH
    flow_run_id: str | None = None


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
        timeline=tuple(
            TimelineEntry(
                seq=e.seq,
                type=e.type,
                occurred_at=e.occurred_at,
                actor=names.get(e.actor_id) if e.actor_id is not None else None,
            )
            for e in reversed(recent)
        ),
        flow_run_id=mentorship.flow_run_id,
    )


def _waiting_for(session: Session, mentorship: Mentorship, now: datetime) -> dict[str, str] | None:
    """Who must do what next, in English and a time in UTC, said so (the Prefect UI is for
    operators): ``confirm the meeting on 2026-12-03 09:00 UTC``."""
    waiting = progress.waiting_for(progress.snapshot(session, mentorship), now)
    if waiting is None:
        return None
    params = dict(waiting.params)
    if isinstance(params.get("starts_at"), str):
        params["starts_at"] = (
            f"{datetime.fromisoformat(params['starts_at']).astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        )
    return {"who": waiting.who, "what": translate(waiting.what, "en", **params)}


def run_tags(status: RunStatus) -> list[str]:
    """The run's tags: what it is, whose it is, its stage and who must act next."""
    tags = {DEPLOYMENT_TAG, LIFECYCLE_TAG, run_name(status.mentorship_id), f"stage:{status.stage}"}
    if status.waiting_for and status.waiting_for.get("who"):
        tags.add(f"waiting:{status.waiting_for['who']}")
    return sorted(tags)
