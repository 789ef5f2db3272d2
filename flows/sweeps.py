"""Scheduled sweeps (DESIGN rule 4): small flows, each a sweep task and then the outbox.

Suggested schedules (registered in ``deployments/``): ``sweep-pending-answers`` and
``sweep-meetings`` hourly, ``sweep-inactivity`` and ``housekeeping`` daily, ``send-mail`` every
minute (it retries mail that could not go out, e.g. while SMTP was down, and stores the next
steps a meeting's start changed).
"""

# No ``from __future__ import annotations`` here: the runner hands each flow to its process
# pickled by value, with only the globals its code uses, so a ``now: "datetime | None"`` kept
# as a string could not be resolved there, and Prefect failed every scheduled sweep while
# validating its parameters ("``Inactivity_SweepModel`` is not fully defined").
from datetime import datetime

from prefect import flow

from tasks.mail import send_pending_mail
from tasks.sweeps import (
    expire_requests,
    forget_kept_for_a_while,
    refresh_next_steps,
    remind_attendance,
    remind_pending_answers,
    remind_upcoming_meetings,
    request_inactivity_feedback,
)


@flow(name="sweep-inactivity")
def inactivity_sweep(now: datetime | None = None) -> None:
    """Ask quiet pairs for feedback, at most once per period of inactivity."""
    request_inactivity_feedback(now)
    send_pending_mail()


@flow(name="sweep-pending-answers")
def pending_answers_sweep(now: datetime | None = None) -> None:
    """Remind whoever must answer a request, agreement or meeting; expire stale requests."""
    remind_pending_answers(now)
    expire_requests(now)
    send_pending_mail()


@flow(name="sweep-meetings")
def meetings_sweep(now: datetime | None = None) -> None:
    """Remind both sides the day before a confirmed meeting, and to confirm participation after."""
    remind_upcoming_meetings(now)
    remind_attendance(now)
    send_pending_mail()


@flow(name="housekeeping")
def housekeeping(now: datetime | None = None) -> None:
    """Forget what is kept only for a while: stored Idempotency-Key answers, sent mails' text,
    notifications (the retention periods in the settings)."""
    forget_kept_for_a_while(now)


@flow(name="send-mail")
def send_mail() -> None:
    """Send what waits in the outbox; store the next step of the pairs whose meeting started
    since (operators' lists would otherwise work those out on every read)."""
    send_pending_mail()
    refresh_next_steps()


SWEEP_FLOWS = (inactivity_sweep, pending_answers_sweep, meetings_sweep, housekeeping, send_mail)
