"""Request dependencies: the session, the clock, the signed-in user, and the unit of a write."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from api.database_slots import database_slot
from api.throttling import SignInThrottle
from api.tokens import token_user
from models import User
from models.settings import Settings
from services import next_steps, notices
from services.access import require_operator
from services.errors import Invalid, NotAuthenticated
from services.i18n import _
from services.idempotency import find_response, store_response

Body = TypeVar("Body", bound=BaseModel)
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request, _slot: Annotated[None, Depends(database_slot)]) -> Iterator[Session]:
    """Every request's session takes SQLite's write lock when it begins (``BEGIN IMMEDIATE``),
    reads included: measured against read-only sessions for GETs, that gave more throughput
    and a lower median in one process, at the cost of a longer tail (BENCHMARKS.md). It opens
    only once the request holds a database slot (``api/database_slots.py``)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        yield session


def get_now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def get_sign_in_throttle(request: Request) -> SignInThrottle:
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    return throttle


def client_address(request: Request) -> str:
    """The caller's address (behind a proxy: run uvicorn with ``--proxy-headers``)."""
    return request.client.host if request.client else "unknown"


SessionDep = Annotated[Session, Depends(get_session)]
Throttle = Annotated[SignInThrottle, Depends(get_sign_in_throttle)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Now = Annotated[datetime, Depends(get_now)]


BearerToken = Annotated[str | None, Depends(oauth2)]


def get_current_user(session: SessionDep, settings: SettingsDep, now: Now, token: BearerToken) -> User:
    user = None if token is None else token_user(session, settings, token, now=now)
    if user is None:
        raise NotAuthenticated(_("Sign in first: send a valid bearer token."))
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_operator(user: CurrentUser) -> User:
    return require_operator(user)


Operator = Annotated[User, Depends(get_operator)]


def keep_next_steps(session: Session, now: datetime) -> None:
    """Store the next steps the clock made stale before an operator's read, in a commit of its
    own: every operator read works them out anyway (``services.next_steps``), and keeping them
    means the next read does not, even while the minute sweep that also stores them is down."""
    if next_steps.refresh_stale(session, now=now):
        session.commit()


def get_operator_reading(operator: Operator, session: SessionDep, now: Now) -> User:
    """An operator about to read the program's lists or figures, with the next steps fresh."""
    keep_next_steps(session, now)
    return operator


OperatorReading = Annotated[User, Depends(get_operator_reading)]


async def request_fingerprint(request: Request) -> str:
    body = await request.body()
    return hashlib.sha256(
        b"%s %s\n%s" % (request.method.encode(), request.url.path.encode(), body)
    ).hexdigest()


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise Invalid(
            _("If-Match must be the version number you read, e.g. If-Match: 3."), loc=("header", "if-match")
        )
    return int(raw)


class IdempotentReplay(Exception):  # noqa: N818 - a signal, not an error
    """Raised to answer a repeated Idempotency-Key with the first response."""

    def __init__(self, status_code: int, body: str) -> None:
        self.status_code = status_code
        self.body = body


class Write:
    """One write request: its session, actor, time, If-Match and Idempotency-Key.

    ``done`` stores the answer under the Idempotency-Key in the same transaction as the fact,
    commits, then tells the engine which mentorship has news (after commit, best effort).
    """

    def __init__(
        self,
        request: Request,
        session: Session,
        user: User,
        now: datetime,
        key: str | None,
        fingerprint: str,
        if_match: int | None,
    ) -> None:
        self.request = request
        self.session = session
        self.user = user
        self.now = now
        self.key = key
        self.fingerprint = fingerprint
        self.if_match = if_match

    def done(self, body: Body, *, status_code: int = 200, mentorship_id: int | None = None) -> Body:
        if self.key is not None:
            store_response(
                self.session,
                user_id=self.user.id,
                key=self.key,
                fingerprint=self.fingerprint,
                status_code=status_code,
                body=body.model_dump_json(),
                now=self.now,
            )
        if mentorship_id is not None:
            notices.mark_read_about(self.session, self.user.id, mentorship_id, now=self.now)
        self.session.commit()
        if mentorship_id is not None:
            self.request.app.state.on_fact(mentorship_id)
        return body


def get_write(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: Now,
    fingerprint: Annotated[str, Depends(request_fingerprint)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> Write:
    if idempotency_key is not None:
        earlier = find_response(session, user_id=user.id, key=idempotency_key)
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise Invalid(
                    _("This Idempotency-Key was used for a different request."),
                    loc=("header", "idempotency-key"),
                )
            raise IdempotentReplay(earlier.status_code, earlier.body)
    return Write(request, session, user, now, idempotency_key, fingerprint, parse_if_match(if_match))


WriteDep = Annotated[Write, Depends(get_write)]
