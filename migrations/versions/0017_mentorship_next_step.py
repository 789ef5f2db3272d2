"""mentorship.next_*: each mentorship's next step on its row, for operators' lists

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 13:30:00.000000

Who must act, on what, since when, when it is late and when the clock alone changes it, as
``services.progress.waiting_for`` says; ``services.next_steps`` writes them with every fact.
Operators' lists filter, sort, page and count them in SQL. Rows from before this revision
stay NULL ("never filled"): the first operators' read (and the meetings sweep) fills them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentorship") as batch:
        batch.add_column(sa.Column("next_who", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("next_action", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("next_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("next_overdue_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("next_changes_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_mentorship_next_who", ["next_who", "next_since"])
        batch.create_index("ix_mentorship_next_action", ["next_action", "next_since"])
        batch.create_index("ix_mentorship_next_overdue_at", ["next_overdue_at"])
        batch.create_index("ix_mentorship_next_changes_at", ["next_changes_at"])


def downgrade() -> None:
    with op.batch_alter_table("mentorship") as batch:
        batch.drop_index("ix_mentorship_next_changes_at")
        batch.drop_index("ix_mentorship_next_overdue_at")
        batch.drop_index("ix_mentorship_next_action")
        batch.drop_index("ix_mentorship_next_who")
        for column in ("next_changes_at", "next_overdue_at", "next_since", "next_action", "next_who"):
            batch.drop_column(column)
