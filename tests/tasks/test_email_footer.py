"""Every mail's footer: the program's name and contact address on lines of their own, and why
the person gets the mail in words that fit it."""

from __future__ import annotations

from services.program import Program
from tasks.email_render import Recipient, render_email

NIA = Recipient(name="Nia Neu", locale="en", timezone="Europe/Berlin")
NAMED = Program("Gründer-Mentoring Süd", "program@example.org")


def footer(text: str) -> list[str]:
    return [line for line in text.split("\n-- \n", 1)[1].splitlines() if line.strip()]


def test_the_named_program_and_its_contact_stand_on_lines_of_their_own() -> None:
    mail = render_email(
        "request_received",
        {"mentee_name": "Tara", "path": "/portal/mentorships/1", "message": "Hi"},
        recipient=NIA,
        base_url="https://m.example.org",
        program=NAMED,
    )
    assert footer(mail.text) == [
        "Gründer-Mentoring Süd",
        "Questions? Write to program@example.org.",
        "You receive this mail because you take part in a mentorship.",
    ]
    assert "Gründer-Mentoring Süd<br>" in mail.html


def test_an_invitation_says_why_it_came_to_someone_in_no_mentorship_yet() -> None:
    for kind, why in (
        ("invitation", "You receive this mail because an operator of the program invited you."),
        ("password_reset", "You receive this mail because a new password was asked for your account."),
    ):
        mail = render_email(
            kind, {"path": "/portal/password?token=x"}, recipient=NIA, base_url="https://m.example.org"
        )
        assert footer(mail.text)[-1] == why
        assert why in mail.html
        assert "take part in a mentorship" not in mail.text
