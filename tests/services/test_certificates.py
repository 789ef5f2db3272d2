"""Certificate facts, and storing each participant's certificate once (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import services.certificates as certificates
from models import (
    AgreementStatus,
    AgreementVersion,
    Certificate,
    Meeting,
    MeetingStatus,
    Mentorship,
    Stage,
    User,
)
from services.certificates import (
    SUMMARY_FIELDS,
    CertificateFacts,
    certificate_by_code,
    certificate_facts,
    certificates_of,
    new_verification_code,
    store_certificate,
)
from services.errors import NotFound

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
ISSUED = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def add_user(session: Session, name: str) -> User:
    user = User(
        email=f"{name.split()[0].lower()}@example.org",
        password_hash="x",
        display_name=name,
        locale="de",
        timezone="Europe/Berlin",
        created_at=T0,
    )
    session.add(user)
    session.flush()
    return user


def add_mentorship(session: Session, mentee: User, mentor: User) -> Mentorship:
    mentorship = Mentorship(
        mentee_id=mentee.id,
        mentor_id=mentor.id,
        stage=Stage.CLOSING,
        request_message="Hello",
        requested_at=T0,
        accepted_at=T0 + timedelta(days=2),
        last_activity_at=T0 + timedelta(days=200),
    )
    session.add(mentorship)
    session.flush()
    return mentorship


def add_meeting(
    session: Session, mentorship: Mentorship, starts_at: datetime, topics: list[str], status: str
) -> None:
    session.add(
        Meeting(
            mentorship_id=mentorship.id,
            status=status,
            starts_at=starts_at,
            duration_minutes=60,
            mode="video",
            topics=topics,
            proposed_by_id=mentorship.mentee_id,
            created_at=T0,
        )
    )


def add_agreement(
    session: Session,
    mentorship: Mentorship,
    number: int,
    status: str,
    period: tuple[date, date],
    plan: list[str],
) -> None:
    session.add(
        AgreementVersion(
            mentorship_id=mentorship.id,
            number=number,
            status=status,
            author_id=mentorship.mentee_id,
            period_start=period[0],
            period_end=period[1],
            planned_meetings=6,
            contact_modes=["video"],
            contact_frequency="monthly",
            content_plan=[{"topic": t, "notes": ""} for t in plan],
            created_at=T0,
            updated_at=T0,
        )
    )


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


HELD, CANCELLED, MISSED = MeetingStatus.HELD, MeetingStatus.CANCELLED, MeetingStatus.MISSED
PAIR_MEETINGS = [
    (utc(2026, 2, 20, 17), ["Getting to know each other"], HELD),
    (utc(2026, 3, 12, 16), ["career-orientation", "job-applications"], HELD),
    (utc(2026, 4, 1, 16), ["intercultural-work"], CANCELLED),
    (utc(2026, 5, 7, 23, 30), ["Networking", "salary-negotiation"], HELD),  # 8 May in Berlin
    (utc(2026, 6, 2, 16), ["digital-skills"], MISSED),
    (utc(2026, 8, 27, 16), ["Career orientation"], HELD),
]
PAIR_AGREEMENTS = [
    (AgreementStatus.SUPERSEDED, date(2026, 6, 30), ["research-careers"]),
    (
        AgreementStatus.APPROVED,
        date(2026, 8, 31),
        ["career-orientation", "leadership", "Networking"],
    ),
    (AgreementStatus.PENDING, date(2026, 12, 31), ["starting-a-business"]),
]


@pytest.fixture
def pair(session: Session) -> tuple[Mentorship, User, User]:
    """A pair near its end: an intro meeting before the agreement, amendments, a final meeting.

    The holders live in Europe/Berlin; agreement versions all start on 1 March 2026.
    """
    mentee = add_user(session, "Anna Schmidt")
    mentor = add_user(session, "Jonas Weber")
    m = add_mentorship(session, mentee, mentor)
    for starts_at, topics, meeting_status in PAIR_MEETINGS:
        add_meeting(session, m, starts_at, topics, meeting_status)
    for number, (status, period_end, plan) in enumerate(PAIR_AGREEMENTS, start=1):
        add_agreement(session, m, number, status, (date(2026, 3, 1), period_end), plan)
    session.flush()
    return m, mentee, mentor


def facts_and_store(
    session: Session, mentorship: Mentorship, user: User, pdf: bytes = b"%PDF-1.7 one"
) -> Certificate:
    facts = certificate_facts(session, mentorship.id, user.id)
    return store_certificate(
        session,
        mentorship_id=mentorship.id,
        user_id=user.id,
        role=facts.holder_role,
        verification_code=new_verification_code(),
        pdf=pdf,
        facts=facts,
        now=ISSUED,
    )


def test_mentee_facts_state_names_period_meetings_and_topics(
    session: Session, pair: tuple[Mentorship, User, User]
) -> None:
    mentorship, mentee, _ = pair

    facts = certificate_facts(session, mentorship.id, mentee.id)

    assert (facts.holder_name, facts.holder_role) == ("Anna Schmidt", "mentee")
    assert (facts.other_name, facts.other_role) == ("Jonas Weber", "mentor")
    # what happened: from the acceptance to the final meeting (the mentorship is closing),
    # not the agreement's planned 1 March to 31 August
    assert (facts.period_start, facts.period_end) == (date(2026, 2, 3), date(2026, 8, 27))
    assert [m.held_on for m in facts.meetings] == [
        date(2026, 2, 20),
        date(2026, 3, 12),
        date(2026, 5, 8),
        date(2026, 8, 27),
    ]
    assert facts.meetings[1].topics == ("Berufliche Orientierung", "Bewerbungen")  # Anna reads German
    assert facts.meetings_held == 4
    # what the held meetings covered, catalogue topics (slugs or typed titles) by their German
    # title, no duplicates; not "Leadership", which the agreement planned but no meeting had, nor
    # what cancelled or missed ones would have; what someone typed stays as typed
    assert facts.topics == (
        "Getting to know each other",
        "Berufliche Orientierung",
        "Bewerbungen",
        "Netzwerken",
        "Gehaltsverhandlung",
    )


def test_mentor_facts_mirror_the_mentee_facts(session: Session, pair: tuple[Mentorship, User, User]) -> None:
    mentorship, mentee, mentor = pair

    facts = certificate_facts(session, mentorship.id, mentor.id)
    mentee_facts = certificate_facts(session, mentorship.id, mentee.id)

    assert (facts.holder_name, facts.holder_role) == ("Jonas Weber", "mentor")
    assert (facts.other_name, facts.other_role) == ("Anna Schmidt", "mentee")
    assert facts.topics == mentee_facts.topics
    assert facts.meetings_held == 4


def test_the_period_runs_from_acceptance_to_completion_agreement_or_not(
    session: Session,
) -> None:
    mentee, mentor = add_user(session, "Lena Vogel"), add_user(session, "Omar Haddad")
    m = add_mentorship(session, mentee, mentor)
    add_meeting(session, m, utc(2026, 3, 3, 10), [], MeetingStatus.HELD)
    add_meeting(session, m, utc(2026, 7, 9, 10), [], MeetingStatus.HELD)
    add_meeting(session, m, utc(2026, 9, 9, 10), [], MeetingStatus.PROPOSED)

    facts = certificate_facts(session, m.id, mentee.id)

    assert (facts.period_start, facts.period_end) == (date(2026, 2, 3), date(2026, 7, 9))
    assert facts.topics == ()
    m.stage, m.finished_at = Stage.COMPLETED, utc(2026, 7, 10, 8)
    session.flush()
    assert certificate_facts(session, m.id, mentee.id).period_end == date(2026, 7, 10)  # completion


def test_facts_only_for_participants_of_an_existing_mentorship(
    session: Session, pair: tuple[Mentorship, User, User]
) -> None:
    mentorship, mentee, _ = pair
    stranger = add_user(session, "Sam Stranger")

    with pytest.raises(NotFound):
        certificate_facts(session, mentorship.id, stranger.id)
    with pytest.raises(NotFound):
        certificate_facts(session, mentorship.id + 1000, mentee.id)


def test_facts_survive_the_trip_to_a_task(session: Session, pair: tuple[Mentorship, User, User]) -> None:
    mentorship, mentee, _ = pair
    facts = certificate_facts(session, mentorship.id, mentee.id)

    assert CertificateFacts.model_validate_json(facts.model_dump_json()) == facts


def test_storing_twice_keeps_the_first_certificate_and_its_bytes(
    session: Session, pair: tuple[Mentorship, User, User]
) -> None:
    mentorship, mentee, _ = pair
    first = facts_and_store(session, mentorship, mentee, pdf=b"%PDF-1.7 first")
    session.commit()

    again = facts_and_store(session, mentorship, mentee, pdf=b"%PDF-1.7 second")
    session.commit()

    assert again.id == first.id
    assert again.pdf == b"%PDF-1.7 first"
    assert again.verification_code == first.verification_code
    assert again.sha256 == hashlib.sha256(b"%PDF-1.7 first").hexdigest()
    assert again.issued_at == ISSUED
    count = select(func.count()).select_from(Certificate)
    assert session.scalar(count) == 1


def test_a_concurrent_insert_is_absorbed_and_the_transaction_goes_on(
    session: Session, pair: tuple[Mentorship, User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    mentorship, mentee, mentor = pair
    theirs = facts_and_store(session, mentorship, mentee, pdf=b"%PDF-1.7 theirs")
    session.flush()
    # our first look happened before theirs was written: it saw nothing
    real_lookup = certificates.certificate_for
    looks: list[int] = []

    def stale_first_look(s: Session, mentorship_id: int, user_id: int) -> Certificate | None:
        looks.append(user_id)
        return None if len(looks) == 1 else real_lookup(s, mentorship_id, user_id)

    monkeypatch.setattr(certificates, "certificate_for", stale_first_look)

    ours = facts_and_store(session, mentorship, mentee, pdf=b"%PDF-1.7 ours")

    assert len(looks) == 2  # the insert failed on the unique constraint and we re-read
    assert ours.id == theirs.id
    assert ours.pdf == b"%PDF-1.7 theirs"
    # only the savepoint was rolled back: the session still works and commits
    monkeypatch.undo()
    facts_and_store(session, mentorship, mentor)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 2


def test_summary_holds_only_what_the_public_page_may_show(
    session: Session, pair: tuple[Mentorship, User, User]
) -> None:
    mentorship, mentee, _ = pair

    certificate = facts_and_store(session, mentorship, mentee)

    assert certificate.summary == {
        "holder_name": "Anna Schmidt",
        "role": "mentee",
        "period_start": "2026-02-03",  # the acceptance
        "period_end": "2026-08-27",  # the final meeting
        "meetings_held": 4,
    }
    assert set(certificate.summary) == set(SUMMARY_FIELDS)


def test_verification_codes_are_short_url_safe_and_found_by_code(
    session: Session, pair: tuple[Mentorship, User, User]
) -> None:
    mentorship, mentee, mentor = pair
    one = facts_and_store(session, mentorship, mentee)
    two = facts_and_store(session, mentorship, mentor)
    session.commit()

    for certificate in (one, two):
        assert re.fullmatch(r"[A-Za-z0-9_-]{16}", certificate.verification_code)
    assert one.verification_code != two.verification_code
    assert certificate_by_code(session, one.verification_code) is one
    assert certificate_by_code(session, one.verification_code.swapcase()) is None
    assert certificate_by_code(session, "no-such-code") is None


def test_certificates_of_lists_own_certificates_newest_first(
    session: Session, pair: tuple[Mentorship, User, User]
) -> None:
    mentorship, mentee, mentor = pair
    older = facts_and_store(session, mentorship, mentee)
    other = add_user(session, "Mia Mentor")
    second = add_mentorship(session, mentee, other)
    facts = certificate_facts(session, second.id, mentee.id)
    newer = store_certificate(
        session,
        mentorship_id=second.id,
        user_id=mentee.id,
        role="mentee",
        verification_code=new_verification_code(),
        pdf=b"%PDF-1.7 newer",
        facts=facts,
        now=ISSUED + timedelta(days=30),
    )
    facts_and_store(session, mentorship, mentor)
    session.commit()

    assert [c.id for c in certificates_of(session, mentee.id)] == [newer.id, older.id]
    assert certificates_of(session, add_user(session, "Nobody Yet").id) == []


def test_store_refuses_facts_of_another_participant(
    session: Session, pair: tuple[Mentorship, User, User]
) -> None:
    mentorship, mentee, mentor = pair
    mentee_facts = certificate_facts(session, mentorship.id, mentee.id)

    with pytest.raises(ValueError, match="another participant"):
        store_certificate(
            session,
            mentorship_id=mentorship.id,
            user_id=mentor.id,
            role="mentor",
            verification_code=new_verification_code(),
            pdf=b"%PDF",
            facts=mentee_facts,
            now=ISSUED,
        )
