"""How much of the agreed period has passed: before, during and after it, without an agreement,
in the reader's calendar, and stopped when the mentorship finished."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import AgreementVersion, Mentorship, User
from services import mentorships
from services.lifecycle import Fact
from services.progress import Period, period_of, snapshot
from tests.support import START, Clock, Journey, People

MARCH_5_TO_SEPTEMBER_30 = AgreementVersion(period_start=date(2026, 3, 5), period_end=date(2026, 9, 30))


@pytest.mark.parametrize(
    ("today", "elapsed", "status", "week"),
    [
        (date(2026, 3, 4), 0, "not_started", 0),
        (date(2026, 3, 5), 1, "under_way", 1),  # the start day is day 1
        (date(2026, 3, 11), 7, "under_way", 1),
        (date(2026, 3, 12), 8, "under_way", 2),
        (date(2026, 4, 13), 40, "under_way", 6),
        (date(2026, 9, 30), 210, "under_way", 30),  # the end day still counts
        (date(2026, 10, 1), 210, "ended", 30),
        (date(2027, 1, 1), 210, "ended", 30),
    ],
)
def test_the_period_before_during_and_after(today: date, elapsed: int, status: str, week: int) -> None:
    period = period_of(MARCH_5_TO_SEPTEMBER_30, today)

    expected = Period(date(2026, 3, 5), date(2026, 9, 30), 210, elapsed, status)  # type: ignore[arg-type]
    assert period == expected
    assert (period.week, period.weeks) == (week, 30)


def test_without_an_agreement_there_is_no_period() -> None:
    assert period_of(None, date(2026, 3, 5)) is None


def test_a_mentorship_reads_its_period_in_the_readers_calendar_and_it_stops_when_it_ends(
    db: Engine, clock: Clock, people: People
) -> None:
    journey = Journey(db, clock, people.mentee(), people.mentor()).request().accept()
    with Session(db) as s:
        assert snapshot(s, s.get_one(Mentorship, journey.mentorship_id)).period(clock.now) is None
    journey.agree()  # from today (2 March, START) for 181 days
    late_evening = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 3 March, 00:30 in Berlin

    with Session(db) as s:
        snap = snapshot(s, s.get_one(Mentorship, journey.mentorship_id))
        berlin, utc = snap.period(late_evening, "Europe/Berlin"), snap.period(late_evening)
    assert berlin is not None
    assert utc is not None
    assert (berlin.days_elapsed, utc.days_elapsed, berlin.days) == (2, 1, 181)

    clock.now = START + timedelta(days=20)  # day 21: the mentee ends it
    with Session(db) as s:
        mentee = s.get_one(User, journey.mentee_id)
        mentorships.decide(s, mentee, journey.mentorship_id, Fact.END, now=clock.now, reason_code="no_time")
        s.commit()
    with Session(db) as s:
        snap = snapshot(s, s.get_one(Mentorship, journey.mentorship_id))
        later = snap.period(START + timedelta(days=90), "Europe/Berlin")
    assert later is not None
    assert (later.status, later.days_elapsed) == ("under_way", 21)
