"""Show operators, in the Prefect UI, where a mentorship stands.

Two things, each written by the one who knows it first:

- the run's **tags** (``stage:<stage>``, ``waiting:<who>``, ``mentorship-{id}``), set by the
  consequence handler after every batch of events, so the flow-runs list can be filtered by
  stage and by who must act, and stays true between the run's (rare) resumes;
- a markdown **artifact** ``mentorship-{id}`` (stage, who must do what, the recent timeline),
  published by the lifecycle run at each of its steps.

The text is for operators, not participants, and stays in English.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID

from prefect import get_client
from prefect.artifacts import create_markdown_artifact
from prefect.exceptions import ObjectNotFound

from models.db import read_scope
from services import engine_state
from services.engine_state import RunStatus, run_tags

log = logging.getLogger(__name__)


def _status(mentorship_id: int) -> RunStatus:
    with read_scope() as session:
        return engine_state.run_status(session, mentorship_id, now=datetime.now(UTC))


def show_run_tags(mentorship_id: int) -> list[str]:
    """Set the run's tags from the database as it is now; returns them (empty: no run yet)."""
    status = _status(mentorship_id)
    if status.flow_run_id is None:
        return []  # the run is being started; it is created with these tags
    tags = run_tags(status)
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(status.flow_run_id), tags=tags)
    except ObjectNotFound:
        log.info(
            "mentorship %s: run %s not found; the reconciler starts one", mentorship_id, status.flow_run_id
        )
        return []
    return tags


def publish_status(mentorship_id: int) -> str:
    """Publish the status artifact from within the lifecycle run; returns its one-line summary."""
    status = _status(mentorship_id)
    summary = summary_line(status)
    create_markdown_artifact(
        key=engine_state.run_name(mentorship_id), markdown=status_markdown(status), description=summary
    )
    return summary


def waiting_text(waiting_for: dict[str, str] | None) -> str:
    if not waiting_for:
        return "nobody"
    who, what = waiting_for.get("who"), waiting_for.get("what")
    return f"{who}: {what}" if what else str(who)


def summary_line(status: RunStatus) -> str:
    return f"{status.stage} · waiting for {waiting_text(status.waiting_for)}"


def status_markdown(status: RunStatus) -> str:
    lines = [
        f"# Mentorship {status.mentorship_id}: {status.mentee} ↔ {status.mentor}",
        "",
        f"As of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (the run's tags stay current in between).",
        "",
        "| | |",
        "|---|---|",
        f"| **stage** | `{status.stage}` |",
        f"| **waiting for** | {waiting_text(status.waiting_for)} |",
        f"| **mentee** | {status.mentee} |",
        f"| **mentor** | {status.mentor} |",
        "",
        f"## Timeline (last {len(status.timeline)} events)",
        "",
        "| # | when (UTC) | event | by |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {e.seq} | {e.occurred_at:%Y-%m-%d %H:%M} | `{e.type}` | {e.actor or 'system'} |"
        for e in status.timeline
    ]
    return "\n".join(lines) + "\n"
