"""The fit question after the get-to-know-you meeting and the closure survey after completion:
asked through the consequences, answered once, private to their author, counted for operators
only from three people on."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Event, Stage, SurveyAnswer
from models.settings import Settings
from services import consequences, lifecycle
from services.access import load_mentorship
from tests.api.helpers import Flow, Pair, invalid, problem
from tests.support import Clock, Person

SECRET = "only-mine-7f3a"


def asked(db: Engine, p: Pair, event_type: str) -> dict[str, set[tuple[int, str]]]:
    """What the consequences of ``p``'s latest ``event_type`` event tell whom (notifications,
    mails) and grant (achievements), as (user id, kind)."""
    with Session(db) as s:
        event = s.scalars(
            select(Event)
            .where(Event.mentorship_id == p.id, Event.type == event_type)
            .order_by(Event.seq.desc())
        ).first()
        assert event is not None, event_type
        out = consequences.decide(s, event, secret_key="test-secret")
    return {
        "notifications": {(n.user_id, n.kind) for n in out.notifications},
        "mails": {(m.user_id, m.kind) for m in out.mails},
        "achievements": {(a.user_id, a.kind) for a in out.achievements},
    }


def complete(flow: Flow, p: Pair) -> None:
    """What the lifecycle flow does once both certificates exist (no flow runs here)."""
    with Session(flow.db) as s:
        mentorship = load_mentorship(s, p.id, lock=True)
        assert mentorship is not None
        lifecycle.move_stage(s, mentorship, Stage.COMPLETED, now=flow.clock.now)
        s.commit()


def completed_pair(flow: Flow) -> Pair:
    p = flow.pair("closing")
    complete(flow, p)
    return p


def test_the_fit_question_comes_after_the_intro_meeting_and_only_its_author_reads_the_answer(
    client: TestClient, flow: Flow, operator: Person, db: Engine
) -> None:
    p = flow.pair("intro")
    url = f"{p.url}/fit"
    assert flow.get(url, p.mentee) == {"due": False, "answer": None}
    problem(client.post(url, json={"answer": "yes"}, headers=p.mentee.auth), 409, detail="get-to-know-you")

    flow.held_meeting(p)  # the first meeting is the get-to-know-you meeting
    both = {(p.mentee.id, "fit_request"), (p.mentor.id, "fit_request")}
    told = asked(db, p, "meeting.held")
    assert both <= told["notifications"]
    assert both <= told["mails"]
    assert flow.get(url, p.mentee) == {"due": True, "answer": None}

    invalid(client.post(url, json={"answer": "maybe"}, headers=p.mentee.auth), "answer")
    mine = flow.ok("POST", url, p.mentee, 201, json={"answer": "not_sure", "comment": SECRET})
    assert (mine["answer"], mine["comment"]) == ("not_sure", SECRET)
    assert flow.get(url, p.mentee) == {"due": False, "answer": mine}
    problem(client.post(url, json={"answer": "yes"}, headers=p.mentee.auth), 409, detail="already answered")
    assert flow.get(url, p.mentee)["answer"]["answer"] == "not_sure"  # the first answer stands

    # the event log says that an answer was given, not what; it earns an achievement
    assert flow.events(p)[-1]["type"] == "survey.answered"
    assert flow.events(p)[-1]["payload"] == {"survey": "fit"}
    told = asked(db, p, "survey.answered")
    assert told == {
        "notifications": set(),
        "mails": set(),
        "achievements": {(p.mentee.id, "survey_answered")},
    }

    # the other side: their own question, nothing of the mentee's answer
    assert flow.get(url, p.mentor) == {"due": True, "answer": None}
    # operators read no answer, and answer nothing
    problem(client.get(url, headers=operator.auth), 403)
    problem(client.post(url, json={"answer": "yes"}, headers=operator.auth), 403)
    for who, path in (
        (p.mentor, f"{p.url}/events"),
        (p.mentor, "/api/me/activity"),
        (p.mentor, "/api/me/notifications"),
        (p.mentor, p.url),
        (operator, f"{p.url}/events"),
        (operator, p.url),
        (operator, "/api/admin/overview"),
        (operator, "/api/admin/stats"),
        (operator, "/api/admin/mentorships"),
        (operator, "/api/admin/exports/mentorships.csv"),
    ):
        r = client.get(path, headers=who.auth)
        assert r.status_code == 200, (path, r.text)
        assert SECRET not in r.text, path
        # the figures' key only
        assert "not_sure" not in r.text or path in ("/api/admin/overview", "/api/admin/stats"), path

    # once the pair moved on past the working stages, the question is no longer asked
    flow.ok("POST", f"{p.url}/end", p.mentor, json={"reason_code": "not_a_fit"})
    assert flow.get(url, p.mentor) == {"due": False, "answer": None}
    problem(client.post(url, json={"answer": "no"}, headers=p.mentor.auth), 409, detail="under way")


def test_the_closure_survey_comes_on_completion_once_per_person(
    client: TestClient, flow: Flow, operator: Person, db: Engine
) -> None:
    p = flow.pair("closing")
    url = f"{p.url}/closure-survey"
    body: dict[str, Any] = {"goals_reached": 4, "would_recommend": True, "comment": SECRET}
    problem(client.post(url, json=body, headers=p.mentee.auth), 409, detail="completed")
    assert flow.get(url, p.mentor) == {"due": False, "answer": None}

    complete(flow, p)
    both = {(p.mentee.id, "closure_survey_request"), (p.mentor.id, "closure_survey_request")}
    told = asked(db, p, "stage.changed")
    assert both <= told["notifications"]
    assert both <= told["mails"]
    assert flow.get(url, p.mentor) == {"due": True, "answer": None}
    assert flow.get(f"{p.url}/fit", p.mentor)["due"] is False  # the fit question is for the start

    invalid(client.post(url, json={**body, "goals_reached": 6}, headers=p.mentor.auth), "goals_reached")
    mine = flow.ok("POST", url, p.mentor, 201, json=body)
    assert (mine["goals_reached"], mine["would_recommend"], mine["comment"]) == (4, True, SECRET)
    problem(client.post(url, json=body, headers=p.mentor.auth), 409, detail="already answered")
    assert flow.get(url, p.mentor) == {"due": False, "answer": mine}

    assert flow.get(url, p.mentee) == {"due": True, "answer": None}
    late = asked(db, p, "stage.changed")  # handled only now: whoever answered is not asked
    assert (p.mentor.id, "closure_survey_request") not in late["mails"] | late["notifications"]
    assert (p.mentee.id, "closure_survey_request") in late["mails"] & late["notifications"]
    problem(client.get(url, headers=operator.auth), 403)
    for who, path in (
        (p.mentee, f"{p.url}/events"),
        (p.mentee, "/api/me/activity"),
        (operator, f"{p.url}/events"),
    ):
        assert SECRET not in client.get(path, headers=who.auth).text
    assert flow.events(p)[-1]["payload"] == {"survey": "closure"}


def test_own_answers_are_in_the_export_and_go_with_erasure(
    client: TestClient, flow: Flow, db: Engine
) -> None:
    p = flow.pair("intro")
    flow.held_meeting(p)
    flow.ok("POST", f"{p.url}/fit", p.mentee, 201, json={"answer": "yes", "comment": SECRET})
    flow.ok("POST", f"{p.url}/fit", p.mentor, 201, json={"answer": "no", "comment": "the mentor's words"})

    exported = flow.get("/api/me/export", p.mentee)
    assert [(a["survey"], a["fit"], a["comment"]) for a in exported["survey_answers"]] == [
        ("fit", "yes", SECRET)
    ]
    assert "the mentor's words" not in client.get("/api/me/export", headers=p.mentee.auth).text

    flow.ok("POST", f"{p.url}/end", p.mentee, json={"reason_code": "other"})
    r = client.post("/api/me/erase", headers=p.mentee.auth, json={"password": p.mentee.password})
    assert r.status_code == 204, r.text
    with Session(db) as s:
        left = s.scalars(select(SurveyAnswer.author_id).where(SurveyAnswer.mentorship_id == p.id)).all()
    assert left == [p.mentor.id]  # the other side's answer is theirs to keep


def test_survey_figures_appear_from_three_people_on(client: TestClient, flow: Flow, operator: Person) -> None:
    """In the overview and the stats alike; the mentorships' CSV says how many of each pair
    answered, never what."""

    def overview() -> dict[str, Any]:
        body: dict[str, Any] = flow.get("/api/admin/overview", operator)
        stats: dict[str, Any] = flow.get("/api/admin/stats", operator)
        assert (stats["fit"], stats["closure"]) == (body["fit"], body["closure"])
        return body

    def answered() -> dict[int, tuple[str, str]]:
        r = client.get("/api/admin/exports/mentorships.csv", headers=operator.auth)
        assert r.status_code == 200, r.text
        rows = csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))
        return {int(row["id"]): (row["fit_answered"], row["closure_answered"]) for row in rows}

    first, second = flow.pair("intro"), flow.pair("intro")
    for p in (first, second):
        flow.held_meeting(p)
    flow.ok("POST", f"{first.url}/fit", first.mentee, 201, json={"answer": "yes"})
    flow.ok("POST", f"{first.url}/fit", first.mentor, 201, json={"answer": "no"})
    assert overview()["fit"] == {"yes": None, "not_sure": None, "no": None}  # two people
    flow.ok("POST", f"{second.url}/fit", second.mentee, 201, json={"answer": "yes"})
    assert overview()["fit"] == {"yes": pytest.approx(0.67), "not_sure": 0.0, "no": pytest.approx(0.33)}
    assert answered() == {first.id: ("2", "0"), second.id: ("1", "0")}

    done = [completed_pair(flow), completed_pair(flow)]
    for who, goals, recommend in ((done[0].mentee, 5, True), (done[0].mentor, 2, False)):
        flow.ok(
            "POST",
            f"{done[0].url}/closure-survey",
            who,
            201,
            json={"goals_reached": goals, "would_recommend": recommend},
        )
    assert overview()["closure"] == {"goals_reached_average": None, "would_recommend_share": None}
    flow.ok(
        "POST",
        f"{done[1].url}/closure-survey",
        done[1].mentor,
        201,
        json={"goals_reached": 2, "would_recommend": True},
    )
    assert overview()["closure"] == {
        "goals_reached_average": pytest.approx(3.0),
        "would_recommend_share": pytest.approx(0.67),
    }
    assert {done[0].id: ("0", "2"), done[1].id: ("0", "1")}.items() <= answered().items()


def test_the_mail_link_opens_the_survey_for_its_participant_alone(
    client: TestClient, flow: Flow, db: Engine, clock: Clock, settings: Settings
) -> None:
    """The fit-request mail carries a link signed for that participant and that survey: it needs
    no sign-in, takes one answer, opens nothing else and expires."""
    p = flow.pair("intro")
    flow.held_meeting(p)
    with Session(db) as s:
        event = s.scalars(
            select(Event).where(Event.mentorship_id == p.id, Event.type == "meeting.held")
        ).one()
        mails = consequences.decide(s, event, secret_key=settings.secret_key).mails
    link = next(m.params["path"] for m in mails if (m.user_id, m.kind) == (p.mentor.id, "fit_request"))
    path, token = urlsplit(link).path, parse_qs(urlsplit(link).query)["token"][0]
    assert path == f"/portal/mentorships/{p.id}/survey/fit"

    form = client.get(link)
    assert form.status_code == 200, form.text
    assert f"After getting to know {p.mentee.name}" in form.text
    assert client.get(f"/portal/mentorships/{p.id}/survey/closure?token={token}").status_code == 404
    assert client.get(f"/portal/mentorships/{p.id}/feedback?token={token}").status_code == 404

    refused = client.post(path, data={"token": token, "answer": "maybe"})
    assert refused.status_code == 422
    assert "Please check" in refused.text
    saved = client.post(path, data={"token": token, "answer": "no", "comment": SECRET})
    assert saved.status_code == 200, saved.text
    assert "Only you can see it" in saved.text
    assert flow.get(f"{p.url}/fit", p.mentor)["answer"]["answer"] == "no"
    again = client.post(path, data={"token": token, "answer": "yes"})
    assert again.status_code == 409
    assert "You already answered this survey." in again.text
    assert "You already answered this survey." in client.get(link).text
    assert flow.get(f"{p.url}/fit", p.mentor)["answer"]["answer"] == "no"

    clock.advance(days=31)
    assert client.get(link).status_code == 410
