"""Demo data for a first look: an operator, two mentors, two mentees, a mentorship under way.

Tara and Mira write English (their mentorship is under way); Malte and Jonas speak German:
their language is set (so mails are German too) and their profiles are German, and the API
walk in the README, between the two of them, writes German messages and agreement text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Mentorship, Role, User
from services import agreements, meetings, mentorships
from services.agreements import AgreementTerms
from services.lifecycle import Fact
from services.meetings import MeetingPlan
from services.users import ProfileUpdate, create_user, update_profile

DEMO_PASSWORD = "mentorflow-demo"  # noqa: S105 - printed on purpose; `demo` is refused in production


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    roles: tuple[Role, ...]
    locale: str = ""  # "" keeps the browser's language at the first sign-in


CAST = (
    DemoPerson("operator@example.org", "Olga Operator", (Role.OPERATOR,)),
    DemoPerson("mira.mentor@example.org", "Mira Mentor", (Role.MENTOR,)),
    DemoPerson("malte.mentor@example.org", "Malte Mentor", (Role.MENTOR,), "de"),
    DemoPerson("tara.mentee@example.org", "Tara Mentee", (Role.MENTEE,)),
    DemoPerson("jonas.mentee@example.org", "Jonas Mentee", (Role.MENTEE,), "de"),
)


def create_demo(session: Session, *, now: datetime) -> tuple[list[DemoPerson], int | None]:
    """Create the cast (skipping people who exist) and, once, a mentorship in its intro stage
    with the get-to-know-you meeting held and agreement v1 waiting for the mentor."""
    people: dict[str, User] = {}
    for person in CAST:
        user = session.scalar(select(User).where(User.email == person.email))
        if user is None:
            user = create_user(
                session,
                email=person.email,
                password=DEMO_PASSWORD,
                display_name=person.name,
                roles=list(person.roles),
                now=now,
            )
            user.locale = person.locale
        people[person.email] = user
    mira, malte = people[CAST[1].email], people[CAST[2].email]
    tara, jonas = people[CAST[3].email], people[CAST[4].email]
    update_profile(
        session,
        mira,
        ProfileUpdate(
            bio="Engineering lead, 15 years in software.",
            mentor_offer="Career steps into leadership.",
            mentor_topics=["leadership", "career-orientation"],
            mentor_capacity=3,
        ),
        now=now,
    )
    update_profile(
        session,
        malte,
        ProfileUpdate(
            bio="Gründer von zwei Start-ups, heute Berater für junge Unternehmen.",
            mentor_offer="Von der Idee zu den ersten Kundinnen und Kunden.",
            mentor_topics=["starting-a-business", "networking"],
            mentor_capacity=2,
        ),
        now=now,
    )
    update_profile(
        session,
        tara,
        ProfileUpdate(mentee_goals="Take on a team lead role within a year.", mentee_topics=["leadership"]),
        now=now,
    )
    update_profile(
        session,
        jonas,
        ProfileUpdate(
            bio="Tischler, seit acht Jahren im Beruf.",
            mentee_goals="Mich mit einer eigenen Werkstatt selbstständig machen.",
            mentee_topics=["starting-a-business"],
        ),
        now=now,
    )
    if mentorships.mentorships_of(session, tara):
        return list(CAST), None
    return list(CAST), _mentorship_under_way(session, tara, mira, now=now).id


def _mentorship_under_way(session: Session, mentee: User, mentor: User, *, now: datetime) -> Mentorship:
    start = now - timedelta(days=10)
    m = mentorships.request_mentorship(
        session,
        mentee,
        mentor_id=mentor.id,
        now=start,
        message="Hello Mira, I'd love to learn how you grew into leading a team.",
    )
    mentorships.decide(session, mentor, m.id, Fact.ACCEPT, now=start + timedelta(days=1))
    intro = meetings.propose(
        session,
        mentee,
        m.id,
        MeetingPlan(
            starts_at=start + timedelta(days=5),
            duration_minutes=45,
            mode="video",
            location="https://meet.example.org/tara-mira",
            agenda="Get to know each other",
            topics=("leadership",),
        ),
        now=start + timedelta(days=1, hours=2),
    )
    meetings.confirm(session, mentor, intro.id, now=start + timedelta(days=2))
    for person in (mentee, mentor):
        meetings.record_attendance(
            session, person, intro.id, attended=True, now=start + timedelta(days=5, hours=1)
        )
    agreements.save_draft(
        session,
        mentee,
        m.id,
        AgreementTerms(
            period_start=(now - timedelta(days=3)).date(),
            period_end=(now + timedelta(days=180)).date(),
            planned_meetings=6,
            contact_modes=["video", "email"],
            contact_frequency="every three weeks",
            content_plan=[
                {"topic": "leadership", "notes": "first 90 days as a lead"},
                {"topic": "communication", "notes": "difficult conversations"},
            ],
        ),
        now=start + timedelta(days=6),
    )
    agreements.submit(session, mentee, m.id, now=start + timedelta(days=6, minutes=5))
    return m
