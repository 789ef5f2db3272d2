"""The renderer the erasure of a person needs for the other participant's certificate, without
importing WeasyPrint (about a second) until a certificate is really rendered."""

from __future__ import annotations

from datetime import date

from services.certificates import CertificateFacts, RenderCertificate


def certificate_renderer(base_url: str) -> RenderCertificate:
    """Renders as the closing stage does: the QR code and the printed code verify at
    ``{base_url}/verify/{code}``, in the holder's language, with the issue date."""

    def render(facts: CertificateFacts, code: str, issued_on: date) -> bytes:
        from tasks.certificate import render_certificate_pdf

        url = f"{base_url.rstrip('/')}/verify/{code}"
        return render_certificate_pdf(facts, url, locale=facts.holder_locale, issued_on=issued_on)

    return render
