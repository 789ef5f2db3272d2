"""The lifecycle flow's steps that touch the database: one transaction each, safe to run twice.

Each task takes ids and returns small values, never ORM objects. The stage steps return the
stage the mentorship is in afterwards, read under the row lock, so a stage a person changed
meanwhile (say, ended) is what the flow sees next. No task caches or persists its result:
each reads or changes the database now, and a cached answer would be a stale one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from models import Mentorship
from models.db import session_scope
from models.settings import get_settings
from services import certificates, engine_state, lifecycle
from services.engine_state import Position
from services.events import append_event, mark_processed


def _now() -> datetime:
    return datetime.now(UTC)


@task(
    name="read-position",
    task_run_name="read-position-{mentorship_id}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def read_position(mentorship_id: int) -> Position:
    """Stage and unhandled events, as the database has them now."""
    with session_scope() as session:
        return engine_state.position(session, mentorship_id)


@task(
    name="mark-event-processed",
    task_run_name="processed-{mentorship_id}-{seq}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def mark_event_processed(mentorship_id: int, seq: int) -> None:
    with session_scope() as session:
        mark_processed(session, mentorship_id, seq)


class _Move(Protocol):
    def __call__(self, session: Session, mentorship_id: int, *, now: datetime) -> bool: ...


def _move(move: _Move, mentorship_id: int) -> str:
    """Make the move if the facts call for it (it locks the row); returns the stage after it."""
    with session_scope() as session:
        move(session, mentorship_id, now=_now())
        return session.get_one(Mentorship, mentorship_id).stage


@task(name="activate-when-agreed", cache_policy=NO_CACHE, persist_result=False)
def activate_when_agreed(mentorship_id: int) -> str:
    """intro → active once an agreement version was approved."""
    return _move(lifecycle.activate, mentorship_id)


@task(name="close-when-final-meeting-held", cache_policy=NO_CACHE, persist_result=False)
def close_when_final_meeting_held(mentorship_id: int) -> str:
    """active → closing once the final meeting was held."""
    return _move(lifecycle.begin_closing, mentorship_id)


@task(name="complete-when-certified", cache_policy=NO_CACHE, persist_result=False)
def complete_when_certified(mentorship_id: int) -> str:
    """closing → completed once both participants hold their certificate."""
    return _move(lifecycle.complete, mentorship_id)


@task(
    name="issue-certificate",
    task_run_name="certificate-{mentorship_id}-{user_id}",
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
    # Imported here: WeasyPrint costs ~1 s at import, and every lifecycle pass is a new process.
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
        if stored.verification_code == code:  # ours is the one kept: tell the event log
            append_event(
                session,
                mentorship,
                "certificate.issued",
                actor_id=None,
                now=now,
                payload={"certificate_id": stored.id, "user_id": user_id},
            )
        return stored.id
