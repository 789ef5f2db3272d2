"""Certificates: own list, the PDF (same bytes every time), and the public verification page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep
from api.problems import problems
from api.schemas.users import CertificateRead
from api.templating import templates
from models import Certificate, Role, User
from services import certificates
from services.errors import NotFound
from services.i18n import _

router = APIRouter(tags=["certificates"])
public = APIRouter(tags=["certificates"])


@router.get("/me/certificates", responses=problems())
def my_certificates(session: SessionDep, user: CurrentUser) -> list[CertificateRead]:
    return [CertificateRead.model_validate(c) for c in certificates.certificates_of(session, user.id)]


@router.get(
    "/certificates/{certificate_id}.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The certificate PDF"},
        **problems(404),
    },
)
def certificate_pdf(certificate_id: int, session: SessionDep, user: CurrentUser) -> Response:
    """The stored PDF, for its holder and for operators."""
    return pdf_response(downloadable_certificate(session, certificate_id, user))


def downloadable_certificate(session: Session, certificate_id: int, user: User) -> Certificate:
    """Its holder and operators may download a certificate; for anyone else it does not exist."""
    cert = session.get(Certificate, certificate_id)
    if cert is None or not cert.pdf or (cert.user_id != user.id and not user.has_role(Role.OPERATOR)):
        # (no PDF: its holder was erased; the certificate can be verified, not downloaded)
        raise NotFound(_("No such certificate."))
    return cert


def pdf_response(cert: Certificate) -> Response:
    """The stored bytes, the same every time (hence the ETag and a long private cache)."""
    return Response(
        cert.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="certificate-{cert.verification_code}.pdf"',
            "ETag": f'"{cert.sha256}"',
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )


@public.get(
    "/verify/{code}",
    response_class=HTMLResponse,
    responses={404: {"description": "No certificate has this code"}, 422: problems()[422]},
)
def verify(code: Annotated[str, Path(max_length=64)], request: Request, session: SessionDep) -> HTMLResponse:
    """Public: is this certificate genuine? Shows the holder's name, role, period, meetings held."""
    cert = certificates.certificate_by_code(session, code)
    status = 200 if cert is not None else 404
    return templates.TemplateResponse(
        request,
        "verify.html",
        {"certificate": cert, "summary": cert.summary if cert else None},
        status_code=status,
    )
