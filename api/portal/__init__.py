"""The participant portal: server-rendered pages under ``/portal`` (Jinja2, a little CSS, no JS).

Signed in with a cookie (``session.py``); every write goes through the same ``services``
functions as the JSON API, commits, then tells the engine (``app.state.on_fact``).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.portal import (
    account,
    agreement,
    certificates,
    home,
    meetings,
    mentorship,
    notifications,
    passwords,
    people,
    profile,
    program,
    sign_in,
)

router = APIRouter()
for _pages in (
    sign_in,
    passwords,
    account,
    home,
    notifications,
    mentorship,
    agreement,
    meetings,
    certificates,
    program,
    people,
    profile,
):
    router.include_router(_pages.router, prefix="/portal", tags=["portal"], include_in_schema=False)
