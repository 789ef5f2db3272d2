"""survey_answer: the fit question after the get-to-know-you meeting, the closure survey

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 08:40:00.000000

One answer per participant, mentorship and survey (``fit``: yes / not_sure / no;
``closure``: goals reached 1–5 and would recommend), each with an optional comment. Private to
its author: the event log records only that an answer was given.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentorship_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("survey", sa.String(length=20), nullable=False),
        sa.Column("fit", sa.String(length=20), nullable=True),
        sa.Column("goals_reached", sa.Integer(), nullable=True),
        sa.Column("would_recommend", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "goals_reached BETWEEN 1 AND 5", name=op.f("ck_survey_answer_goals_reached_range")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user.id"], name=op.f("fk_survey_answer_author_id_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["mentorship_id"],
            ["mentorship.id"],
            name=op.f("fk_survey_answer_mentorship_id_mentorship"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answer")),
        sa.UniqueConstraint(
            "mentorship_id", "author_id", "survey", name=op.f("uq_survey_answer_mentorship_id_author_id_survey")
        ),
    )
    with op.batch_alter_table("survey_answer") as batch:
        batch.create_index(batch.f("ix_survey_answer_mentorship_id"), ["mentorship_id"], unique=False)
        batch.create_index(batch.f("ix_survey_answer_author_id"), ["author_id"], unique=False)


def downgrade() -> None:
    op.drop_table("survey_answer")
