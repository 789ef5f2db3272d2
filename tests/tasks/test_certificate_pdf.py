"""The certificate PDF, read back the way a person would: its text, its pages, its QR code."""

from __future__ import annotations

import io
import logging
from datetime import date, timedelta

import pypdf
import pytest
import segno

from services.certificates import CertificateFacts, HeldMeeting
from tasks.certificate import render_certificate_pdf

CODE = "Xy3_k9-AbCdEfGhI"
URL = f"http://127.0.0.1:8000/verify/{CODE}"
A4_POINTS = (595.28, 841.89)


def make_facts(*, meetings: int = 4, **changes: object) -> CertificateFacts:
    topics = [("Career orientation", "Job applications"), ("Networking",), ("Salary negotiation",)]
    values: dict[str, object] = {
        "mentorship_id": 7,
        "holder_id": 1,
        "holder_name": "Anna Schmidt",
        "holder_role": "mentee",
        "holder_locale": "en",
        "other_name": "Jonas Weber",
        "other_role": "mentor",
        "period_start": date(2026, 3, 1),
        "period_end": date(2026, 8, 31),
        "meetings": tuple(
            HeldMeeting(held_on=date(2026, 3, 12) + timedelta(weeks=2 * i), topics=topics[i % 3])
            for i in range(meetings)
        ),
        "topics": ("Career orientation", "Job applications", "Networking", "Salary negotiation"),
    }
    values.update(changes)
    return CertificateFacts.model_validate(values)


def read(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(pdf))


def page_text(page: pypdf.PageObject) -> str:
    """The page's text with line breaks and runs of spaces folded, as a reader sees it."""
    return " ".join(page.extract_text().split())


def all_text(reader: pypdf.PdfReader) -> str:
    return " ".join(page_text(page) for page in reader.pages)


def qr_modules(page: pypdf.PageObject) -> list[list[bool]]:
    """The QR code drawn on the page, as a grid of dark modules (quiet zone cut off).

    segno's SVG draws each row's dark runs as one-module-wide lines; WeasyPrint keeps them as
    ``x y m`` / ``x y l`` pairs in module units. The QR is the longest run of such operators.
    """
    runs: list[list[tuple[str, float, float]]] = [[]]
    contents = page.get_contents()
    assert contents is not None
    for line in contents.get_data().decode("latin-1").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in ("m", "l"):
            runs[-1].append((parts[2], float(parts[0]), float(parts[1])))
        elif runs[-1]:
            runs.append([])
    dark: set[tuple[int, int]] = set()
    x0 = 0.0
    for op, x, y in max(runs, key=len):
        if op == "l":
            dark.update((int(y), col) for col in range(round(x0), round(x)))
        x0 = x
    assert dark, "no QR code drawn on the page"
    rows = range(min(r for r, _ in dark), max(r for r, _ in dark) + 1)
    cols = range(min(c for _, c in dark), max(c for _, c in dark) + 1)
    return [[(r, c) in dark for c in cols] for r in rows]


def qr_matrices(url: str) -> list[list[list[bool]]]:
    """The module grids a scanner would read as ``url``, at any error-correction level."""
    symbols = [segno.make(url, error=e, micro=False, boost_error=False) for e in "LMQH"]
    return [[[bool(v) for v in row] for row in symbol.matrix] for symbol in symbols]


@pytest.fixture(scope="module")
def english_pdf() -> bytes:
    return render_certificate_pdf(make_facts(), URL, issued_on=date(2026, 9, 2))


def test_certificate_states_who_when_what_and_how_to_verify(english_pdf: bytes) -> None:
    reader = read(english_pdf)
    text = all_text(reader)

    assert len(reader.pages) == 1
    assert "Confirmation of participation" in text
    assert "Anna Schmidt" in text
    assert "as a mentee from March 1, 2026 to August 31, 2026" in text
    assert "accompanied by the mentor Jonas Weber" in text
    for day in ("March 12, 2026", "March 26, 2026", "April 9, 2026", "April 23, 2026"):
        assert day in text
    assert "MEETINGS HELD 4" in text  # the key figure; labels are upper-cased by CSS
    for topic in ("Career orientation", "Job applications", "Networking", "Salary negotiation"):
        assert topic in text
    assert f"Verification code: {CODE}" in text
    assert URL in text
    assert "Issued on September 2, 2026" in text
    assert reader.metadata is not None
    assert reader.metadata.title == "Confirmation of participation – Anna Schmidt"


def test_page_is_a4(english_pdf: bytes) -> None:
    box = read(english_pdf).pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=0.5)


def test_qr_code_encodes_the_verification_url(english_pdf: bytes) -> None:
    drawn = qr_modules(read(english_pdf).pages[0])

    assert drawn in qr_matrices(URL)
    assert drawn not in qr_matrices(URL.replace(CODE, "another-code-123"))


def test_mentor_certificate_names_the_mentee() -> None:
    facts = make_facts(
        holder_name="Jonas Weber",
        holder_role="mentor",
        other_name="Anna Schmidt",
        other_role="mentee",
    )

    text = all_text(read(render_certificate_pdf(facts, URL)))

    assert "Jonas Weber" in text
    assert "as a mentor from March 1, 2026 to August 31, 2026" in text
    assert "accompanying the mentee Anna Schmidt" in text


