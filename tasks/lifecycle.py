"""The lifecycle run's steps: each one transaction, safe to run twice.

The stage steps (``activate``, ``begin-closing``, ``issue-certificate-…``, ``complete``,
``finish``) are Prefect tasks, so the run's timeline in the Prefect UI reads as the
mentorship's stages. The bookkeeping of a pass (where it stands, whether its wait is met, the
status artifact) is plain calls: as task runs they filled the timeline with three lines per
wake that said nothing of the mentorship, and each cost the Prefect server a task run with its
states and events on every resume, before ``activate`` could commit.

Each task takes ids and returns small values, never ORM objects. A stage step returns the
stage the mentorship is in afterwards, read under the row lock, so a stage a person changed
meanwhile (say, ended) is what the flow sees next; a step that added events submits their
consequences to the task workers. No task caches or persists its result: each reads or
changes the database now, and a cached answer would be a stale one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from models import Mentorship
from models.db import session_scope
from models.settings import get_settings
from services import certificates, engine_state, lifecycle
from services.engine_state import WaitCheck
from services.events import append_event
from tasks.engine import submit_consequences
from tasks.run_status import publish_status


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Standing:
    mentorship_id: int
    stage: str
    mentee_id: int
    mentor_id: int


def where_it_stands(mentorship_id: int) -> Standing:
    """A pass begins: the stage and the pair, as the database has them now."""
    with session_scope() as session:
        stage = engine_state.begin_pass(session, mentorship_id)
        mentorship = session.get_one(Mentorship, mentorship_id)
        return Standing(mentorship_id, stage, mentorship.mentee_id, mentorship.mentor_id)


def check_wait(mentorship_id: int, stage: str) -> WaitCheck:
    """Whether the stage's wait is met already; if not, the run now waits in ``stage``."""
    with session_scope() as session:
        return engine_state.check_wait(session, mentorship_id, stage)


def show_where_it_stands(mentorship_id: int) -> str:
    """The status artifact operators read in the Prefect UI; returns its one-line summary."""
    return publish_status(mentorship_id)


@task(name="finish", cache_policy=NO_CACHE, persist_result=False)
def finish(mentorship_id: int) -> str:
    """The run ends with its mentorship; returns the stage it ended in."""
    with session_scope() as session:
        stage = engine_state.finish_run(session, mentorship_id)
    publish_status(mentorship_id)
    return stage


class _Move(Protocol):
    def __call__(self, session: Session, mentorship_id: int, *, now: datetime) -> bool: ...


def _move(move: _Move, mentorship_id: int) -> str:
    """Make the move if the facts call for it (it locks the row); returns the stage after it."""
    with session_scope() as session:
        moved = move(session, mentorship_id, now=_now())
        stage = session.get_one(Mentorship, mentorship_id).stage
    if moved:
        submit_consequences(mentorship_id, even_if_queued=True)  # the stage.changed event's
    return stage


@task(name="activate", cache_policy=NO_CACHE, persist_result=False)
def activate(mentorship_id: int) -> str:
    """intro → active: the first agreement was approved; officially a mentorship."""
    return _move(lifecycle.activate, mentorship_id)


@task(name="begin-closing", cache_policy=NO_CACHE, persist_result=False)
def begin_closing(mentorship_id: int) -> str:
    """active → closing: the final meeting was held."""
    return _move(lifecycle.begin_closing, mentorship_id)


@task(name="complete", cache_policy=NO_CACHE, persist_result=False)
def complete(mentorship_id: int) -> str:
    """closing → completed: both participants hold their certificate."""
    return _move(lifecycle.complete, mentorship_id)


@task(
    name="issue-certificate",
    task_run_name="issue-certificate-to-user-{user_id}",
    retries=2,
    retry_delay_seconds=5,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def issue_certificate(mentorship_id: int, user_id: int) -> int:
    """Render and store one participant's certificate, once; returns its id.

    A participant who already holds one keeps it (same bytes for ever): we check before
    rendering, and ``store_certificate`` keeps the first one if two runs race.
    """
    with session_scope() as session:
        existing = certificates.certificate_for(session, mentorship_id, user_id)
        if existing is not None:
            return existing.id
        facts = certificates.certificate_facts(session, mentorship_id, user_id)
    # Imported here: WeasyPrint costs ~1 s at import, and only the closing pass needs it.
    from tasks.certificate import render_certificate_pdf

    now = _now()
    code = certificates.new_verification_code()
    base_url = get_settings().base_url.rstrip("/")
    pdf = render_certificate_pdf(
        facts, f"{base_url}/verify/{code}", locale=facts.holder_locale, issued_on=now.date()
    )
    with session_scope() as session:
        mentorship = session.get_one(Mentorship, mentorship_id, with_for_update=True)
        stored = certificates.store_certificate(
            session,
            mentorship_id=mentorship_id,
            user_id=user_id,
            role=facts.holder_role,
            verification_code=code,
            pdf=pdf,
            facts=facts,
            now=now,
        )
        session.flush()
        ours = stored.verification_code == code
        if ours:  # ours is the one kept: tell the event log
            append_event(
                session,
                mentorship,
                "certificate.issued",
                actor_id=None,
                now=now,
                payload={"certificate_id": stored.id, "user_id": user_id},
            )
        certificate_id = stored.id
    if ours:
        submit_consequences(mentorship_id, even_if_queued=True)
    return certificate_id
