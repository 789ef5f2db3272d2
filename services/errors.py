"""Domain errors: what went wrong, in words a person understands, and the HTTP status it means.

They import nothing from FastAPI; one handler in ``api/problems.py`` renders them as
``application/problem+json``.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.params = params

    @property
    def code(self) -> str:
        return self.title.lower().replace(" ", "-")


class NotAuthenticated(DomainError):
    status = 401
    title = "Not authenticated"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The fact breaks a lifecycle rule: wrong stage, wrong side, already decided, in the past."""

    status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"


class Invalid(DomainError):
    """Input the rules refuse; ``loc`` names it like a validation error does, e.g.
    ``("body", "mentor_id")`` or ``("header", "if-match")``, for the problem's ``errors``."""

    status = 422
    title = "Invalid input"

    def __init__(self, message: str, *, loc: tuple[str, ...] = (), **params: object) -> None:
        super().__init__(message, **params)
        self.loc = loc
