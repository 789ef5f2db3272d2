"""Liveness and readiness."""

from __future__ import annotations

import os
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        200: {
            "description": (
                'Ready: the database answers. `engine` is `"ok"` when the workflow engine (Prefect) '
                'answers, `"degraded"` when it does not (facts are still accepted and stored; the '
                'engine catches up on them once it is back), `"not configured"` without one.'
            )
        },
        503: {"description": "The database is not reachable"},
    },
)
def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers; the workflow engine's state is reported only: while
    it is unreachable the API keeps accepting facts, so readiness does not depend on it."""
    database = _database_ok(request)
    body: dict[str, Any] = {
        "status": "ok" if database else "unavailable",
        "database": "ok" if database else "unreachable",
        "engine": _engine_state(),
    }
    return JSONResponse(body, status_code=200 if database else 503)


def _database_ok(request: Request) -> bool:
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False


def _engine_state() -> str:
    """``ok``, ``degraded`` (Prefect does not answer, or not with 200) or ``not configured``."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return "not configured"
    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=1.0)
    except httpx.HTTPError:
        return "degraded"
    return "ok" if response.status_code == 200 else "degraded"
