"""user.erased_at: the person's data was erased (services/personal_data.py)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:30:00.000000

Erasure keeps the row as an anonymous placeholder, because the mentorships, meetings and
event log it is part of also belong to the other participant; this says when it was emptied.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("erased_at")
