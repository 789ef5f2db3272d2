"""topic catalogue in German: topic.translations and topic_question.translations

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 08:40:00.000000

The German words live in ``topic_catalogue.de.json`` next to this file, by topic slug; the
questions in the same order as in ``topic_catalogue.json``. A topic or question without a
translation is shown in English.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GERMAN = Path(__file__).with_name('topic_catalogue.de.json')

topic = sa.table('topic', sa.column('id', sa.Integer), sa.column('slug', sa.String), sa.column('translations', sa.JSON))
topic_question = sa.table(
    'topic_question',
    sa.column('id', sa.Integer),
    sa.column('topic_id', sa.Integer),
    sa.column('position', sa.Integer),
    sa.column('translations', sa.JSON),
)


def upgrade() -> None:
    for table in ('topic', 'topic_question'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('translations', sa.JSON(), server_default='{}', nullable=False))
    german: dict[str, dict[str, Any]] = json.loads(GERMAN.read_text(encoding='utf-8'))
    bind = op.get_bind()
    ids = dict(bind.execute(sa.select(topic.c.slug, topic.c.id).where(topic.c.slug.in_(list(german)))).tuples().all())
    for slug, words in german.items():
        if slug not in ids:
            continue
        bind.execute(
            topic.update()
            .where(topic.c.id == ids[slug])
            .values(translations={'de': {'title': words['title'], 'description': words['description']}})
        )
        for position, text in enumerate(words['questions'], start=1):
            bind.execute(
                topic_question.update()
                .where(topic_question.c.topic_id == ids[slug], topic_question.c.position == position)
                .values(translations={'de': text})
            )


def downgrade() -> None:
    for table in ('topic_question', 'topic'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('translations')
