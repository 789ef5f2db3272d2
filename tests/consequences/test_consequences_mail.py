"""Sending the outbox over real SMTP: nothing lost while SMTP is down, nothing sent twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.settings import Settings
from services.outbox import NewEmail, enqueue_email
from tasks.mail import deliver_outbox, message_id, parse_smtp_url, send_pending_mail
from tests.consequences.support import Pair, SmtpServer, outbox

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fill_outbox(engine: Engine, how_many: int, *, to: str = "someone@example.org") -> None:
    with Session(engine) as session, session.begin():
        for n in range(how_many):
            mail = NewEmail(
                dedupe_key=f"test:{to}:{n}",
                user_id=None,
                mentorship_id=None,
                recipient=to,
                kind="test",
                subject=f"Mail {n}",
                body_text=f"Text {n}\n",
                body_html=f"<p>Text {n}</p>",
            )
            assert enqueue_email(session, mail, now=NOW)
            assert not enqueue_email(session, mail, now=NOW)  # the same key again: nothing


def test_smtp_down_loses_nothing_and_sends_once_it_is_back(
    pair: Pair, smtp: SmtpServer, app_settings: Settings
) -> None:
    pair.request()
    pair.accept()
    pair.deliver()
    assert len(outbox(pair.engine)) == 2

    # nobody listens on the SMTP port: the handler's own attempt failed, then two more
    assert send_pending_mail.fn() == 0
    assert send_pending_mail.fn() == 0
    rows = outbox(pair.engine)
    assert all(row.sent_at is None for row in rows)
    assert all(row.attempts == 3 for row in rows)
    assert all("SMTP unreachable" in (row.last_error or "") for row in rows)

    smtp.start()
    assert send_pending_mail.fn() == 2
    assert send_pending_mail.fn() == 0
    pair.redeliver_all()
    assert send_pending_mail.fn() == 0

    assert len(smtp.inbox.messages) == 2
    rows = outbox(pair.engine)
    assert all(row.sent_at is not None and row.last_error is None for row in rows)
    assert all(row.attempts == 4 for row in rows)
    sent_ids = sorted(str(m["Message-ID"]) for m in smtp.inbox.messages)
    assert sent_ids == sorted(message_id(row, app_settings.mail_from) for row in rows)
    for message in smtp.inbox.messages:
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == [
            "text/plain",
            "text/html",
        ]
        assert "program@example.org" in str(message["From"])


def test_two_senders_never_send_the_same_mail(db: Engine, smtp: SmtpServer, app_settings: Settings) -> None:
    fill_outbox(db, 40)
    smtp.start()
    assert app_settings.smtp_url is not None
    url, sender = app_settings.smtp_url, app_settings.mail_from

    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(lambda _: deliver_outbox(smtp_url=url, mail_from=sender), range(4)))

    assert sum(r.sent for r in reports) == 40
    assert sum(r.failed for r in reports) == 0
    subjects = sorted(str(m["Subject"]) for m in smtp.inbox.messages)
    assert subjects == sorted(f"Mail {n}" for n in range(40))
    assert all(row.attempts == 1 for row in outbox(db))


def test_a_refused_recipient_does_not_hold_up_the_others(
    db: Engine, smtp: SmtpServer, app_settings: Settings
) -> None:
    fill_outbox(db, 2, to="gone@example.org")
    fill_outbox(db, 3, to="here@example.org")
    smtp.inbox.refused.add("gone@example.org")
    smtp.start()

    assert send_pending_mail.fn() == 3
    refused = [row for row in outbox(db) if row.recipient == "gone@example.org"]
    assert all(row.sent_at is None and row.attempts == 1 for row in refused)
    assert all("No such mailbox" in (row.last_error or "") for row in refused)

    smtp.inbox.refused.clear()  # the mailbox exists again: the retry goes through
    assert send_pending_mail.fn() == 2
    assert len(smtp.inbox.messages) == 5


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "user"),
    [
        ("smtp://127.0.0.1:1025", "127.0.0.1", 1025, False, None),
        ("smtp://mail.example.org", "mail.example.org", 25, False, None),
        ("smtps://me%40x.org:pw@mail.example.org", "mail.example.org", 465, True, "me@x.org"),
    ],
)
def test_smtp_urls(url: str, host: str, port: int, tls: bool, user: str | None) -> None:
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.tls, target.username) == (host, port, tls, user)


def test_not_an_smtp_url() -> None:
    with pytest.raises(ValueError, match="not an SMTP URL"):
        parse_smtp_url("http://127.0.0.1:1025")
