"""mentorship.closing_code: why a mentorship ended early, from a short list

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 02:45:00.000000

``goals_reached``, ``no_time``, ``not_a_fit`` or ``other`` (services.mentorships.END_REASONS),
beside the words of ``closing_reason``. Mentorships that ended before this revision gave only
words: they count as ``other``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentorship") as batch:
        batch.add_column(sa.Column("closing_code", sa.String(length=20), nullable=True))
    op.execute(sa.text("UPDATE mentorship SET closing_code = 'other' WHERE stage = 'ended'"))


def downgrade() -> None:
    with op.batch_alter_table("mentorship") as batch:
        batch.drop_column("closing_code")
