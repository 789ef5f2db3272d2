"""``/portal/program``: the operators' area. The overview (what is stuck on whom, since when,
and the program's figures), every mentorship with search, filters and paging, and CSV exports.

Operators read here and act on people (``people.py``); only participants act on a mentorship.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import keep_next_steps
from api.downloads import csv_download
from api.portal import forms
from api.portal.pages import Portal, PortalRoute, page_link, pages_of, posting, reading
from api.portal.views import NextStep, next_step
from api.schemas.admin import ProgramWrite
from models import Stage
from services import exports, listing, overview, program, reports
from services.access import require_operator
from tasks.engine import run_url

router = APIRouter(route_class=PortalRoute)


def operating(portal: Annotated[Portal, Depends(reading)]) -> Portal:
    """An operator reading the program, with the next steps the clock made stale stored."""
    require_operator(portal.user)
    keep_next_steps(portal.session, portal.now)
    return portal


def operating_post(portal: Annotated[Portal, Depends(posting)]) -> Portal:
    require_operator(portal.user)
    return portal


Operating = Annotated[Portal, Depends(operating)]
OperatingPost = Annotated[Portal, Depends(operating_post)]


@dataclass(frozen=True)
class RowView:
    """One listed mentorship as the page shows it."""

    row: listing.Row
    next: NextStep | None
    run_url: str | None


def row_view(portal: Portal, row: listing.Row) -> RowView:
    m = row.mentorship
    return RowView(row, next_step(row.waiting, m, portal.user, portal.reader), run_url(m.flow_run_id))


@router.get("/program", response_class=HTMLResponse)
def program_overview(portal: Operating) -> Response:
    found = overview.overview(portal.session, now=portal.now)
    return portal.page(
        "portal/program.html",
        found=found,
        stuck=[row_view(portal, row) for row in found.stuck],
        busiest=max((n for _, n in found.meetings_per_month), default=0),
        min_answers=reports.MIN_AUTHORS,
    )


def _filters(
    q: Annotated[str, Query(max_length=200)] = "",
    stage: Annotated[str, Query(max_length=20)] = "",
    waiting: Annotated[str, Query(max_length=20)] = "",
    overdue: Annotated[str, Query(max_length=5)] = "",
) -> listing.Filters:
    """The list's filters as a form sends them; an unknown stage or side filters nothing."""
    return listing.Filters(
        search=q,
        stage=stage if stage in set(Stage) else None,
        waiting_for=waiting if waiting in listing.SIDES else None,
        overdue=overdue == "yes",
    )


Filtering = Annotated[listing.Filters, Depends(_filters)]


@router.get("/program/mentorships", response_class=HTMLResponse)
def mentorship_list(
    portal: Operating, filters: Filtering, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> Response:
    per_page = listing.PER_PAGE
    found = listing.list_mentorships(
        portal.session, now=portal.now, filters=filters, offset=(page - 1) * per_page, limit=per_page
    )
    query = _query_of(filters)
    return portal.page(
        "portal/program_mentorships.html",
        rows=[row_view(portal, row) for row in found.rows],
        found=found,
        filters=filters,
        page=page,
        pages=pages_of(found.total, per_page),
        stages=list(Stage),
        waiting_choices=listing.SIDES,
        link=page_link("/portal/program/mentorships", query),
        export=f"/portal/program/mentorships.csv?{urlencode(query)}",
    )


@router.get("/program/mentorships.csv")
def mentorships_export(portal: Operating, filters: Filtering) -> Response:
    body = exports.mentorships_csv(
        portal.session,
        now=portal.now,
        filters=filters,
        zone=portal.reader.zone,
        language=portal.reader.language,
    )
    return csv_download(body, "mentorships", portal.now)


@router.get("/program/meetings.csv")
def meetings_export(portal: Operating) -> Response:
    return csv_download(exports.meetings_csv(portal.session, zone=portal.reader.zone), "meetings", portal.now)


def _query_of(filters: listing.Filters) -> dict[str, str]:
    query = {"q": filters.search, "stage": filters.stage or "", "waiting": filters.waiting_for or ""}
    if filters.overdue:
        query["overdue"] = "yes"
    return {k: v for k, v in query.items() if v}


@router.get("/program/settings", response_class=HTMLResponse)
def settings_page(portal: Operating) -> Response:
    return _settings_page(portal)


def _settings_page(portal: Portal, *, error: str | None = None, status: int = 200) -> Response:
    return portal.page(
        "portal/program_settings.html",
        status=status,
        error=error,
        current=program.program_of(portal.session),
        sent=portal.form if error else None,
    )


@router.post("/program/settings", response_class=HTMLResponse)
def save_settings(portal: OperatingPost) -> Response:
    def save() -> None:
        fields = portal.fields
        body = forms.checked(
            ProgramWrite,
            {"name": forms.text(fields, "name"), "contact_email": forms.text(fields, "contact_email")},
            portal.reader.language,
        )
        program.change(
            portal.session, portal.user, name=body.name, contact_email=str(body.contact_email), now=portal.now
        )

    return portal.act(
        save,
        then="/portal/program/settings?done=program_saved",
        refused=lambda message, status: _settings_page(portal, error=message, status=status),
    )