def test_german_certificate_has_german_text_and_dates() -> None:
    text = all_text(read(render_certificate_pdf(make_facts(), URL, locale="de")))

    assert "Teilnahmebestätigung" in text
    assert "vom 1. März 2026 bis zum 31. August 2026 als Mentee" in text
    assert "von Jonas Weber als Mentor:in begleitet" in text
    assert "12. März 2026" in text
    assert "23. April 2026" in text
    assert "BEHANDELTE THEMEN" in text
    assert f"Prüfcode: {CODE}" in text
    assert "March" not in text


@pytest.mark.parametrize(
    ("role", "locale", "sentence"),
    [
        (
            "mentee",
            "en",
            "took part in the mentoring program as a mentee from March 1, 2026 to August 31, 2026.",
        ),
        (
            "mentor",
            "de",
            "vom 1. März 2026 bis zum 31. August 2026 als Mentor:in am Mentoring-Programm teilgenommen hat.",
        ),
    ],
)
def test_once_the_other_participant_is_erased_the_certificate_names_nobody_else(
    role: str, locale: str, sentence: str
) -> None:
    facts = make_facts(holder_role=role, other_role="mentor" if role == "mentee" else "mentee", other_name="")

    text = all_text(read(render_certificate_pdf(facts, URL, locale=locale)))

    assert sentence in text.replace("- ", "-")  # a line may break after a hyphen
    assert "Anna Schmidt" in text
    assert "Jonas" not in text
    assert CODE in text


def test_region_locale_and_unknown_locale() -> None:
    austrian = all_text(read(render_certificate_pdf(make_facts(), URL, locale="de-AT")))
    unknown = all_text(read(render_certificate_pdf(make_facts(), URL, locale="xx-nope")))

    assert "Teilnahmebestätigung" in austrian
    assert "1. März 2026" in austrian
    assert "Confirmation of participation" in unknown
    assert "March 1, 2026" in unknown


def test_names_and_topics_are_printed_as_typed_not_as_markup() -> None:
    facts = make_facts(
        holder_name="Zoë <b>O'Brien</b> & Co",
        topics=("R&D <script>", "Führung"),
    )

    text = all_text(read(render_certificate_pdf(facts, URL)))

    assert "Zoë <b>O'Brien</b> & Co" in text
    assert "R&D <script>" in text
    assert "Führung" in text


def test_many_meetings_continue_on_further_pages_each_verifiable() -> None:
    facts = make_facts(meetings=40, period_end=date(2027, 12, 31))

    reader = read(render_certificate_pdf(facts, URL))

    assert len(reader.pages) > 1
    text = all_text(reader)
    for meeting in facts.meetings:
        day = meeting.held_on
        assert f"{day:%B} {day.day}, {day.year}" in text
    for page in reader.pages:
        assert CODE in page_text(page)
        assert qr_modules(page) in qr_matrices(URL)


def test_without_meetings_or_topics_the_certificate_says_so() -> None:
    facts = make_facts(meetings=0, topics=())

    text = all_text(read(render_certificate_pdf(facts, URL)))

    assert "No meetings were recorded as held." in text
    assert "No topics were recorded." in text


def test_the_warm_up_renders_in_every_language_without_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    """The flow runs' forkserver imports ``deployments.certificate_warm_up`` before it forks:
    its sample certificate must render, or each closing pass renders its first one cold."""
    from deployments.warm_start import PRELOAD
    from tasks.certificate import warm_up

    assert "deployments.certificate_warm_up" in PRELOAD
    with caplog.at_level(logging.WARNING, logger="tasks.certificate"):
        warm_up()
    assert not caplog.records


def test_threads_rendering_at_once_each_get_a_whole_certificate() -> None:
    """The API renders in its thread pool and the renderer keeps a font configuration per
    thread (Pango's font maps are not safe to share): two threads at once, each a whole PDF."""
    from concurrent.futures import ThreadPoolExecutor

    facts = make_facts(meetings=12)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pdfs = list(pool.map(lambda url: render_certificate_pdf(facts, url), [URL, URL + "x"] * 2))

    for pdf, url in zip(pdfs, [URL, URL + "x"] * 2, strict=True):
        reader = read(pdf)
        assert "Anna Schmidt" in all_text(reader)
        assert qr_modules(reader.pages[0]) in qr_matrices(url)


def test_the_forkserver_freezes_its_heap_after_everything_it_preloads() -> None:
    """Else a forked closing pass's first full garbage collection walks (and copies) the
    whole inherited heap, in the middle of a certificate render."""
    import subprocess
    import sys

    from deployments.warm_start import PRELOAD

    assert PRELOAD[-1] == "deployments.freeze_heap"
    frozen = subprocess.run(
        [sys.executable, "-c", "import gc, deployments.freeze_heap; print(gc.get_freeze_count())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(frozen.stdout) > 1000
