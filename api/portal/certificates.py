"""``/portal/certificates``: the reader's certificates, their PDF and the public verify link."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.portal.pages import PortalRoute, Reading
from api.routers.certificates import downloadable_certificate, pdf_response
from services import certificates

router = APIRouter(route_class=PortalRoute)


@router.get("/certificates", response_class=HTMLResponse)
def my_certificates(portal: Reading) -> Response:
    return portal.page(
        "portal/certificates.html", certificates=certificates.certificates_of(portal.session, portal.user.id)
    )


@router.get("/certificates/{certificate_id}.pdf")
def certificate_pdf(certificate_id: int, portal: Reading) -> Response:
    """The stored PDF (the cookie twin of ``/api/certificates/{id}.pdf``)."""
    return pdf_response(downloadable_certificate(portal.session, certificate_id, portal.user))
