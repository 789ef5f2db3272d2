"""People own their data: an export of everything about them, and erasure (issue 11)."""

from __future__ import annotations

import hashlib
import io
import json

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import (
    Achievement,
    Certificate,
    Event,
    Feedback,
    Meeting,
    Mentorship,
    Notification,
    OutgoingEmail,
    SignIn,
    User,
)
from models.settings import Settings
from services import certificates, consequences, handling
from tasks.certificate import render_certificate_pdf
from tasks.mail import enqueue_mails
from tests.api.helpers import Flow, Pair, problem
from tests.support import Clock, People


def ended_pair(flow: Flow) -> Pair:
    """A pair that met, rated the meeting, then ended early: a finished mentorship with history."""
    p = flow.pair("active")
    meeting = flow.held_meeting(p)
    for who, rating in ((p.mentee, 5), (p.mentor, 2)):
        flow.ok(
            "POST",
            f"/api/meetings/{meeting['id']}/feedback",
            who,
            201,
            json={"rating": rating, "comment": f"{rating}!"},
        )
    flow.ok("POST", f"{p.url}/end", p.mentee, json={"reason_code": "other", "reason": "moving away"})
    return p


def test_the_export_holds_what_is_mine_and_nothing_of_the_other_sides(client: TestClient, flow: Flow) -> None:
    p = ended_pair(flow)

    r = client.get("/api/me/export", headers=p.mentee.auth)

    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith('attachment; filename="mentorflow-my-data-')
    assert r.headers["cache-control"] == "no-store"
    data = r.json()
    assert data["account"]["email"] == p.mentee.email
    [mentorship] = data["mentorships"]
    assert (mentorship["id"], mentorship["my_role"], mentorship["stage"]) == (p.id, "mentee", "ended")
    assert mentorship["other_participant"] == p.mentor.name
    assert [(f["rating"], f["comment"]) for f in data["feedback_given"]] == [(5, "5!")]
    assert data["meetings"][-1]["i_attended"] is True
    assert [a["number"] for a in data["agreement_versions_written"]] == [1]
    assert data["sign_ins"]
    text = json.dumps(data)
    assert p.mentor.email not in text  # the other side's contact data
    assert '"2!"' not in text  # and their feedback


def test_erasure_removes_the_person_but_keeps_the_other_sides_record(
    client: TestClient, flow: Flow, people: People, db: Engine
) -> None:
    p = ended_pair(flow)
    operator = people.operator()
    mentee_session = p.mentee.auth

    problem(client.post("/api/me/erase", headers=mentee_session, json={"password": "wrong"}), 422)
    r = client.post("/api/me/erase", headers=mentee_session, json={"password": p.mentee.password})

    assert r.status_code == 204, r.text
    problem(client.get("/api/me", headers=mentee_session), 401)
    problem(
        client.post("/api/auth/token", data={"username": p.mentee.email, "password": p.mentee.password}), 401
    )
    with Session(db) as s:
        erased = s.get_one(User, p.mentee.id)
        assert (erased.display_name, erased.erased_at is not None) == ("Erased participant", True)
        assert p.mentee.email not in erased.email
        assert erased.profile.bio == ""
        for model, owner in (
            (Feedback, Feedback.author_id),
            (Notification, Notification.user_id),
            (Certificate, Certificate.user_id),
            (OutgoingEmail, OutgoingEmail.user_id),
            (SignIn, SignIn.user_id),
        ):
            assert s.scalar(select(func.count()).select_from(model).where(owner == p.mentee.id)) == 0, model
        assert s.get_one(Mentorship, p.id).request_message == ""
        assert s.scalar(select(func.count()).select_from(Meeting).where(Meeting.mentorship_id == p.id)) == 1
    # the mentor still has the mentorship, its meeting and their own feedback
    theirs = client.get(p.url, headers=p.mentor.auth).json()
    assert theirs["stage"] == "ended"
    assert theirs["mentee"]["display_name"] == "Erased participant"
    mine = client.get("/api/me/export", headers=p.mentor.auth).json()
    assert [f["rating"] for f in mine["feedback_given"]] == [2]
    # an operator cannot bring the erased person back
    problem(client.post(f"/api/admin/users/{p.mentee.id}/reactivate", headers=operator.auth), 409)


def test_nobody_is_erased_while_a_mentorship_is_under_way(
    client: TestClient, flow: Flow, people: People, db: Engine, clock: Clock
) -> None:
    p = flow.pair("active")
    operator = people.operator()
    problem(client.post("/api/me/erase", headers=p.mentor.auth, json={"password": p.mentor.password}), 409)
    problem(client.post(f"/api/admin/users/{p.mentee.id}/erase", headers=operator.auth), 409)
    assert client.get("/api/me", headers=p.mentor.auth).status_code == 200
    # once it ended, an operator may erase on the person's request
    flow.ok("POST", f"{p.url}/end", p.mentee, json={"reason_code": "other", "reason": "done"})
    r = client.post(f"/api/admin/users/{p.mentee.id}/erase", headers=operator.auth)
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Erased participant"
    problem(client.post(f"/api/admin/users/{p.mentee.id}/erase", headers=p.mentor.auth), 403)


