"""``/api/auth``: a bearer token for email and password, signing out, changing one's password,
and setting one with a mailed link (invitation, reset)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from sqlalchemy.orm import Session

from api.deps import BearerToken, CurrentUser, Now, SessionDep, SettingsDep, Throttle, client_address
from api.i18n import browser_language
from api.problems import problems
from api.schemas.users import Accepted, PasswordChange, PasswordForgotten, PasswordSet, TokenRead
from api.tokens import sign_in, sign_out
from models import User
from models.settings import Settings
from services import password_links, sign_ins
from services.errors import NotAuthenticated
from services.i18n import _
from services.users import adopt_browser_language, authenticate, change_password, find_user
from tasks.mail import enqueue_password_link

router = APIRouter(prefix="/auth", tags=["auth"])
#: The answer to "forgot password", the same whether or not the address has an account.
RESET_LINK_ON_ITS_WAY = _("If this address has an account, a link to set a new password is on its way.")


class SignInForm:
    """OAuth2's password form (what ``OAuth2PasswordRequestForm`` reads), with every field bounded."""

    def __init__(
        self,
        username: Annotated[str, Form(max_length=320)],
        password: Annotated[str, Form(max_length=200, json_schema_extra={"format": "password"})],
        grant_type: Annotated[str | None, Form(max_length=8, pattern="^password$")] = None,
        scope: Annotated[str, Form(max_length=200)] = "",
        client_id: Annotated[str | None, Form(max_length=200)] = None,
        client_secret: Annotated[
            str | None, Form(max_length=200, json_schema_extra={"format": "password"})
        ] = None,
    ) -> None:
        self.username = username
        self.password = password


@router.post("/token", responses=problems(429))
def token(
    request: Request,
    form: Annotated[SignInForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    throttle: Throttle,
    now: Now,
) -> TokenRead:
    """Exchange email (``username``) and password for a bearer token.

    Ten tries per account and a hundred per address in 15 minutes (settings), then 429 with
    ``Retry-After``, whether or not the account exists."""
    throttle.attempt(form.username, client_address(request))
    user = authenticate(session, form.username, form.password)
    if user is None:
        raise NotAuthenticated(_("Wrong email or password."))
    throttle.succeeded(form.username)
    _keep_browser_language(request, user)
    return _signed_in(session, settings, user, now=now)  # (and a password hash maybe upgraded)


@router.post("/logout", status_code=204, responses=problems())
def logout(
    user: CurrentUser, token: BearerToken, session: SessionDep, settings: SettingsDep, now: Now
) -> Response:
    """End this token's sign-in on the server: the token opens nothing from now on."""
    sign_out(session, settings, token or "", now=now)
    return Response(status_code=204)


@router.post("/password", responses=problems(422, 429))
def new_password(
    request: Request,
    body: PasswordChange,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    throttle: Throttle,
    now: Now,
) -> TokenRead:
    """Change one's own password: every sign-in of the person ends (all devices), and the
    answer carries a fresh token for this one. A wrong current password counts as a failed
    sign-in (a stolen session cannot guess its way to the password)."""
    throttle.attempt(user.email, client_address(request))
    change_password(session, user, current=body.current_password, new=body.new_password)
    sign_ins.end_all(session, user.id, now=now)
    return _signed_in(session, settings, user, now=now)


@router.post("/forgot-password", status_code=202, responses=problems(429))
def forgot_password(
    request: Request,
    body: PasswordForgotten,
    session: SessionDep,
    settings: SettingsDep,
    throttle: Throttle,
    now: Now,
) -> Accepted:
    """Mail a link to set a new password (two hours, once). The answer is the same whether or
    not the address has an account; earlier sign-ins end only once the new password is set, so
    nobody can sign others out by asking."""
    throttle.attempt(body.email, client_address(request))
    mail_reset_link(session, settings, body.email, now=now)
    return Accepted(detail=RESET_LINK_ON_ITS_WAY)


@router.post("/set-password", responses=problems(422, 429))
def set_password_with_link(
    request: Request,
    body: PasswordSet,
    session: SessionDep,
    settings: SettingsDep,
    throttle: Throttle,
    now: Now,
) -> TokenRead:
    """Set a password with the link from an invitation or reset mail; signs in (a new token)
    and ends every other sign-in."""
    throttle.attempt(password_links.holder_key(body.token), client_address(request))
    user = password_links.set_password(session, settings.secret_key, body.token, body.password, now=now)
    _keep_browser_language(request, user)
    return _signed_in(session, settings, user, now=now)


def mail_reset_link(session: Session, settings: Settings, email: str, *, now: datetime) -> None:
    """A reset link to the address if it has an active account (portal and API alike); commits."""
    user = find_user(session, email) if email else None
    if user is not None and user.deactivated_at is None:
        enqueue_password_link(session, user, "reset", settings=settings, now=now)
        session.commit()


def _keep_browser_language(request: Request, user: User) -> None:
    """A person who never chose a language keeps the one their client asks for, if it asks."""
    language = browser_language(request)
    if language is not None:
        adopt_browser_language(user, language)


def _signed_in(session: Session, settings: Settings, user: User, *, now: datetime) -> TokenRead:
    """Begin a sign-in for ``user``, commit, and answer with its token."""
    access_token = sign_in(session, settings, user, now=now)
    session.commit()
    return TokenRead(access_token=access_token, expires_in=int(settings.token_lifetime.total_seconds()))
