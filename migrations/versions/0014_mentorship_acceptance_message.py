"""mentorship.acceptance_message: the mentor's words on accepting a request

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 08:40:00.000000

``POST /api/mentorships/{id}/accept {message?}``: what the mentor writes to the mentee when
accepting, shown on the mentorship page beside the request's message. Requests accepted
before this revision had no words: NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentorship") as batch:
        batch.add_column(sa.Column("acceptance_message", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentorship") as batch:
        batch.drop_column("acceptance_message")
