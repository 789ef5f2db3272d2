"""user.locale is "" until the person chooses a language

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:50:00.000000

Nobody could choose a language before this revision, so every "en" stored was the default,
not a choice: it becomes "" (pages follow the browser, mails stay English). The column's
default in the model is "" from now on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("""UPDATE "user" SET locale = '' WHERE locale = 'en'"""))


def downgrade() -> None:
    op.execute(sa.text("""UPDATE "user" SET locale = 'en' WHERE locale = ''"""))
