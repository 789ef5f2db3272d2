"""The throughput benchmark's pure helpers (the benchmark itself is run by hand)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from benchmarks.throughput import MACHINE, cores, mail_key, percentile
from models import OutgoingEmail
from tasks.mail import build_message

CALENDAR = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def test_a_mail_is_known_by_recipient_kind_and_the_meeting_it_links_to() -> None:
    email = OutgoingEmail(
        id=7,
        dedupe_key="event:9:3:meeting_confirmed",
        recipient="Seeded Person 3 <Seed-3@example.org>",
        kind="meeting_confirmed",
        subject="Max confirmed",
        body_text="Open the meeting: https://mentoring.example.org/portal/meetings/42\n",
        body_html="<a href='https://mentoring.example.org/portal/meetings/41'>open</a>",
        calendar=CALENDAR,
        created_at=datetime(2026, 12, 2, tzinfo=UTC),
    )

    assert mail_key(build_message(email, "mentorflow <m@example.org>")) == (
        "seed-3@example.org",
        "meeting_confirmed",
        42,
    )


def test_a_mail_without_a_meeting_link_is_nobody_s() -> None:
    email = OutgoingEmail(
        id=8,
        dedupe_key="k",
        recipient="a@example.org",
        kind="request_accepted",
        subject="s",
        body_text="Open the portal: https://mentoring.example.org/portal\n",
        body_html="",
        created_at=datetime(2026, 12, 2, tzinfo=UTC),
    )

    assert mail_key(build_message(email, "m@example.org")) is None


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]

    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50, 95, 100)
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))


def test_cores_count_new_processes_whole_and_the_machine_by_its_share() -> None:
    before = {"API": {1: 100}, MACHINE: {0: 1000, 1: 4000}}
    after = {"API": {1: 300, 2: 100}, MACHINE: {0: 1500, 1: 5000}}

    used = cores(before, after, seconds=2)

    assert used["API"] == 300 / 100 / 2  # 100 clock ticks a second here, as on Linux
    assert 0 < used[MACHINE] <= 2
