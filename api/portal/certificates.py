"""``/portal/certificates``: the reader's certificates, their PDF and the public verify link."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.portal.pages import PortalRoute, Reading
from models import Certificate
from services import certificates
from services.errors import NotFound
from services.i18n import _

router = APIRouter(route_class=PortalRoute)


@router.get("/certificates", response_class=HTMLResponse)
def my_certificates(portal: Reading) -> Response:
    return portal.page(
        "portal/certificates.html", certificates=certificates.certificates_of(portal.session, portal.user.id)
    )


@router.get("/certificates/{certificate_id}.pdf")
def certificate_pdf(certificate_id: int, portal: Reading) -> Response:
    """The stored PDF, for its holder (the cookie twin of ``/api/certificates/{id}.pdf``)."""
    cert = portal.session.get(Certificate, certificate_id)
    if cert is None or cert.user_id != portal.user.id:
        raise NotFound(_("No such certificate."))
    return Response(
        cert.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="certificate-{cert.verification_code}.pdf"',
            "ETag": f'"{cert.sha256}"',
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )
