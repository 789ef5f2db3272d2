"""The FastAPI application: JSON API under ``/api``, health checks, verification page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from api.database_slots import DatabaseSlots
from api.deps import IdempotentReplay
from api.docs import install_docs
from api.portal import router as portal_router
from api.problems import install_problem_handlers
from api.routers import (
    admin,
    agreements,
    auth,
    certificates,
    feedback_form,
    health,
    meetings,
    mentorships,
    people,
    survey_form,
    surveys,
    users,
)
from api.security import SecurityMiddleware
from api.throttling import SignInThrottle
from models.db import default_engine, session_factory
from models.settings import Settings, get_settings
from tasks.engine import after_fact


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utc_now,
    on_fact: Callable[[int], object] | None = None,
) -> FastAPI:
    """Build the app. ``on_fact(mentorship_id)`` runs after each committed fact; by default it
    tells the workflow engine (in the background, best effort: see ``tasks/engine.py``)."""
    app = build_app()
    configure_app(app, settings, engine=engine, clock=clock, on_fact=on_fact)
    return app


def build_app() -> FastAPI:
    """The routes, handlers and middleware; what they work with is set by ``configure_app``.

    FastAPI 0.150 prepares a router's routes at an app's first request through it (~150 ms in
    all); the test suite builds one app and configures it anew for each test instead.
    """
    app = FastAPI(
        title="mentorflow",
        version="0.1.0",
        description="Mentoring programs end to end: requests, agreements, meetings, feedback, "
        "certificates. Errors are `application/problem+json` (RFC 9457).",
        docs_url=None,  # api/docs.py serves Swagger UI from our own origin
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.add_middleware(SecurityMiddleware)

    @app.exception_handler(IdempotentReplay)
    async def _replay(request: Request, exc: IdempotentReplay) -> Response:
        return Response(
            exc.body,
            status_code=exc.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    for module in (auth, users, mentorships, surveys, agreements, meetings, certificates, admin, people):
        app.include_router(module.router, prefix="/api")
    app.include_router(certificates.public)
    app.include_router(feedback_form.router)
    app.include_router(survey_form.router)
    app.include_router(portal_router)
    app.include_router(health.router)
    install_docs(app)
    return app


def configure_app(
    app: FastAPI,
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utc_now,
    on_fact: Callable[[int], object] | None = None,
) -> None:
    """Everything the requests work with lives in ``app.state``, set here: the settings, the
    database, the clock, the sign-in throttle (empty) and what runs after each fact."""
    settings = settings or get_settings()
    engine = engine or default_engine()
    app.state.settings = settings
    app.state.sessions = session_factory(engine)
    app.state.database_slots = DatabaseSlots.for_engine(engine)
    app.state.clock = clock
    app.state.sign_in_throttle = SignInThrottle.from_settings(settings)
    app.state.on_fact = on_fact or partial(after_fact, db=engine)
