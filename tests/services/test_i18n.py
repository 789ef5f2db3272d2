"""One catalogue per language, used by everyone: problem details, waiting-for texts, mails,
the certificate and the HTML pages. Every message of ``services/`` is translated into German,
with the same placeholders."""

from __future__ import annotations

import gettext
import io
import re
import string
from datetime import date
from enum import StrEnum
from pathlib import Path

import pypdf
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from models import AgreementStatus, MeetingStatus, Stage
from services.certificates import CertificateFacts, HeldMeeting
from services.i18n import DOMAIN, LOCALE_DIR, Term, translate, translations
from services.lifecycle import Fact, Who
from tasks.certificate import render_certificate_pdf
from tasks.email_render import Recipient, render_email
from tests.support import People

ROOT = Path(__file__).resolve().parents[2]
GERMAN_PO = LOCALE_DIR / "de" / "LC_MESSAGES" / f"{DOMAIN}.po"
_PERCENT = re.compile(r"%\((\w+)\)[sd]")


def german_catalogue() -> dict[str, str]:
    """msgid → msgstr of the German .po, leaving out untranslated and fuzzy entries."""
    with GERMAN_PO.open("rb") as po:
        catalog = read_po(po, locale="de")
    found: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string or [])
        if strings and all(strings):
            found.update((str(msgid), str(strings[-1])) for msgid in ids)
    return found


def placeholders(text: str) -> set[str]:
    braces = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return braces | set(_PERCENT.findall(text))


def services_message_ids() -> set[str]:
    """Every ``_()`` message id in services/, found the way ``pybabel extract`` finds it."""
    found = extract_from_dir(str(ROOT / "services"), method_map=[("**.py", "python")], keywords={"_": None})
    ids = {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}
    assert len(ids) > 50, "the extraction found too few messages: is the scan broken?"
    return ids


def test_every_services_message_has_a_german_translation_with_the_same_placeholders() -> None:
    german = german_catalogue()

    missing = sorted(m for m in services_message_ids() if m not in german)

    assert missing == []
    for msgid in services_message_ids():
        assert placeholders(german[msgid]) == placeholders(msgid), msgid


def test_every_translation_in_the_catalogue_keeps_its_placeholders() -> None:
    for msgid, msgstr in german_catalogue().items():
        assert placeholders(msgstr) == placeholders(msgid), msgid


@pytest.mark.parametrize("words", [Fact, Stage, MeetingStatus, AgreementStatus, Who])
def test_words_that_fill_placeholders_are_translated(words: type[StrEnum]) -> None:
    german = german_catalogue()
    values = [w.value for w in words if w is not Who.EITHER]  # "either" never fills {who}

    assert [v for v in values if v not in german] == []


def test_there_is_one_catalogue_compiled_in_memory_from_po() -> None:
    catalogues = [p.relative_to(ROOT).as_posix() for p in ROOT.glob("[!.]*/**/*.po")]
    compiled = [p for p in ROOT.glob("[!.]*/**/*.mo") if "venv" not in p.parts]

    assert catalogues == ["services/locale/de/LC_MESSAGES/messages.po"]
    assert compiled == []
    assert isinstance(translations("de"), gettext.GNUTranslations)
    assert translations("de-AT").gettext("Holder") == translations("de").gettext("Holder") == "Inhaber:in"
    assert translations("en").gettext("Holder") == "Holder"
    assert translations("xx").gettext("Holder") == "Holder"


def test_terms_are_translated_with_the_message_and_english_stays_as_it_was() -> None:
    message = "Only the {who} can {action}."
    params = {"who": Term(Who.MENTOR), "action": Term(Fact.ACCEPT)}

    assert translate(message, "en", **params) == "Only the mentor can accept the request."
    assert message.format(**params) == "Only the mentor can accept the request."
    assert translate(message, "de", **params) == "Nur die Mentorin oder der Mentor kann die Anfrage annehmen."
    assert translate(message, "de", who="mentor", action="x") == "Nur mentor kann x."  # unmarked: as is


def test_a_problem_detail_and_waiting_for_in_the_readers_language(client: TestClient, people: People) -> None:
    mentee, mentor = people.mentee("Mia Mentee"), people.mentor("Max Mentor")
    r = client.post("/api/mentorships", json={"mentor_id": mentor.id, "message": "Hi!"}, headers=mentee.auth)
    assert r.status_code == 201, r.text
    mid = r.json()["id"]

    german = client.post(
        f"/api/mentorships/{mid}/accept", headers={**mentee.auth, "Accept-Language": "de-DE"}
    )
    english = client.post(f"/api/mentorships/{mid}/accept", headers=mentee.auth)

    assert german.status_code == english.status_code == 409
    assert german.headers["content-type"] == "application/problem+json"
    assert german.json()["detail"] == "Nur die Mentorin oder der Mentor kann die Anfrage annehmen."
    assert german.json()["title"] == "Konflikt"
    assert english.json()["detail"] == "Only the mentor can accept the request."
    assert english.json()["title"] == "Conflict"

    waiting = client.get(
        f"/api/mentorships/{mid}", headers={**mentor.auth, "Accept-Language": "fr, de;q=0.8"}
    )
    assert waiting.json()["waiting_for"] == {
        "who": "mentor",
        "action": "answer_request",
        "params": {},
        "what": "die Anfrage beantworten",
    }
    english_list = client.get("/api/mentorships", headers=mentor.auth).json()
    assert english_list[0]["waiting_for"]["what"] == "answer the request"


def test_the_verification_page_speaks_the_readers_language(client: TestClient) -> None:
    r = client.get("/verify/no-such-code", headers={"Accept-Language": "de"})

    assert r.status_code == 404
    assert '<html lang="de">' in r.text
    assert "Zu diesem Prüfcode gibt es keine Teilnahmebestätigung." in r.text
    assert "Echtheitsprüfung einer Teilnahmebestätigung" in r.text


def test_a_mail_is_german_from_the_one_catalogue() -> None:
    de = translations("de")
    mail = render_email(
        "request_accepted",
        {"mentor_name": "Max Mentor", "path": "/portal/mentorships/7"},
        recipient=Recipient(name="Mia Mentee", locale="de_DE", timezone="Europe/Berlin"),
        base_url="https://m.example.org",
    )

    assert mail.subject == de.gettext("%(mentor_name)s accepted your request") % {"mentor_name": "Max Mentor"}
    assert mail.subject == "Max Mentor hat Ihre Anfrage angenommen"
    assert de.gettext("Open your mentorship") in mail.text
    assert de.gettext("mentorflow, your mentoring program") in mail.html


def test_a_certificate_is_german_from_the_one_catalogue() -> None:
    de = translations("de")
    facts = CertificateFacts(
        mentorship_id=7,
        holder_id=1,
        holder_name="Anna Schmidt",
        holder_role="mentee",
        holder_locale="de",
        other_name="Jonas Weber",
        other_role="mentor",
        period_start=date(2026, 3, 1),
        period_end=date(2026, 8, 31),
        meetings=(HeldMeeting(held_on=date(2026, 3, 12), topics=("Networking",)),),
        topics=("Networking",),
    )

    pdf = render_certificate_pdf(facts, "https://m.example.org/verify/Xy3_k9-AbCdEfGhI", locale="de")
    text = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)

    assert de.gettext("Confirmation of participation") == "Teilnahmebestätigung"
    assert "Teilnahmebestätigung" in text
    assert de.gettext("This is to confirm that") in text
    assert "von Jonas Weber als Mentor:in begleitet" in text
    assert f"{de.gettext('Verification code')}: Xy3_k9-AbCdEfGhI" in text
