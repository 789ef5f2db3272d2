"""``/api/auth``: a bearer token for email and password, signing out, changing one's password,
and setting one with a mailed link (invitation, reset)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import BearerToken, CurrentUser, Now, SessionDep, SettingsDep, Throttle, client_address
from api.problems import problems
from api.schemas.users import Accepted, PasswordChange, PasswordForgotten, PasswordSet, TokenRead
from api.tokens import read_token, sign_in
from services import password_links, sign_ins
from services.errors import NotAuthenticated
from services.i18n import _
from services.password_links import password_link_mail
from services.users import authenticate, change_password, find_user
from tasks.mail import enqueue_mails

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", responses=problems(429))
def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
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
    access_token = sign_in(session, settings, user, now=now)
    session.commit()  # the sign-in, and a password hash that may have been upgraded
    return TokenRead(access_token=access_token, expires_in=int(settings.token_lifetime.total_seconds()))


@router.post("/logout", status_code=204, responses=problems())
def logout(
    user: CurrentUser, token: BearerToken, session: SessionDep, settings: SettingsDep, now: Now
) -> Response:
    """End this token's sign-in on the server: the token opens nothing from now on."""
    claims = read_token(settings, token or "", now=now)
    if claims is not None:
        sign_ins.end(session, claims.sign_in_id, now=now)
        session.commit()
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
    access_token = sign_in(session, settings, user, now=now)
    session.commit()
    return TokenRead(access_token=access_token, expires_in=int(settings.token_lifetime.total_seconds()))


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
    user = find_user(session, body.email)
    if user is not None and user.deactivated_at is None:
        enqueue_mails(
            session,
            [password_link_mail(settings.secret_key, user, "reset", now=now)],
            settings=settings,
            now=now,
        )
        session.commit()
    return Accepted(detail=_("If this address has an account, a link to set a new password is on its way."))


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
    throttle.attempt(body.token.split(".", 1)[0], client_address(request))
    user = password_links.set_password(session, settings.secret_key, body.token, body.password, now=now)
    access_token = sign_in(session, settings, user, now=now)
    session.commit()
    return TokenRead(access_token=access_token, expires_in=int(settings.token_lifetime.total_seconds()))
