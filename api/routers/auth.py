"""``POST /api/auth/token``: OAuth2 password form in, bearer token out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import Now, SessionDep, SettingsDep
from api.problems import problems
from api.schemas.users import TokenRead
from api.tokens import issue_token
from services.errors import NotAuthenticated
from services.i18n import _
from services.users import authenticate

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", responses=problems())
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
) -> TokenRead:
    """Exchange email (``username``) and password for a bearer token."""
    user = authenticate(session, form.username, form.password)
    if user is None:
        raise NotAuthenticated(_("Wrong email or password."))
    session.commit()  # a password hash may have been upgraded
    return TokenRead(
        access_token=issue_token(settings, user.id, now=now),
        expires_in=int(settings.token_lifetime.total_seconds()),
    )
