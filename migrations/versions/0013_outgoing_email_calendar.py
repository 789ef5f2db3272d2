"""outgoing_email.calendar: the ``.ics`` a mail carries (a meeting invite, update or cancellation)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:40:00.000000

Written with the mail, so a retry attaches the same file the mail's text was written with.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outgoing_email") as batch:
        batch.add_column(sa.Column("calendar", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outgoing_email") as batch:
        batch.drop_column("calendar")
