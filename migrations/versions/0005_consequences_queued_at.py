"""mentorship.consequences_queued_at: a consequence handler is queued for its events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:50:00.000000

While a ``handle-events`` task is queued for a mentorship (and not yet at work), further facts
do not queue another: the queued one takes every event there is when it starts. A burst used
to fill the task workers' queue with duplicates that each cost a Prefect task run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentorship") as batch:
        batch.add_column(sa.Column("consequences_queued_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentorship") as batch:
        batch.drop_column("consequences_queued_at")
