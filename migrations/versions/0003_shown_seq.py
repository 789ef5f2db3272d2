"""mentorship.shown_seq: how far the lifecycle run has shown the event log to operators

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:30:00.000000

The fast lane handles events before the lifecycle run resumes, so "every event handled" no
longer means "the run has seen it". Existing runs have shown what they processed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mentorship') as batch:
        batch.add_column(sa.Column('shown_seq', sa.Integer(), nullable=False, server_default='0'))
    op.execute('UPDATE mentorship SET shown_seq = processed_seq')


def downgrade() -> None:
    with op.batch_alter_table('mentorship') as batch:
        batch.drop_column('shown_seq')
