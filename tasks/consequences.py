"""A mentorship's events and their consequences, as one Prefect background task.

Submitted after every commit that adds events (``tasks.engine.after_fact``) and served by warm
task workers (``deployments/task_worker.py``), named ``handle-events-of-mentorship-{id}`` so that
an operator can find one mentorship's consequences in the Prefect UI (not tagged: see
``tasks.engine._delay``). One call handles every event the
mentorship has waiting, oldest first, each in its own transaction (its notifications,
achievements and outbox mail, and the cursor moved), then sends that mail and shows operators
where the mentorship stands. It is safe to run twice, and two workers never work on one
mentorship at once (``services.handling``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from prefect import task
from prefect.context import TaskRunContext

from models.db import session_scope
from models.settings import get_settings
from services import consequences, handling
from tasks.mail import deliver_outbox, enqueue_mails
from tasks.run_status import show_run_tags

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _never_cached(_context: TaskRunContext, _parameters: dict[str, Any]) -> None:
    """No cache key: every call runs. (A task worker replaces ``NO_CACHE`` by Prefect's
    default policy, which caches by inputs and flow run: a second ``handle-events`` for the
    same mentorship submitted from one lifecycle run would come back ``Cached`` and not run.)"""
    return None


@task(
    name="handle-events",
    task_run_name="handle-events-of-mentorship-{mentorship_id}",
    cache_key_fn=_never_cached,  # and so no result is stored either
    retries=3,
    retry_delay_seconds=[1, 5, 20],
)
def handle_events(mentorship_id: int) -> int:
    """Every waiting event's consequences, in order; returns how many events this call handled."""
    token = uuid4().hex
    handled = 0
    while _claim(mentorship_id, token):
        try:
            handled += _handle_waiting(mentorship_id, token)
            _send_mail_of(mentorship_id)
            show_run_tags(mentorship_id)
        finally:
            with session_scope() as session:
                handling.release(session, mentorship_id, token=token)
        # an event that came while we held the lease found it taken: look once more
        with session_scope() as session:
            if not handling.has_unhandled_events(session, mentorship_id):
                break
    return handled


def _claim(mentorship_id: int, token: str) -> bool:
    with session_scope() as session:
        return handling.claim(session, mentorship_id, token=token, now=_now())


def _handle_waiting(mentorship_id: int, token: str) -> int:
    settings = get_settings()
    handled = 0
    while True:
        now = _now()
        seq: int | None = None
        try:
            with session_scope() as session:
                if not handling.claim(session, mentorship_id, token=token, now=now):
                    return handled  # our lease ran out and another handler took over
                event = handling.take_next_event(session, mentorship_id)
                if event is None:
                    return handled
                seq = event.seq
                mails = consequences.apply(session, event, secret_key=settings.secret_key, now=now)
                enqueue_mails(session, mails, settings=settings, now=now)
        except Exception as error:
            if seq is None or not _set_aside(mentorship_id, seq, error, now=now):
                raise  # Prefect tries the task again (retry_delay_seconds)
            continue
        handled += 1


def _set_aside(mentorship_id: int, seq: int, error: Exception, *, now: datetime) -> bool:
    """Count the failure; True if the event is now set aside and the next one may follow."""
    with session_scope() as session:
        given_up = handling.note_failure(
            session, mentorship_id, seq, error=f"{type(error).__name__}: {error}", now=now
        )
    if given_up:
        log.error(
            "mentorship %s: event %s set aside after %d failed tries (%s: %s); later events go on",
            mentorship_id, seq, handling.SET_ASIDE_AFTER, type(error).__name__, error,
        )  # fmt: skip
    return given_up


def _send_mail_of(mentorship_id: int) -> None:
    """Send the mentorship's mail now; what fails waits for the ``send-mail`` deployment."""
    settings = get_settings()
    if not settings.smtp_url:
        log.warning("MENTORFLOW_SMTP_URL is not set; mail stays in the outbox")
        return
    report = deliver_outbox(
        smtp_url=settings.smtp_url, mail_from=settings.mail_from, mentorship_id=mentorship_id
    )
    if report.failed:
        log.warning("mentorship %s: %d mails wait for the next try", mentorship_id, report.failed)
