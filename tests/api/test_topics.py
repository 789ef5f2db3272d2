"""The topic catalogue as a pair reads it: in their language, the topics that fit them first,
and by name (never by code) in every page and mail of a walked mentorship."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.portal.session import COOKIE
from models.settings import Settings
from services import consequences
from services.events import events_of
from tasks.mail import deliver_outbox, enqueue_mails
from tests.api.helpers import Flow, problem
from tests.consequences.support import SmtpServer
from tests.support import Clock, People, Person

CATALOGUE = Path(__file__).parents[2] / "migrations" / "versions" / "topic_catalogue.json"
SLUGS = [t["slug"] for t in json.loads(CATALOGUE.read_text(encoding="utf-8"))]
CODE = re.compile("|".join(re.escape(s) for s in SLUGS if "-" in s))  # a code, not an English word


def profile(client: TestClient, who: Person, body: dict[str, object]) -> None:
    r = client.put("/api/me/profile", headers=who.auth, json=body)
    assert r.status_code == 200, r.text


def test_the_catalogue_in_german_for_a_german_reader(client: TestClient, people: People) -> None:
    auth = people.mentee().auth
    english = client.get("/api/topics", headers={**auth, "Accept-Language": "en"}).json()
    german = client.get("/api/topics", headers={**auth, "Accept-Language": "de-DE,de;q=0.9"}).json()

    assert [t["slug"] for t in german] == [t["slug"] for t in english] == SLUGS
    by_slug = {t["slug"]: t for t in german}
    assert by_slug["starting-a-business"]["title"] == "Unternehmensgründung"
    assert by_slug["job-applications"]["questions"][1] == (
        "Wie schreibe ich ein Anschreiben, das nicht nur meinen Lebenslauf wiederholt?"
    )
    for en, de in zip(english, german, strict=True):  # every word translated, nothing left out
        assert de["title"] != en["title"], de
        assert de["description"] != en["description"], de
        assert len(de["questions"]) == len(en["questions"]), de
        assert not set(de["questions"]) & set(en["questions"]), de


def test_topics_that_fit_the_pair_come_first_and_say_why(client: TestClient, flow: Flow) -> None:
    mentee, mentor = flow.people.mentee(), flow.people.mentor()
    profile(client, mentee, {"mentee": {"goals": "Prepare my job applications", "topics": ["networking"]}})
    profile(
        client,
        mentor,
        {
            "mentor": {
                "offer": "Help with salary negotiation",
                "topics": ["leadership", "networking"],
                "capacity": 2,
            }
        },
    )
    pair = flow.request(mentee, mentor)

    r = client.get(f"/api/topics?mentorship_id={pair.id}", headers=mentee.auth)

    assert r.status_code == 200, r.text
    found = [(t["slug"], t["matches"]) for t in r.json()]
    assert found[:4] == [
        ("networking", ["mentee_topics", "mentor_topics"]),
        ("leadership", ["mentor_topics"]),
        ("job-applications", ["mentee_goals"]),
        ("salary-negotiation", ["mentor_offer"]),
    ]
    rest = [slug for slug, matches in found[4:]]
    assert rest == [s for s in SLUGS if s not in dict(found[:4])]  # the others in catalogue order
    assert all(matches == [] for _, matches in found[4:])
    # without a mentorship: the catalogue's order, nothing matched
    plain = client.get("/api/topics", headers=mentee.auth).json()
    assert [t["slug"] for t in plain] == SLUGS
    assert all(t["matches"] == [] for t in plain)
    # German goals match German titles too
    profile(client, mentee, {"mentee": {"goals": "Ich möchte ein Unternehmen gründen", "topics": []}})
    first = client.get(f"/api/topics?mentorship_id={pair.id}", headers=mentee.auth).json()
    assert ("starting-a-business", ["mentee_goals"]) in [(t["slug"], t["matches"]) for t in first[:3]]


def test_topics_of_someone_elses_mentorship_are_not_found(client: TestClient, flow: Flow) -> None:
    pair = flow.pair()
    stranger = flow.people.mentee()
    problem(client.get(f"/api/topics?mentorship_id={pair.id}", headers=stranger.auth), 404)
    problem(client.get("/api/topics?mentorship_id=0", headers=stranger.auth), 422)


class _Text(HTMLParser):
    """The words a page shows (not its attributes, scripts or styles)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def shown(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def test_no_page_or_mail_of_a_walked_mentorship_shows_a_topic_code(
    client: TestClient, flow: Flow, db: Engine, clock: Clock, settings: Settings, mail_server: SmtpServer
) -> None:
    topics = ["starting-a-business", "salary-negotiation"]
    pair = flow.pair("intro")
    profile(client, pair.mentee, {"locale": "de", "mentee": {"goals": "", "topics": topics}})
    profile(client, pair.mentor, {"locale": "en", "mentor": {"offer": "", "topics": topics, "capacity": 2}})
    flow.draft(pair, content_plan=[{"topic": "starting-a-business", "notes": "first steps"}])
    number = flow.submit(pair)["number"]
    flow.ok("POST", f"{pair.url}/agreement/approve", pair.mentor, json={"number": number})
    flow.activate(pair)
    held = flow.held_meeting(pair, topics=topics)
    flow.confirmed(pair, days=3, topics=["job-applications"])
    with Session(db) as s:  # what the task workers do with the log: notifications, achievements, mail
        for event in events_of(s, pair.id):
            decided = consequences.apply(s, event, secret_key=settings.secret_key, now=clock.now)
            enqueue_mails(s, decided, settings=settings, now=clock.now)
        s.commit()
    deliver_outbox(smtp_url=f"smtp://127.0.0.1:{mail_server.port}", mail_from=settings.mail_from, engine=db)

    mails = mail_server.inbox.messages
    assert any(m["X-Mentorflow-Kind"] == "meeting_proposed" for m in mails), [m["Subject"] for m in mails]
    words = {str(m["To"]): "" for m in mails}
    for m in mails:
        for part in m.walk():
            if part.get_content_maintype() == "text":
                words[str(m["To"])] += part.get_content()
    for to, text in words.items():
        assert not CODE.search(text), (to, CODE.search(text))
    assert "Starting a business" in words[next(t for t in words if pair.mentor.email in t)]
    assert "Unternehmensgründung" in words[next(t for t in words if pair.mentee.email in t)]

    pages = [
        "/portal",
        f"/portal/mentorships/{pair.id}",
        f"/portal/mentorships/{pair.id}/agreement",
        f"/portal/meetings/{held['id']}",
        "/portal/profile",
        "/portal/mentors",
    ]
    for who in (pair.mentee, pair.mentor):
        for url in pages:
            r = client.get(url, headers={"Cookie": f"{COOKIE}={who.token}"})
            assert r.status_code == 200, (url, r.status_code)
            text = shown(r.text)
            assert not CODE.search(text), (who.name, url, CODE.search(text))
    german = {"Cookie": f"{COOKIE}={pair.mentee.token}"}  # the mentee reads German
    assert "Gehaltsverhandlung" in shown(client.get(f"/portal/meetings/{held['id']}", headers=german).text)
    agreement = client.get(f"/portal/mentorships/{pair.id}/agreement", headers=german)
    assert "Unternehmensgründung" in shown(agreement.text)
