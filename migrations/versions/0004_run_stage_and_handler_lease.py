"""mentorship.run_stage and the consequence handler's lease; shown_seq goes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:30:00.000000

The lifecycle run no longer handles events: Prefect task workers do, one handler per
mentorship at a time (``handler_token`` until ``handler_until``). The run only waits for the
fact that moves its stage on; ``run_stage`` is the stage it waits in, so a fact that meets the
wait wakes it and no other does. Runs suspended before this release wait in their stage.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mentorship') as batch:
        batch.add_column(sa.Column('run_stage', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('handler_token', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('handler_until', sa.DateTime(timezone=True), nullable=True))
    op.execute('UPDATE mentorship SET run_stage = stage WHERE flow_run_id IS NOT NULL')
    with op.batch_alter_table('mentorship') as batch:
        batch.drop_column('shown_seq')


def downgrade() -> None:
    with op.batch_alter_table('mentorship') as batch:
        batch.add_column(sa.Column('shown_seq', sa.Integer(), nullable=False, server_default='0'))
        batch.drop_column('handler_until')
        batch.drop_column('handler_token')
        batch.drop_column('run_stage')
    op.execute('UPDATE mentorship SET shown_seq = processed_seq')
