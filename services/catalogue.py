"""The suggested topics and questions (shipped as data, loaded by migrations), in the
reader's language, and the ones that fit a mentorship first.

Profiles, meetings and agreements store a catalogue topic by its slug (``starting-a-business``);
people read its title in their language (``names``). A text that is no catalogue slug is a topic
someone typed, and is shown as it is.

Which topics fit a mentorship (``for_mentorship``), and why (``Topic.matches``):

    mentee_topics   the mentee chose the topic in their profile          weight 2
    mentor_topics   the mentor offers the topic in their profile         weight 2
    mentee_goals    the mentee's goals mention the topic's title         weight 1
    mentor_offer    the mentor's offer mentions the topic's title        weight 1

Topics are ordered by their summed weight, then as in the catalogue. A text mentions a title
when one of the title's words of at least 5 letters, in any language of the catalogue, begins a
word of the text with its first 6 letters ("networking" matches "network", "Bewerbungen" matches
"bewerben").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Mentorship, TopicQuestion
from models import Topic as TopicRow
from services.i18n import SOURCE_LANGUAGE

MATCH_WEIGHTS = {"mentee_topics": 2, "mentor_topics": 2, "mentee_goals": 1, "mentor_offer": 1}
STEM_LENGTH = 6
MIN_WORD_LENGTH = 5
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Question:
    id: int
    text: str


@dataclass(frozen=True)
class Topic:
    """A catalogue topic in one language; ``matches`` says why it fits a mentorship."""

    slug: str
    title: str
    description: str
    questions: tuple[Question, ...]
    matches: tuple[str, ...] = ()
    stems: frozenset[str] = frozenset()  # of its titles in every language, for matching


def _language(language: str) -> str:
    return (language or SOURCE_LANGUAGE).replace("-", "_").split("_")[0].lower()


def _words_of(row: TopicRow, language: str) -> dict[str, Any]:
    words = row.translations.get(language) if language != SOURCE_LANGUAGE else None
    return words if isinstance(words, dict) else {}


def _question(row: TopicQuestion, language: str) -> Question:
    text = row.translations.get(language) if language != SOURCE_LANGUAGE else None
    return Question(row.id, text if isinstance(text, str) and text else row.text)


def _stems(text: str) -> set[str]:
    return {w[:STEM_LENGTH] for w in _WORD.findall(text.casefold()) if len(w) >= MIN_WORD_LENGTH}


def _all_titles(row: TopicRow) -> list[str]:
    """The topic's title in every language of the catalogue."""
    translated = (w.get("title") for w in row.translations.values() if isinstance(w, dict))
    return [row.title, *(str(t) for t in translated if t)]


def _topic(row: TopicRow, language: str) -> Topic:
    words = _words_of(row, language)
    titles = _all_titles(row)
    return Topic(
        slug=row.slug,
        title=str(words.get("title") or row.title),
        description=str(words.get("description") or row.description),
        questions=tuple(_question(q, language) for q in row.questions),
        stems=frozenset(s for title in titles for s in _stems(title)),
    )


def topics(session: Session, language: str = SOURCE_LANGUAGE) -> list[Topic]:
    """The whole catalogue, in its order, in ``language`` (English where a word is missing)."""
    rows = session.scalars(select(TopicRow).order_by(TopicRow.position, TopicRow.id))
    return [_topic(row, _language(language)) for row in rows]


def titles(session: Session, language: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """Slug, and each title in any language of the catalogue → the title in ``language``
    (for ``titles.get(stored, stored)`` in templates)."""
    found: dict[str, str] = {}
    for row in session.scalars(select(TopicRow)):
        title = _topic(row, _language(language)).title
        found.update(dict.fromkeys(_all_titles(row), title))
        found[row.slug] = title
    return found


def name_of(session: Session, language: str = SOURCE_LANGUAGE) -> Callable[[str], str]:
    """How a stored topic reads in ``language``: a catalogue slug, or a catalogue title typed in
    any language (any case), by its title in ``language``; anything else as it was typed."""
    exact = titles(session, language)
    folded = {key.casefold(): title for key, title in exact.items()}

    def name(stored: str) -> str:
        key = stored.strip()
        return exact.get(key) or folded.get(key.casefold()) or stored

    return name


def names(session: Session, stored: Iterable[str], language: str = SOURCE_LANGUAGE) -> list[str]:
    """Stored topics as people read them (see ``name_of``)."""
    return [*map(name_of(session, language), stored)]


def _mentions(text: str, topic: Topic) -> bool:
    words = set(_WORD.findall(text.casefold()))
    return any(word.startswith(stem) for stem in topic.stems for word in words)


def _matches(topic: Topic, mentorship: Mentorship) -> tuple[str, ...]:
    mentee, mentor = mentorship.mentee.profile, mentorship.mentor.profile
    found = {
        "mentee_topics": mentee is not None and topic.slug in mentee.mentee_topics,
        "mentor_topics": mentor is not None and topic.slug in mentor.mentor_topics,
        "mentee_goals": mentee is not None and _mentions(mentee.mentee_goals, topic),
        "mentor_offer": mentor is not None and _mentions(mentor.mentor_offer, topic),
    }
    return tuple(reason for reason in MATCH_WEIGHTS if found[reason])


def for_mentorship(session: Session, mentorship: Mentorship, language: str = SOURCE_LANGUAGE) -> list[Topic]:
    """The catalogue with the topics that fit the pair first (see the module docstring)."""
    matched = [replace(t, matches=_matches(t, mentorship)) for t in topics(session, language)]
    weight = {t.slug: sum(MATCH_WEIGHTS[m] for m in t.matches) for t in matched}
    return sorted(matched, key=lambda t: -weight[t.slug])  # stable: catalogue order among equals


def picked_questions(
    session: Session, question_ids: Sequence[int], language: str = SOURCE_LANGUAGE
) -> list[tuple[str, str]]:
    """``(topic slug, question text)`` of the picked questions, in catalogue order."""
    if not question_ids:
        return []
    rows = session.execute(
        select(TopicRow.slug, TopicQuestion)
        .join(TopicQuestion, TopicQuestion.topic_id == TopicRow.id)
        .where(TopicQuestion.id.in_(set(question_ids)))
        .order_by(TopicRow.position, TopicQuestion.position)
    ).tuples()
    return [(slug, _question(q, _language(language)).text) for slug, q in rows]


def with_questions(
    agenda: str, topics_: Sequence[str], picked: Sequence[tuple[str, str]]
) -> tuple[str, list[str]]:
    """A meeting's agenda and topics with the picked ``(slug, question)``: each question once,
    as a list line below what was typed, and its topic among the meeting's topics."""
    lines = list(dict.fromkeys(f"- {q}" for _, q in picked if q not in agenda))
    agenda = "\n".join(part for part in (agenda.strip(), "\n".join(lines)) if part)
    return agenda, list(dict.fromkeys([*topics_, *(slug for slug, _ in picked)]))
