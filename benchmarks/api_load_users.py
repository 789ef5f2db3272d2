"""The locust users of ``benchmarks/api_load.py``: a weighted mix of what participants and
operators ask the API, each user's requests a Poisson process.

Run by ``api_load.py`` (``locust -f benchmarks/api_load_users.py --headless ...``); it reads
who may do what from the scene file named by ``MENTORFLOW_LOAD_SCENE`` (tokens, mentorship,
meeting and feedback ids the driver seeded) and the pace from ``MENTORFLOW_LOAD_PER_USER``
(requests per second per user). ``MENTORFLOW_LOAD_SKIP`` (comma-separated kinds) leaves kinds
out of the mix. Kept apart from ``api_load.py`` because importing locust patches the standard
library for gevent.

Every write keeps the data valid however often it repeats: a mentee proposes another meeting
(a new row each time), a mentee saves the draft agreement of a pair in intro again, a
participant rates a held meeting once (each from a pool, never twice), a participant marks
their notifications read.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from locust import task
from locust.contrib.fasthttp import FastHttpUser

SCENE: dict[str, Any] = json.loads(Path(os.environ["MENTORFLOW_LOAD_SCENE"]).read_text())
PER_USER = float(os.environ.get("MENTORFLOW_LOAD_PER_USER", "0.5"))
SKIP = {kind for kind in os.environ.get("MENTORFLOW_LOAD_SKIP", "").split(",") if kind}

#: Per mille of all requests: three quarters participants' reads, a fifth their writes, and
#: 4 % operators' pages (a program has thousands of participants and a handful of operators).
WEIGHTS: dict[str, int] = {
    "me": 120,
    "my mentorships": 110,
    "mentorship": 170,
    "mentorship events": 60,
    "agreement": 70,
    "meeting": 100,
    "notifications": 120,
    "propose meeting": 60,
    "save agreement draft": 60,
    "give feedback": 50,
    "mark notifications read": 40,
    "operator list page": 15,
    "operator name search": 10,
    "operator waiting-for list": 5,
    "operator overdue list": 5,
    "operator overview": 5,
}

_next_user = itertools.count()
_feedback = iter(SCENE["feedback"])
_draft_body = {
    "period_start": SCENE["today"],
    "period_end": SCENE["period_end"],
    "planned_meetings": 6,
    "contact_modes": ["video"],
    "contact_frequency": "monthly",
    "content_plan": [{"topic": "leadership", "notes": ""}],
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Participant(FastHttpUser):
    """One signed-in person of an active pair (mentees and mentors alternate), who also
    stands in for the pair's mentee, an intro pair's mentee and the operator when the
    drawn kind of request is theirs."""

    def wait_time(self) -> float:
        """Exponential gaps of mean ``1 / PER_USER``: together the users' requests arrive as
        real ones do, at random. Locust's ``constant_throughput`` kept each user on its spawn
        second's beat, so requests came in bursts of a few dozen at once every second, and at
        60 requests/s (a third of the machine) they queued for ~400 ms at the median."""
        return random.expovariate(PER_USER)

    def on_start(self) -> None:
        n = next(_next_user)
        pairs = SCENE["pairs"]
        self.pair: dict[str, Any] = pairs[n % len(pairs)]
        self.me = bearer(self.pair["mentee" if n % 2 == 0 else "mentor"])
        self.mentee = bearer(self.pair["mentee"])
        intro = SCENE["intro"][n % len(SCENE["intro"])]
        self.intro_path = f"/api/mentorships/{intro['id']}/agreement"
        self.intro_mentee = bearer(intro["mentee"])
        self.operator = bearer(SCENE["operator"])
        kinds = [kind for kind in WEIGHTS if kind not in SKIP]
        self.kinds = kinds
        self.weights = [WEIGHTS[kind] for kind in kinds]
        self.actions: dict[str, Callable[[], None]] = {
            "me": lambda: self._get("me", "/api/me", self.me),
            "my mentorships": lambda: self._get("my mentorships", "/api/mentorships", self.me),
            "mentorship": lambda: self._get("mentorship", self._pair_url(), self.me),
            "mentorship events": lambda: self._get("mentorship events", self._pair_url("/events"), self.me),
            "agreement": lambda: self._get("agreement", self._pair_url("/agreement"), self.me),
            "meeting": lambda: self._get("meeting", f"/api/meetings/{self.pair['meeting']}", self.me),
            "notifications": lambda: self._get("notifications", "/api/me/notifications", self.me),
            "propose meeting": self._propose,
            "save agreement draft": self._save_draft,
            "give feedback": self._give_feedback,
            "mark notifications read": lambda: self._post(
                "mark notifications read", "/api/me/notifications/read", self.me, None, 200
            ),
            "operator list page": lambda: self._get(
                "operator list page",
                f"/api/admin/mentorships?limit=50&offset={50 * random.randrange(20)}",
                self.operator,
            ),
            "operator name search": lambda: self._get(
                "operator name search",
                f"/api/admin/mentorships?q=mentee%20{random.randrange(10, 99)}&limit=50",
                self.operator,
            ),
            "operator waiting-for list": lambda: self._get(
                "operator waiting-for list",
                "/api/admin/mentorships?waiting_for=mentor&limit=50",
                self.operator,
            ),
            "operator overdue list": lambda: self._get(
                "operator overdue list", "/api/admin/mentorships?overdue=true&limit=50", self.operator
            ),
            "operator overview": lambda: self._get("operator overview", "/api/admin/overview", self.operator),
        }

    @task
    def one_request(self) -> None:
        """One request per pace interval, its kind drawn by weight."""
        kind = random.choices(self.kinds, weights=self.weights)[0]  # noqa: S311 - a load mix
        self.actions[kind]()

    def _pair_url(self, tail: str = "") -> str:
        return f"/api/mentorships/{self.pair['id']}{tail}"

    def _get(self, name: str, path: str, auth: dict[str, str]) -> None:
        with self.client.get(path, headers=auth, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {(response.text or '')[:200]}")

    def _post(self, name: str, path: str, auth: dict[str, str], body: object, expected: int) -> None:
        with self.client.post(path, headers=auth, json=body, name=name, catch_response=True) as response:
            if response.status_code != expected:
                response.failure(f"{response.status_code} {(response.text or '')[:200]}")

    def _propose(self) -> None:
        starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=random.randint(3, 60))
        body = {
            "starts_at": starts.isoformat(),
            "duration_minutes": 60,
            "mode": "video",
            "agenda": "Next steps",
        }
        self._post("propose meeting", self._pair_url("/meetings"), self.mentee, body, 201)

    def _save_draft(self) -> None:
        with self.client.put(
            self.intro_path,
            headers=self.intro_mentee,
            json=_draft_body,
            name="save agreement draft",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {(response.text or '')[:200]}")

    def _give_feedback(self) -> None:
        slot = next(_feedback, None)
        if slot is None:  # the pool ran dry: reported as a failure, so it is seen
            self.environment.events.request.fire(
                request_type="POST",
                name="give feedback",
                response_time=0,
                response_length=0,
                exception=RuntimeError("feedback pool exhausted: seed more with --feedback-pool"),
            )
            return
        body = {"rating": 4, "comment": "Useful, thank you."}
        self._post(
            "give feedback", f"/api/meetings/{slot['meeting']}/feedback", bearer(slot["token"]), body, 201
        )