def test_after_erasure_no_row_names_the_person_and_the_certificate_still_verifies(
    client: TestClient, flow: Flow, people: People, db: Engine, settings: Settings, clock: Clock
) -> None:
    """The erasure walk of the issue: a mentee with a finished mentorship, its mails,
    notifications, achievements and a certificate; erased; then nothing stored anywhere holds
    her name or address, and her certificate's code still verifies, under the placeholder."""
    zoe, max_ = people.mentee("Zoë Quist-Ångström"), people.mentor("Max Mentor")
    p = flow.request(zoe, max_, message="Hello Max, I am Zoë Quist-Ångström")
    flow.ok("POST", f"{p.url}/accept", max_)
    moved = flow.confirmed(p, days=3)  # Max's mail about the move carries a calendar naming her
    flow.ok("POST", f"/api/meetings/{moved['id']}/reschedule", zoe, json={"location": "Room 2"})
    flow.held_meeting(p)
    flow.ok(
        "POST",
        f"{p.url}/end",
        zoe,
        json={"reason_code": "other", "reason": "Zoë Quist-Ångström moves abroad"},
    )
    handle_every_event(db, settings, p.id, clock)
    code = issue_certificate(db, p.id, zoe.id, clock)

    assert client.post("/api/me/erase", headers=zoe.auth, json={"password": zoe.password}).status_code == 204

    with Session(db) as s:
        stored = dump_everything(s)
    for trace in ("Zoë", "Quist", zoe.email):
        at = stored.find(trace)
        assert at == -1, (trace, stored[max(0, at - 300) : at + 100])
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200
    assert "Erased participant" in page.text
    assert "Quist" not in page.text
    assert "Max Mentor" in stored  # the other side's record is still there


def handle_every_event(db: Engine, settings: Settings, mentorship_id: int, clock: Clock) -> None:
    """What the task worker does for the pair's events (the engine is off in these tests)."""
    with Session(db) as s:
        while (event := handling.take_next_event(s, mentorship_id)) is not None:
            mails = consequences.apply(s, event, secret_key=settings.secret_key, now=clock.now)
            enqueue_mails(s, mails, settings=settings, now=clock.now)
        s.commit()


def issue_certificate(db: Engine, mentorship_id: int, user_id: int, clock: Clock) -> str:
    """A certificate as the closing stage issues one (rendered for real)."""
    with Session(db) as s:
        facts = certificates.certificate_facts(s, mentorship_id, user_id)
        code = certificates.new_verification_code()
        pdf = render_certificate_pdf(facts, f"https://mentoring.example.org/verify/{code}")
        certificates.store_certificate(
            s, mentorship_id=mentorship_id, user_id=user_id, role=facts.holder_role,
            verification_code=code, pdf=pdf, facts=facts, now=clock.now,
        )  # fmt: skip
        s.commit()
    return code


def dump_everything(s: Session) -> str:
    """Every text column of every table that holds people's words or names, as one string."""
    rows: list[object] = []
    for model in (User, Mentorship, Event, OutgoingEmail, Notification, Achievement, Certificate, Meeting):
        for row in s.scalars(select(model)).unique():
            rows.append({c.key: getattr(row, c.key) for c in model.__mapper__.column_attrs if c.key != "pdf"})
    return json.dumps(rows, default=str, ensure_ascii=False)


def test_the_other_participants_certificate_no_longer_names_the_erased_person(
    client: TestClient, flow: Flow, people: People, db: Engine, clock: Clock
) -> None:
    """Both hold a certificate; an operator erases the mentee: the mentor's PDF is rendered
    again without her name, with the same verification code, and still verifies."""
    zoe, max_ = people.mentee("Zoë Quist-Ångström"), people.mentor("Max Mentor")
    p = flow.request(zoe, max_)
    flow.ok("POST", f"{p.url}/accept", max_)
    flow.held_meeting(p)
    flow.ok("POST", f"{p.url}/end", zoe, json={"reason_code": "goals_reached"})
    issue_certificate(db, p.id, zoe.id, clock)
    code = issue_certificate(db, p.id, max_.id, clock)
    [mine] = client.get("/api/me/certificates", headers=max_.auth).json()
    before = pdf_text(client.get(f"/api/certificates/{mine['id']}.pdf", headers=max_.auth).content)
    assert "Quist" in before  # "accompanying the mentee Zoë Quist-Ångström"
    operator = people.operator()

    r = client.post(f"/api/admin/users/{zoe.id}/erase", headers=operator.auth)

    assert r.status_code == 200, r.text
    download = client.get(f"/api/certificates/{mine['id']}.pdf", headers=max_.auth)
    assert download.status_code == 200
    after = pdf_text(download.content)
    assert "Quist" not in after
    assert "Zo" not in after
    assert "Erased participant" not in after  # the sentence names nobody instead
    assert "Max Mentor" in after
    assert "as a mentor from" in after
    assert code in after  # the same document: its code, QR and issue date
    assert after.replace("\n", " ").count(code) == before.replace("\n", " ").count(code)
    with Session(db) as s:
        cert = s.scalars(select(Certificate).where(Certificate.user_id == max_.id)).one()
        assert cert.verification_code == code
        assert hashlib.sha256(download.content).hexdigest() == cert.sha256
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200
    assert "Max Mentor" in page.text
    assert "Quist" not in page.text
    # erasing the mentor as well brings no PDF of the mentee back
    assert client.post(f"/api/admin/users/{max_.id}/erase", headers=operator.auth).status_code == 200
    with Session(db) as s:
        assert [c.pdf for c in s.scalars(select(Certificate).order_by(Certificate.id))] == [b"", b""]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
