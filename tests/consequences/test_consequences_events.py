"""The consequences of events: who hears what, what is earned, and nothing twice on re-delivery."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Achievement, Mentorship, Notification, OutgoingEmail, Stage
from models.settings import Settings
from services.feedback_links import Target, feedback_token, link_lifetime, verify_feedback_token
from tasks.mail import send_pending_mail
from tests.consequences.support import BASE_URL, Inbox, Pair, count, outbox


def achievements(engine: Engine, user_id: int) -> Counter[str]:
    with Session(engine) as session:
        rows = session.scalars(select(Achievement.kind).where(Achievement.user_id == user_id))
        return Counter(rows)


def notifications(engine: Engine, user_id: int) -> list[str]:
    with Session(engine) as session:
        rows = session.scalars(
            select(Notification.kind).where(Notification.user_id == user_id).order_by(Notification.id)
        )
        return list(rows)


def test_request_tells_the_mentor_and_counts_for_the_mentee(pair: Pair, inbox: Inbox) -> None:
    pair.request("Could you help me with my career?")
    pair.deliver()

    assert notifications(pair.engine, pair.mentor_id) == ["request_received"]
    assert notifications(pair.engine, pair.mentee_id) == []
    assert achievements(pair.engine, pair.mentee_id) == {"request_sent": 1}

    assert send_pending_mail.fn() == 0  # the handler sent it already
    (mail,) = inbox.messages
    assert "max@example.org" in str(mail["To"])
    # Max reads German: subject and body in his language, the mentee's words quoted as written
    assert mail["Subject"] == "Mia Mentee bittet Sie um ein Mentoring"
    assert mail.is_multipart()
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert "Could you help me with my career?" in text.get_content()
    assert f"{BASE_URL}/portal/mentorships/{pair.mentorship_id}" in text.get_content()
    assert f'href="{BASE_URL}/portal/mentorships/{pair.mentorship_id}"' in html.get_content()


def test_the_mentors_words_on_accepting_reach_the_mentee(pair: Pair, inbox: Inbox) -> None:
    pair.request()
    pair.accept("Happy to! Let us start with your CV.")
    pair.deliver()

    with Session(pair.engine) as session:
        notice = session.scalars(select(Notification).where(Notification.user_id == pair.mentee_id)).one()
    assert (notice.kind, notice.params["message"]) == (
        "request_accepted",
        "Happy to! Let us start with your CV.",
    )
    (mail,) = inbox.to("mia@example.org")
    for part in ("plain", "html"):
        body = mail.get_body(preferencelist=(part,))
        assert body is not None
        assert "Let us start with your CV." in body.get_content(), part


def test_decisions_reach_the_other_side(pair: Pair, inbox: Inbox) -> None:
    pair.request()
    pair.accept()
    pair.agree(planned_meetings=2)
    meeting_id = pair.propose()
    pair.confirm(meeting_id)
    pair.deliver()
    send_pending_mail.fn()

    assert inbox.kinds("mia@example.org") == [
        "agreement_approved",
        "meeting_confirmed",
        "request_accepted",
    ]
    assert inbox.kinds("max@example.org") == [
        "agreement_submitted",
        "meeting_calendar",  # his own calendar file for the meeting he confirmed
        "meeting_proposed",
        "request_received",
    ]
    assert achievements(pair.engine, pair.mentee_id) == {
        "request_sent": 1,
        "agreement_submitted": 1,
        "agreement_approved": 1,
        "meeting_proposed": 1,
    }
    assert achievements(pair.engine, pair.mentor_id) == {
        "request_accepted": 1,
        "agreement_approved": 1,
    }
    (confirmed,) = [m for m in inbox.to("mia@") if m["X-Mentorflow-Kind"] == "meeting_confirmed"]
    body = confirmed.get_body(preferencelist=("plain",))
    assert body is not None
    # Mia lives in London and reads English: the meeting time is shown in her zone
    assert "Monday, March 9, 2026, 9:00" in body.get_content()
    assert "(Greenwich Mean Time)" in body.get_content()


def test_redelivering_events_sends_and_grants_nothing_twice(
    pair: Pair, inbox: Inbox, app_settings: Settings
) -> None:
    pair.request()
    pair.accept()
    pair.agree()
    held = pair.hold_meeting()
    pair.feedback(held, pair.mentee_id)
    pair.deliver()
    send_pending_mail.fn()
    before = {
        "achievements": count(pair.engine, Achievement),
        "notifications": count(pair.engine, Notification),
        "outbox": count(pair.engine, OutgoingEmail),
        "inbox": len(inbox.messages),
    }
    texts_before = {row.dedupe_key: row.body_text for row in outbox(pair.engine)}

    pair.redeliver_all()  # a restarted flow handing over the whole log again
    pair.redeliver_all()
    send_pending_mail.fn()

    after = {
        "achievements": count(pair.engine, Achievement),
        "notifications": count(pair.engine, Notification),
        "outbox": count(pair.engine, OutgoingEmail),
        "inbox": len(inbox.messages),
    }
    assert after == before
    assert {row.dedupe_key: row.body_text for row in outbox(pair.engine)} == texts_before
    assert all(row.sent_at is not None and row.attempts == 1 for row in outbox(pair.engine))
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == len(set(ids)) == before["inbox"]


def test_feedback_request_after_a_held_meeting_carries_a_signed_link(
    pair: Pair, inbox: Inbox, app_settings: Settings
) -> None:
    pair.request()
    pair.accept()
    meeting_id = pair.hold_meeting()  # the get-to-know-you meeting
    pair.deliver()
    send_pending_mail.fn()

    secret = app_settings.secret_key
    now = pair.clock.now

    def holder(token: str, *, target: Target, target_id: int, now: datetime = now) -> int | None:
        return verify_feedback_token(secret, token, target=target, target_id=target_id, now=now)

    for user_id, address in ((pair.mentee_id, "mia@"), (pair.mentor_id, "max@")):
        (mail,) = [m for m in inbox.to(address) if m["X-Mentorflow-Kind"] == "feedback_request"]
        text = mail.get_body(preferencelist=("plain",))
        html = mail.get_body(preferencelist=("html",))
        assert text is not None
        assert html is not None
        found = re.search(rf"{re.escape(BASE_URL)}/portal/meetings/(\d+)/feedback\?\S+", text.get_content())
        assert found is not None
        link = urlsplit(found.group(0))
        assert int(found.group(1)) == meeting_id
        (token,) = parse_qs(link.query)["token"]
        assert found.group(0) in html.get_content()

        assert holder(token, target="meeting", target_id=meeting_id) == user_id
        # tampering with any part, or using it elsewhere, is refused
        other_user = pair.mentor_id if user_id == pair.mentee_id else pair.mentee_id
        forged_user = f"{other_user}.{token.partition('.')[2]}"
        forged_signature = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        for bad in (forged_user, forged_signature, "", "garbage", f"{user_id}."):
            assert holder(bad, target="meeting", target_id=meeting_id) is None
        assert holder(token, target="meeting", target_id=meeting_id + 1) is None
        assert holder(token, target="mentorship", target_id=meeting_id) is None
        assert (
            verify_feedback_token("another-secret", token, target="meeting", target_id=meeting_id, now=now)
            is None
        )
        # and it works for 60 days after the meeting was held, then no more
        later = now + link_lifetime()
        assert holder(token, target="meeting", target_id=meeting_id, now=later) is None

    assert achievements(pair.engine, pair.mentee_id)["meeting_held"] == 1
    assert achievements(pair.engine, pair.mentor_id)["meeting_held"] == 1
    assert feedback_token(
        secret, target="meeting", target_id=1, user_id=2, requested_at=now
    ) != feedback_token(secret, target="meeting", target_id=2, user_id=1, requested_at=now)


def test_milestones_and_completion(pair: Pair, inbox: Inbox) -> None:
    pair.request()
    pair.accept()
    pair.hold_meeting()  # intro meeting: the first meeting held
    pair.agree(planned_meetings=4)
    for _ in range(3):
        pair.hold_meeting()
    pair.deliver()
    for user_id in (pair.mentee_id, pair.mentor_id):
        earned = achievements(pair.engine, user_id)
        assert earned["first_meeting_held"] == 1
        assert earned["five_meetings_held"] == 0
        assert earned["meeting_held"] == 4

    pair.hold_meeting(is_final=True)  # the fifth meeting, and the fourth planned one
    pair.certify_and_complete()
    pair.deliver()
    pair.redeliver_all()

    for user_id in (pair.mentee_id, pair.mentor_id):
        earned = achievements(pair.engine, user_id)
        assert earned["first_meeting_held"] == 1
        assert earned["five_meetings_held"] == 1
        assert earned["agreement_kept_to_plan"] == 1
        assert earned["mentorship_completed"] == 1
        assert earned["certificate_issued"] == 1
        assert earned["meeting_held"] == 5
        assert "certificate_issued" in notifications(pair.engine, user_id)

    send_pending_mail.fn()
    assert inbox.kinds("mia@example.org").count("certificate_issued") == 1
    assert inbox.kinds("max@example.org").count("certificate_issued") == 1
    with Session(pair.engine) as session:
        assert session.get_one(Mentorship, pair.mentorship_id).stage == Stage.COMPLETED


def test_agreement_not_kept_to_plan_earns_no_such_milestone(pair: Pair) -> None:
    pair.request()
    pair.accept()
    pair.hold_meeting()
    pair.agree(planned_meetings=3)
    pair.hold_meeting(is_final=True)  # one planned meeting of three
    pair.certify_and_complete()
    pair.deliver()

    for user_id in (pair.mentee_id, pair.mentor_id):
        earned = achievements(pair.engine, user_id)
        assert earned["mentorship_completed"] == 1
        assert earned["agreement_kept_to_plan"] == 0
