"""Render a confirmation-of-participation certificate as an A4 PDF (Jinja2 + WeasyPrint).

``render_certificate_pdf`` is a pure function of its arguments: it reads nothing from the
database and knows nothing of Prefect, so a task can call it and tests can call it directly.
"""

from __future__ import annotations

import logging
import threading
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import segno
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from services.certificates import CertificateFacts, HeldMeeting
from services.i18n import SUPPORTED_LOCALES, translations

TEMPLATES = Path(__file__).resolve().parent / "templates"
log = logging.getLogger(__name__)
_per_thread = threading.local()


def render_certificate_pdf(
    facts: CertificateFacts,
    verification_url: str,
    *,
    locale: str = "en",
    issued_on: date | None = None,
) -> bytes:
    """The certificate as PDF bytes.

    ``verification_url`` must end with the verification code (``.../verify/{code}``); the
    code is printed under the QR code, which encodes the whole URL.
    """
    language, babel_locale = _locale(locale)

    def long_date(day: date) -> str:
        return format_date(day, format="long", locale=babel_locale)

    def medium_date(day: date) -> str:
        return format_date(day, format="medium", locale=babel_locale)

    html = (
        _environment(language)
        .get_template("certificate.html")
        .render(
            facts=facts,
            language=language,
            code=urlsplit(verification_url).path.rstrip("/").rsplit("/", 1)[-1],
            verification_url=verification_url,
            qr_uri=_qr_data_uri(verification_url),
            period_start=long_date(facts.period_start),
            period_end=long_date(facts.period_end),
            period_start_short=medium_date(facts.period_start),
            period_end_short=medium_date(facts.period_end),
            meetings=[{"date": long_date(m.held_on), "topics": m.topics} for m in facts.meetings],
            issued_on=long_date(issued_on) if issued_on else None,
        )
    )
    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf(font_config=_font_config())
    return pdf


def warm_up() -> None:
    """Render a throwaway certificate in each language, so that processes forked from this
    one render their first at warm speed: WeasyPrint loads fonts and style sheets on the first
    render, which made a closing pass's first PDF cost two to three times a warm one
    (BENCHMARKS.md, certificates). Never raises: a failure here costs only speed."""
    day = date(2026, 1, 1)
    facts = CertificateFacts(
        mentorship_id=0,
        holder_id=0,
        holder_name="Warm-up",
        holder_role="mentee",
        holder_locale="en",
        other_name="Warm-up",
        other_role="mentor",
        period_start=day,
        period_end=day,
        meetings=(HeldMeeting(held_on=day, topics=("Warm-up",)),),
        topics=("Warm-up",),
    )
    for locale in SUPPORTED_LOCALES:
        try:
            render_certificate_pdf(
                facts, "https://example.invalid/verify/warm-up", locale=locale, issued_on=day
            )
        except Exception:  # speed only: the real render reports its own errors
            log.warning("certificate warm-up in %s failed", locale, exc_info=True)


def _font_config() -> FontConfiguration:
    """This thread's font configuration, kept across renders.

    WeasyPrint otherwise makes a new one per document: it loads fontconfig's configuration
    and a new Pango font map each time, which cost time and left the process's memory growing
    with every certificate (BENCHMARKS.md, certificates). One per thread, as Pango's font
    maps are not safe to share between threads (the API renders in its thread pool). It
    holds no fonts of ours: the template declares no ``@font-face``."""
    config: FontConfiguration | None = getattr(_per_thread, "font_config", None)
    if config is None:
        config = _per_thread.font_config = FontConfiguration()
    return config


def _qr_data_uri(url: str) -> str:
    """The QR code as a vector SVG data URI, with the 4-module quiet zone scanners need."""
    qr = segno.make(url, error="m", micro=False)
    uri: str = qr.svg_data_uri(scale=1, border=4, dark="#000", light="#fff", omitsize=True)
    return uri


def _locale(locale: str) -> tuple[str, Locale]:
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        parsed = Locale.parse("en")
    return parsed.language, parsed


@lru_cache
def _environment(language: str) -> Environment:
    """One environment per language: installing translations mutates an environment."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations(language), newstyle=True
    )
    environment.filters["strong"] = _strong
    environment.filters["css_string"] = _css_string
    return environment


def _strong(text: str) -> Markup:
    return Markup("<strong>{}</strong>").format(text)


def _css_string(text: str) -> Markup:
    """Text safe inside a double-quoted CSS string in a <style> element."""
    escaped = "".join(c if c.isalnum() or c in " .,:;-_·" else f"\\{ord(c):x} " for c in text)
    return Markup(escaped)  # noqa: S704 - every character but [alnum .,:;-_·] escaped just above
