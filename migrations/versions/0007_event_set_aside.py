"""event.failures, event.last_error, event.set_aside_at: a consequence that keeps failing

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:15:00.000000

One event whose consequences raised on every try used to stop its mentorship's processing for
good: the handler retried it for ever and every later event waited behind it. Now each failure
is counted with its error; after a few the event is set aside (operators see it, with the
error) and the mentorship's later events go on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("set_aside_at")
        batch.drop_column("last_error")
        batch.drop_column("failures")
