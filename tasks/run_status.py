"""Show operators, in the Prefect UI, where a mentorship stands.

Each lifecycle pass publishes a markdown artifact under the key ``mentorship-{id}`` (stage,
who must do what next, the recent timeline) and sets the run's tags (``stage:<stage>``,
``waiting:<who>``), so the flow-runs list can be filtered by stage without opening anything.
Then it records how far the log is shown (``shown_seq``): until then the run counts as behind,
and the API and the reconciler wake it. The text is for operators, not participants, and stays in English.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from prefect import get_client, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from models.db import session_scope
from services import engine_state
from services.engine_state import LIFECYCLE_TAG, RunStatus

_MANAGED_TAG_PREFIXES = ("stage:", "waiting:")


@task(name="show-where-it-stands", cache_policy=NO_CACHE, persist_result=False)
def show_where_it_stands(mentorship_id: int) -> str:
    """Publish the status artifact and tags, then mark them shown; returns the one-line summary."""
    with session_scope() as session:
        status = engine_state.run_status(session, mentorship_id, now=datetime.now(UTC))
    summary = summary_line(status)
    create_markdown_artifact(
        key=engine_state.run_name(mentorship_id),
        markdown=status_markdown(status),
        description=summary,
    )
    _set_tags(status)
    with session_scope() as session:
        engine_state.mark_shown(session, mentorship_id, status.processed_seq)
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
        "| | |",
        "|---|---|",
        f"| **stage** | `{status.stage}` |",
        f"| **waiting for** | {waiting_text(status.waiting_for)} |",
        f"| **mentee** | {status.mentee} |",
        f"| **mentor** | {status.mentor} |",
        f"| **events handled** | {status.processed_seq} of {status.last_seq} |",
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


def run_tags(status: RunStatus, current: list[str]) -> list[str]:
    kept = [t for t in current if not t.startswith(_MANAGED_TAG_PREFIXES)]
    tags = {*kept, LIFECYCLE_TAG, f"stage:{status.stage}"}
    if status.waiting_for and status.waiting_for.get("who"):
        tags.add(f"waiting:{status.waiting_for['who']}")
    return sorted(tags)


def _set_tags(status: RunStatus) -> None:
    run_id = flow_run.id
    if run_id is None:  # called outside a flow run (tests): nothing to tag
        return
    current: list[str] = list(flow_run.tags or [])
    with get_client(sync_client=True) as client:
        client.update_flow_run(UUID(run_id), tags=run_tags(status, current))
