"""topic catalogue: suggested topics and questions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:10:00.000000

The data lives in ``topic_catalogue.json`` next to this file. Topics get their ids from the
database (no explicit ids, so PostgreSQL sequences stay in step); questions are inserted
after their topic ids were read back by slug.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATALOGUE = Path(__file__).with_name('topic_catalogue.json')

topic = sa.table(
    'topic',
    sa.column('id', sa.Integer),
    sa.column('slug', sa.String),
    sa.column('title', sa.String),
    sa.column('description', sa.Text),
    sa.column('position', sa.Integer),
)
topic_question = sa.table(
    'topic_question',
    sa.column('id', sa.Integer),
    sa.column('topic_id', sa.Integer),
    sa.column('text', sa.Text),
    sa.column('position', sa.Integer),
)


def _catalogue() -> list[dict[str, Any]]:
    topics: list[dict[str, Any]] = json.loads(CATALOGUE.read_text(encoding='utf-8'))
    return topics


def upgrade() -> None:
    topics = _catalogue()
    op.bulk_insert(
        topic,
        [
            {
                'slug': t['slug'],
                'title': t['title'],
                'description': t['description'],
                'position': position,
            }
            for position, t in enumerate(topics, start=1)
        ],
    )
    slugs = [t['slug'] for t in topics]
    rows = op.get_bind().execute(sa.select(topic.c.slug, topic.c.id).where(topic.c.slug.in_(slugs)))
    topic_ids = dict(rows.tuples().all())
    op.bulk_insert(
        topic_question,
        [
            {'topic_id': topic_ids[t['slug']], 'text': text, 'position': position}
            for t in topics
            for position, text in enumerate(t['questions'], start=1)
        ],
    )


def downgrade() -> None:
    slugs = [t['slug'] for t in _catalogue()]
    ids = sa.select(topic.c.id).where(topic.c.slug.in_(slugs))
    op.execute(topic_question.delete().where(topic_question.c.topic_id.in_(ids)))
    op.execute(topic.delete().where(topic.c.slug.in_(slugs)))
