"""Every error as ``application/problem+json`` (RFC 9457), and its OpenAPI description."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.i18n import request_locale
from api.schemas.common import FieldError, Problem
from services.errors import DomainError, Invalid
from services.i18n import SOURCE_LANGUAGE, _, translate

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
#: Seconds a client should wait before it repeats a request the database could not take.
DATABASE_RETRY_AFTER = 2

_TITLES = {
    400: _("Bad request"),
    401: _("Not authenticated"),
    403: _("Forbidden"),
    404: _("Not found"),
    405: _("Method not allowed"),
    409: _("Conflict"),
    412: _("Precondition failed"),
    413: _("Request too large"),
    415: _("Unsupported media type"),
    422: _("Invalid input"),
    429: _("Too many requests"),
    500: _("Internal error"),
    503: _("Service unavailable"),
}
_OTHER_TITLE = _("Error")


def problem_response(
    status: int,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> JSONResponse:
    """A problem document; ``detail`` is already in ``language``, the title is translated here."""
    title = _TITLES.get(status, _OTHER_TITLE)
    problem = Problem(
        type=f"/problems/{code or title.lower().replace(' ', '-')}",
        title=translate(title, language),
        status=status,
        detail=detail,
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers) if headers else None,
    )


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    found = []
    for err in exc.errors():
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        found.append(
            FieldError(
                loc=loc,
                field=".".join(str(p) for p in loc[1:]) or str(loc[0] if loc else ""),
                msg=str(err.get("msg", "")),
                type=str(err.get("type", "")),
            )
        )
    return found


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        language = request_locale(request)
        detail = translate(exc.message, language, **exc.params)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int):
            headers = {"Retry-After": str(retry_after)}
        errors = None
        if isinstance(exc, Invalid) and exc.loc:  # 422s name the input at fault
            loc: list[str | int] = list(exc.loc)
            field = ".".join(exc.loc[1:]) or exc.loc[0]
            errors = [FieldError(loc=loc, field=field, msg=detail, type="value_error")]
        return problem_response(exc.status, detail, errors=errors, headers=headers, language=language)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        language = request_locale(request)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return _unreadable_body(language)  # not JSON at all: nothing to validate
        errors = _field_errors(exc)
        fields = ", ".join(e.field for e in errors)
        detail = translate(_("The request is not valid: check {fields}."), language, fields=fields)
        return problem_response(422, detail, errors=errors, language=language)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        language = request_locale(request)
        if exc.status_code == 400 and exc.detail == FASTAPI_UNREADABLE_BODY:
            return _unreadable_body(language)
        title = translate(_TITLES.get(exc.status_code, _OTHER_TITLE), language)
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(exc.status_code, detail, headers=exc.headers, language=language)

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
        # Input the database cannot hold (an id beyond its integer range, a NUL character in
        # text) is the client's mistake, not ours: 422, never 500.
        log.info("refused unstorable input on %s %s: %s", request.method, request.url.path, exc)
        language = request_locale(request)
        detail = translate(
            _("A value in the request is out of range or contains characters that cannot be stored."),
            language,
        )
        return problem_response(422, detail, language=language)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        # A dropped or refused database connection (PostgreSQL restarted, a failover, an
        # administrator ending sessions) is not the client's mistake nor a bug: the
        # transaction was rolled back, and the same request (with the same Idempotency-Key)
        # may simply be sent again. Other driver errors stay 500s.
        if not _database_unavailable(exc):
            return await _unexpected(request, exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        language = request_locale(request)
        detail = translate(
            _("The database is unavailable for a moment; nothing was changed. Try again shortly."),
            language,
        )
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
        return problem_response(503, detail, headers=headers, language=language)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        language = request_locale(request)
        detail = translate(_("Something went wrong on our side; nothing was changed."), language)
        return problem_response(500, detail, language=language)

    document_unreadable_bodies(app)


def _database_unavailable(exc: DBAPIError) -> bool:
    """The connection broke or could not be made (SQLAlchemy's ``OperationalError``: "errors
    related to the database's operation", such as a disconnect), as against a bad statement."""
    return exc.connection_invalidated or isinstance(exc, OperationalError)


#: What FastAPI says (as an ``HTTPException``) when a body cannot be decoded, e.g. not UTF-8.
FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"


def _unreadable_body(language: str) -> JSONResponse:
    """A body that cannot be read at all (broken JSON, not UTF-8): 400, one answer for both;
    422 stays for JSON that can be read but does not fit the operation."""
    detail = translate(_("The request body could not be read: send well-formed JSON in UTF-8."), language)
    return problem_response(400, detail, code="unreadable-body", language=language)


def document_unreadable_bodies(app: FastAPI) -> None:
    """FastAPI answers 400 for an unreadable body before any route runs, so every operation
    with a request body may answer it: say so in ``/openapi.json`` here, once, rather than in
    each route's ``responses=``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict) and "requestBody" in operation:
                        responses = {"400": _described(400), **operation["responses"]}
                        operation["responses"] = dict(sorted(responses.items()))
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def _described(status: int) -> dict[str, Any]:
    return {
        "description": _TITLES.get(status, _OTHER_TITLE),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the problem documents it may answer with."""
    always = (401, 422)
    return {status: {"model": Problem, **_described(status)} for status in sorted({*always, *statuses})}
