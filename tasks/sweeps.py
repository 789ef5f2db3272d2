"""Scheduled sweeps as Prefect tasks: each one transaction (expiry: one per request), safe to rerun.

``now`` defaults to the clock; tests and back-fills pass it. Mail is only enqueued here;
the sweep flows call ``send_pending_mail`` afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from models.db import session_scope
from models.settings import Settings, get_settings
from services import next_steps, retention, sweeps
from services.consequences import Consequences, record
from services.idempotency import forget_responses
from tasks.engine import follow_up
from tasks.mail import enqueue_mails


def _run(decide: Callable[[Session, Settings, datetime], Consequences], now: datetime | None) -> int:
    """Decide, record notifications, enqueue mails; returns how many mails were new."""
    settings = get_settings()
    moment = now or datetime.now(UTC)
    with session_scope() as session:
        mails = record(session, decide(session, settings, moment), now=moment)
        return enqueue_mails(session, mails, settings=settings, now=moment)


@task(name="request-inactivity-feedback", cache_policy=NO_CACHE, persist_result=False)
def request_inactivity_feedback(now: datetime | None = None) -> int:
    return _run(
        lambda session, settings, moment: sweeps.inactivity_feedback_requests(
            session,
            now=moment,
            inactivity_after=settings.inactivity_after,
            secret_key=settings.secret_key,
        ),
        now,
    )


@task(name="remind-pending-answers", cache_policy=NO_CACHE, persist_result=False)
def remind_pending_answers(now: datetime | None = None) -> int:
    return _run(
        lambda session, _settings, moment: sweeps.pending_answer_reminders(session, now=moment),
        now,
    )


@task(name="remind-upcoming-meetings", cache_policy=NO_CACHE, persist_result=False)
def remind_upcoming_meetings(now: datetime | None = None) -> int:
    return _run(lambda session, _settings, moment: sweeps.meeting_reminders(session, now=moment), now)


@task(name="remind-attendance", cache_policy=NO_CACHE, persist_result=False)
def remind_attendance(now: datetime | None = None) -> int:
    return _run(lambda session, _settings, moment: sweeps.attendance_reminders(session, now=moment), now)


@task(name="refresh-next-steps", cache_policy=NO_CACHE, persist_result=False)
def refresh_next_steps(now: datetime | None = None) -> int:
    """Store the next step of the mentorships whose step the clock changed (a meeting
    started) or that were never worked out; how many. Operators' reads work these out and
    store them too, so this only spares them the work."""
    with session_scope() as session:
        return next_steps.refresh_stale(session, now=now or datetime.now(UTC))


@task(name="expire-requests", cache_policy=NO_CACHE, persist_result=False)
def expire_requests(now: datetime | None = None) -> list[int]:
    """Expire unanswered requests, one transaction each; returns the mentorships expired.

    Each gets a ``mentorship.expired`` event; the sweep then tells the engine, as the API
    does after a fact (its consequences, and the lifecycle run's wait for an answer is met).
    """
    settings = get_settings()
    moment = now or datetime.now(UTC)
    with session_scope() as session:
        due = sweeps.expirable_requests(session, now=moment, request_expiry=settings.request_expiry)
    expired: list[int] = []
    for mentorship_id in due:
        with session_scope() as session:
            event = sweeps.expire_request(
                session, mentorship_id, now=moment, request_expiry=settings.request_expiry
            )
            if event is not None:
                expired.append(mentorship_id)
    for mentorship_id in expired:
        follow_up(mentorship_id)
    return expired


@task(name="forget-what-is-kept-for-a-while", cache_policy=NO_CACHE, persist_result=False)
def forget_kept_for_a_while(now: datetime | None = None) -> dict[str, int]:
    """Apply the retention periods: Idempotency-Key answers, sent mail bodies, notifications."""
    moment, settings = now or datetime.now(UTC), get_settings()
    with session_scope() as session:
        return {
            "idempotency answers": forget_responses(session, before=moment - settings.idempotency_keep),
            "mail bodies": retention.forget_mail_bodies(
                session, sent_before=moment - settings.mail_body_keep
            ),
            "notifications": retention.forget_notifications(
                session, before=moment - settings.notification_keep
            ),
        }
