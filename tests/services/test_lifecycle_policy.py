"""The lifecycle policy, exhaustively: every fact × every stage × every side."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import Mentorship, Stage
from services.errors import Conflict, NotFound
from services.lifecycle import DECIDED_MOVES, FOLLOWING_MOVES, POLICY, Fact, Who, require

MENTEE, MENTOR, STRANGER = 1, 2, 3
NOW = datetime(2026, 3, 2, tzinfo=UTC)

# The table of DESIGN.md ("Facts a participant can state"), written out independently.
EXPECTED: dict[Fact, tuple[set[str], set[Stage]]] = {
    Fact.ACCEPT: ({"mentor"}, {Stage.REQUESTED}),
    Fact.DECLINE: ({"mentor"}, {Stage.REQUESTED}),
    Fact.WITHDRAW: ({"mentee"}, {Stage.REQUESTED}),
    Fact.END: ({"mentee", "mentor"}, {Stage.INTRO, Stage.ACTIVE}),
    Fact.SAVE_AGREEMENT: ({"mentee", "mentor"}, {Stage.INTRO, Stage.ACTIVE}),
    Fact.SUBMIT_AGREEMENT: ({"mentee", "mentor"}, {Stage.INTRO, Stage.ACTIVE}),
    Fact.DECIDE_AGREEMENT: ({"mentee", "mentor"}, {Stage.INTRO, Stage.ACTIVE}),
    Fact.PROPOSE_MEETING: ({"mentee"}, {Stage.INTRO, Stage.ACTIVE}),
    Fact.DECIDE_MEETING: ({"mentor"}, {Stage.INTRO, Stage.ACTIVE}),
    Fact.CANCEL_MEETING: ({"mentee", "mentor"}, {Stage.INTRO, Stage.ACTIVE}),
    Fact.RESCHEDULE_MEETING: ({"mentee", "mentor"}, {Stage.INTRO, Stage.ACTIVE}),
    Fact.ATTENDANCE: ({"mentee", "mentor"}, {Stage.INTRO, Stage.ACTIVE, Stage.CLOSING}),
    Fact.FEEDBACK: (
        {"mentee", "mentor"},
        {Stage.INTRO, Stage.ACTIVE, Stage.CLOSING, Stage.COMPLETED},
    ),
}


def mentorship_in(stage: Stage) -> Mentorship:
    return Mentorship(
        id=7,
        mentee_id=MENTEE,
        mentor_id=MENTOR,
        stage=stage.value,
        request_message="hi",
        requested_at=NOW,
        last_activity_at=NOW,
        last_seq=0,
        processed_seq=0,
        version=1,
    )


def test_policy_covers_every_fact() -> None:
    assert set(POLICY) == set(Fact) == set(EXPECTED)


CASES = [(fact, stage, side) for fact in Fact for stage in Stage for side in ("mentee", "mentor")]


@pytest.mark.parametrize(("fact", "stage", "side"), CASES, ids=lambda v: str(getattr(v, "name", v)))
def test_every_fact_in_every_stage_for_each_side(fact: Fact, stage: Stage, side: str) -> None:
    sides, stages = EXPECTED[fact]
    actor = MENTEE if side == "mentee" else MENTOR
    mentorship = mentorship_in(stage)
    if side in sides and stage in stages:
        assert require(fact, mentorship, actor) == side
        return
    with pytest.raises(Conflict) as refused:
        require(fact, mentorship, actor)
    message = str(refused.value)
    if side not in sides:
        assert message.startswith("Only the "), message
    else:
        assert f"while the mentorship is {stage.value}" in message


@pytest.mark.parametrize("fact", list(Fact))
@pytest.mark.parametrize("stage", list(Stage))
def test_a_stranger_is_told_the_mentorship_does_not_exist(fact: Fact, stage: Stage) -> None:
    with pytest.raises(NotFound):
        require(fact, mentorship_in(stage), STRANGER)


def test_stage_graph_matches_the_design() -> None:
    assert DECIDED_MOVES == {
        Fact.ACCEPT: Stage.INTRO,
        Fact.DECLINE: Stage.DECLINED,
        Fact.WITHDRAW: Stage.WITHDRAWN,
        Fact.END: Stage.ENDED,
    }
    assert FOLLOWING_MOVES == {
        Stage.INTRO: Stage.ACTIVE,
        Stage.ACTIVE: Stage.CLOSING,
        Stage.CLOSING: Stage.COMPLETED,
    }
    assert all(rule.who in Who for rule in POLICY.values())
