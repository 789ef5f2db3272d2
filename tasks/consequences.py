"""The consequences of one event, as a Prefect task: one transaction, safe to run twice.

The lifecycle flow calls ``apply_event_consequences(event.id)`` for each pending event, in
order, and ``send_pending_mail()`` afterwards (sending is its own step, so SMTP being down
never holds up the lifecycle; the outbox keeps the mail until it goes out).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from models import Event
from models.db import session_scope
from models.settings import get_settings
from services import consequences
from tasks.mail import enqueue_mails, send_pending_mail

__all__ = ["apply_event_consequences", "send_pending_mail"]

log = logging.getLogger(__name__)


@task(
    name="apply-event-consequences",
    task_run_name="consequences-of-event-{event_id}",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=2,
)
def apply_event_consequences(event_id: int) -> None:
    """Notifications, achievements and outbox mail for one event; re-delivery writes nothing new."""
    settings = get_settings()
    now = datetime.now(UTC)
    with session_scope() as session:
        event = session.get(Event, event_id)
        if event is None:
            log.warning("event %s does not exist; nothing to do", event_id)
            return
        mails = consequences.apply(session, event, secret_key=settings.secret_key, now=now)
        enqueue_mails(session, mails, settings=settings, now=now)
