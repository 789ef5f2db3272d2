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


@router.get("/readyz", responses={503: {"description": "The database is not reachable"}})
def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers; the workflow engine's reachability is reported only."""
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
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return "not configured"
    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=1.0)
        return "ok" if response.status_code == 200 else f"answered {response.status_code}"
    except httpx.HTTPError:
        return "unreachable"
