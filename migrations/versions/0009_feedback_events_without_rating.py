"""feedback.given events no longer carry the rating

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:35:00.000000

Feedback is private to its author; the event log, which the other participant and operators
read, records that feedback was given, not what. Events written before this revision lose
their ``rating``.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    # PostgreSQL wants the text cast to JSON; SQLite stores JSON as text (and CAST AS JSON
    # would turn it into a number there)
    value = "CAST(:payload AS JSON)" if bind.dialect.name == "postgresql" else ":payload"
    rows = bind.execute(sa.text("SELECT id, payload FROM event WHERE type = 'feedback.given'")).all()
    for event_id, payload in rows:
        values = json.loads(payload) if isinstance(payload, str) else dict(payload or {})
        if "rating" in values:
            values.pop("rating")
            bind.execute(
                sa.text(f"UPDATE event SET payload = {value} WHERE id = :id"),  # noqa: S608 - fixed text
                {"payload": json.dumps(values), "id": event_id},
            )


def downgrade() -> None:
    pass  # the ratings are not brought back into the log: they live in the feedback table
