"""Every mail template renders in English and German, with the link in both parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tasks.email_render import TEMPLATE_DIR, Recipient, render_email

KINDS = sorted(p.stem for p in Path(TEMPLATE_DIR, "email").glob("*.txt") if not p.name.startswith("_"))
PARAMS: dict[str, Any] = {
    "mentorship_id": 7,
    "mentee_name": "Mia Mentee",
    "mentor_name": "Max Mentor",
    "other_name": "Max Mentor",
    "role": "mentee",
    "path": "/portal/mentorships/7",
    "message": "Would you mentor me?",
    "reason": "Too busy <this> month",
    "number": 2,
    "first": False,
    "meeting_id": 3,
    "starts_at": "2026-07-01T12:30:00+00:00",
    "previous_starts_at": "2026-06-30T12:30:00+00:00",
    "duration_minutes": 45,
    "mode": "in_person",
    "location": "Café Central",
    "agenda": "Goals",
    "topics": ["career"],
    "is_intro": False,
    "is_final": True,
    "certificate_id": 5,
    "since": "2026-06-01T08:00:00+00:00",
    "last_activity_at": "2026-06-01T08:00:00+00:00",
    "quiet_days": 21,
    "meeting_status": "confirmed",
    "change": "moved",
}


def test_there_is_a_template_pair_per_kind() -> None:
    assert len(KINDS) >= 20
    for kind in KINDS:
        assert Path(TEMPLATE_DIR, "email", f"{kind}.html").is_file()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("locale", ["en", "de"])
def test_every_kind_renders(kind: str, locale: str) -> None:
    recipient = Recipient(name="Mia Mentee", locale=locale, timezone="Europe/Berlin")
    mail = render_email(kind, PARAMS, recipient=recipient, base_url="https://m.example.org/")

    assert mail.subject
    assert "\n" not in mail.subject
    for part in (mail.subject, mail.text, mail.html):
        assert "%(" not in part
        assert "{{" not in part
    greeting = "Hallo Mia Mentee," if locale == "de" else "Hello Mia Mentee,"
    assert mail.text.startswith(greeting)
    if "Too busy" in mail.text:
        assert "Too busy &lt;this&gt; month" in mail.html  # user text is escaped in HTML
    if "https://m.example.org/portal/mentorships/7" in mail.text:
        assert 'href="https://m.example.org/portal/mentorships/7"' in mail.html


def test_german_dates_in_the_readers_zone() -> None:
    recipient = Recipient(name="Max", locale="de_DE", timezone="Europe/Berlin")
    mail = render_email("reminder_meeting_tomorrow", PARAMS, recipient=recipient, base_url="x")
    assert "Mittwoch, 1. Juli 2026, 14:30 (Mitteleuropäische Sommerzeit)" in mail.text
    assert mail.subject == "Erinnerung: Ihr Treffen mit Max Mentor"
