"""A whole mentorship through the HTTP API, with the real engine behind it: request to a
downloaded certificate, asserting the mail each side receives, the stages the engine moves,
the achievements in both profiles, the certificate's text and the flow run's final state."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from itertools import count
from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.objects import StateType
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from models import Mentorship, Role
from models.settings import get_settings
from services.users import create_user
from tests.engine.conftest import RunnerControl
from tests.engine.harness import Mailbox, wait_until
from tests.support import Clock, mint_token, serve_app

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("engine")]
_numbers = count(1)
FOLLOWS_WITHIN = 30.0  # seconds; the engine usually needs about two


class Participant:
    def __init__(self, db: Engine, clock: Clock, role: Role, name: str) -> None:
        n = next(_numbers)
        self.email = f"e2e-{role.value}-{n}@example.org"
        self.name = name
        self.clock = clock
        self.db = db
        with Session(db, expire_on_commit=False) as s:
            user = create_user(
                s,
                email=self.email,
                password="correct horse battery",
                display_name=name,
                roles=[role],
                now=clock.now,
            )
            s.commit()
            self.id = user.id

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.db, get_settings(), self.id, now=self.clock.now)}"}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def api(runner: RunnerControl, app_db: Engine, clock: Clock) -> Iterator[httpx.Client]:
    """The API in front of the engine as ``mentorflow up`` runs it: runner and task worker."""
    app = create_app(get_settings(), engine=app_db, clock=clock)  # tells the engine after commit
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=20) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def mails_to(mailbox: Mailbox, address: str) -> list[EmailMessage]:
    return [m for m in list(mailbox.messages) if parseaddr(str(m["To"]))[1] == address]


def kinds(mailbox: Mailbox, address: str) -> Counter[str]:
    return Counter(
        str(m["X-Mentorflow-Kind"])
        for m in mails_to(mailbox, address)
        if not str(m["X-Mentorflow-Kind"]).startswith("reminder_")
    )


def wait_for_stage(api: httpx.Client, who: Participant, mentorship_id: int, stage: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        body: dict[str, Any] = ok(api.get(f"/api/mentorships/{mentorship_id}", headers=who.auth))
        return body if body["stage"] == stage else None

    return wait_until(reached, timeout=FOLLOWS_WITHIN, interval=0.25, what=f"stage {stage}")


def hold_meeting(
    api: httpx.Client,
    clock: Clock,
    mentee: Participant,
    mentor: Participant,
    mentorship_id: int,
    **extra: Any,
) -> int:
    meeting = ok(
        api.post(
            f"/api/mentorships/{mentorship_id}/meetings",
            headers=mentee.auth,
            json={
                "starts_at": (clock.now + timedelta(minutes=30)).isoformat(),
                "duration_minutes": 45,
                "mode": "video",
                "location": "https://meet.example.org/e2e",
                **extra,
            },
        ),
        201,
    )
    ok(api.post(f"/api/meetings/{meeting['id']}/confirm", headers=mentor.auth))
    clock.advance(minutes=31)
    for person in (mentee, mentor):
        ok(
            api.post(
                f"/api/meetings/{meeting['id']}/attendance", headers=person.auth, json={"attended": True}
            )
        )
    return int(meeting["id"])


def test_request_to_downloaded_certificate(
    api: httpx.Client, app_db: Engine, clock: Clock, mailbox: Mailbox
) -> None:
    mentee = Participant(app_db, clock, Role.MENTEE, "Tara Sommer")
    mentor = Participant(app_db, clock, Role.MENTOR, "Jonas Weber")

    m = ok(
        api.post(
            "/api/mentorships",
            headers=mentee.auth,
            json={"mentor_id": mentor.id, "message": "Would you mentor me?"},
        ),
        201,
    )
    mid = m["id"]
    ok(api.post(f"/api/mentorships/{mid}/accept", headers=mentor.auth))
    hold_meeting(api, clock, mentee, mentor, mid, topics=["career-orientation"])
    ok(
        api.put(
            f"/api/mentorships/{mid}/agreement",
            headers=mentee.auth,
            json={
                "period_start": clock.now.date().isoformat(),
                "period_end": (clock.now + timedelta(days=120)).date().isoformat(),
                "planned_meetings": 1,
                "contact_modes": ["video"],
                "contact_frequency": "monthly",
                "content_plan": [{"topic": "leadership", "notes": "first team"}],
            },
        )
    )
    ok(api.post(f"/api/mentorships/{mid}/agreement/submit", headers=mentee.auth))
    ok(api.post(f"/api/mentorships/{mid}/agreement/approve", headers=mentor.auth, json={"number": 1}))
    wait_for_stage(api, mentee, mid, "active")  # moved by the engine, not the request

    hold_meeting(api, clock, mentee, mentor, mid, is_final=True, topics=["leadership"])
    done = wait_for_stage(api, mentor, mid, "completed")
    assert done["waiting_for"] is None
    assert done["meetings_held"] == 2

    stages = [
        e["payload"]["to"]
        for e in ok(api.get(f"/api/mentorships/{mid}/events", headers=mentee.auth))
        if e["type"] == "stage.changed"
    ]
    assert stages == ["active", "closing", "completed"]

    # the mail each side receives, exactly once each (reminders may come on top, on their schedule)
    expected_mentor = Counter(
        {
            "request_received": 1,
            "meeting_proposed": 2,
            "meeting_calendar": 2,  # the calendar file of each meeting he confirmed
            "agreement_submitted": 1,
            "feedback_request": 2,
            "fit_request": 1,
            "closure_survey_request": 1,
            "certificate_issued": 1,
        }
    )
    expected_mentee = Counter(
        {
            "request_accepted": 1,
            "meeting_confirmed": 2,
            "agreement_approved": 1,
            "feedback_request": 2,
            "fit_request": 1,
            "closure_survey_request": 1,
            "certificate_issued": 1,
        }
    )

    def all_mail_arrived() -> bool:
        return (
            kinds(mailbox, mentor.email) == expected_mentor
            and kinds(mailbox, mentee.email) == expected_mentee
        )

    try:
        wait_until(all_mail_arrived, timeout=FOLLOWS_WITHIN, interval=0.25, what="every mail")
    finally:
        assert kinds(mailbox, mentor.email) == expected_mentor
        assert kinds(mailbox, mentee.email) == expected_mentee
    feedback_mail = next(
        m for m in mails_to(mailbox, mentee.email) if str(m["X-Mentorflow-Kind"]) == "feedback_request"
    )
    text = feedback_mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "/portal/meetings/" in text
    assert "feedback?token=" in text

    # achievements in both profiles, once the last events' consequences are in (they send no mail)
    def all_handled() -> bool:
        with Session(app_db) as s:
            m = s.get_one(Mentorship, mid)
            return m.processed_seq == m.last_seq

    wait_until(all_handled, timeout=FOLLOWS_WITHIN, interval=0.25, what="every event handled")
    mentee_achievements = Counter(a["kind"] for a in ok(api.get("/api/me/achievements", headers=mentee.auth)))
    mentor_achievements = Counter(a["kind"] for a in ok(api.get("/api/me/achievements", headers=mentor.auth)))
    for earned in (mentee_achievements, mentor_achievements):
        assert earned["meeting_held"] == 2
        for kind in (
            "first_meeting_held",
            "agreement_approved",
            "mentorship_completed",
            "certificate_issued",
            "agreement_kept_to_plan",
        ):
            assert earned[kind] == 1, (kind, earned)
    assert mentee_achievements["request_sent"] == 1
    assert mentee_achievements["meeting_proposed"] == 2
    assert mentor_achievements["request_accepted"] == 1

    # each participant downloads their certificate: same bytes every time, verifiable
    for holder, other, role in ((mentee, mentor, "mentee"), (mentor, mentee, "mentor")):
        [cert] = ok(api.get("/api/me/certificates", headers=holder.auth))
        assert cert["mentorship_id"] == mid
        assert cert["role"] == role
        pdf = api.get(f"/api/certificates/{cert['id']}.pdf", headers=holder.auth)
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert api.get(f"/api/certificates/{cert['id']}.pdf", headers=holder.auth).content == pdf.content
        assert api.get(f"/api/certificates/{cert['id']}.pdf", headers=other.auth).status_code == 404
        text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf.content)).pages)
        text = " ".join(text.split())
        for needle in (holder.name, other.name, cert["verification_code"], "Leadership"):
            assert needle in text, (needle, text)
        page = api.get(f"/verify/{cert['verification_code']}")
        assert page.status_code == 200
        assert holder.name in page.text
        assert other.name not in page.text

    # the flow run finished, and the operator can see it did
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(done["flow_run_id"])
    assert run.name == f"mentorship-{mid}"
    assert run.state is not None
    assert run.state.type == StateType.COMPLETED
