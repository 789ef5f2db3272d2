"""Picking catalogue questions into a meeting's agenda (no database needed)."""

from __future__ import annotations

from services.catalogue import with_questions


def test_picked_questions_join_the_agenda_once_and_bring_their_topic() -> None:
    picked = [("networking", "Who should I meet?"), ("leadership", "How do I lead?")]

    agenda, topics = with_questions("Intro\n- How do I lead?", ["networking", "my own"], picked)

    assert agenda == "Intro\n- How do I lead?\n- Who should I meet?"
    assert topics == ["networking", "my own", "leadership"]
    assert with_questions("", [], picked) == (
        "- Who should I meet?\n- How do I lead?",
        ["networking", "leadership"],
    )
    assert with_questions("Just talk", ["x"], []) == ("Just talk", ["x"])
