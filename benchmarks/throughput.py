"""Throughput: live mentorships receiving facts through the HTTP API at rising rates (issue 12).

    python -m benchmarks.throughput [--size 1000] [--rates 5,10,20,40,80] [--step-seconds 60]

The real stack as ``mentorflow up`` runs it (``benchmarks/stack.py``: Prefect server on
PostgreSQL, application database on PostgreSQL, runner, task worker, API under uvicorn, SMTP
sink), with ``up``'s Prefect settings and the reconciler at its default interval (a minute).
``--size`` mentorships are seeded as copies of a real ``active`` one (agreement approved, its
run suspended waiting for the final meeting), and each participant gets a bearer token of a
sign-in of their own (``tests.support.mint_token``: the sign-in throttle is not under test).

The load: open loop over real HTTP (httpx, async). Each step offers a fixed rate of facts for
``--step-seconds``, whatever the answers: at each arrival the next mentorship without a fact in
flight states its next fact (none free: counted as *not sent*). A mentorship goes round the
meeting work of the active stage, each fact with an ``Idempotency-Key`` (kept until the fact
is accepted, so a retry cannot state it twice) and the meeting's version as ``If-Match``:

    mentee proposes a meeting  -> mail ``meeting_proposed`` to the mentor
    mentor confirms it         -> mail ``meeting_confirmed`` (with the invite) to the mentee
    mentee cancels it          -> mail ``meeting_cancelled`` (with the cancellation) to the mentor

Each fact's mail is found in the sink by recipient, kind (``X-Mentorflow-Kind``) and the
meeting's link in the text; fact -> mail latency = its arrival in the sink minus the time the
API answered the fact. Per step: offered and accepted (2xx answered within the step) facts/s,
HTTP p50/p99 and errors by status of the facts sent in the step, fact -> mail p50/p95/max
(wherever the mail arrived, also later), mails missing at the step's end, events waiting to be
handled and mails waiting in the outbox at the step's end, and CPU seconds per second (cores)
of each part: API, task worker, runner, Prefect server (each with its process group), the
PostgreSQL backends of either database, this load generator (with the SMTP sink) and the
whole machine. After the last step: how long until every fact's mail arrived.

Baselines in the same run, same stack and size: the stack idle for one step (its background
cost: sweeps, reconciler), and ``GET /api/me`` of a random participant at the top rate
(``--read-rates``), through the same API: what the API gives a plain signed-in read.

The knee: the highest offered rate at which accepted == offered (within 2 %) and fact -> mail
p95 <= 5 s with no mail missing after the drain.

Everything this starts is stopped and both databases are dropped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import re
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import func, select

from benchmarks.machine import machine, machine_ticks
from benchmarks.stack import UP_PREFECT_ENV, Stack, drive_templates, prefect_sql, say, seed, stack
from tests.engine.harness import PG_ADMIN_URL

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MAIL_TARGET_S = 5.0
HTTP_TIMEOUT_S = 60.0
MEETING_LINK = re.compile(r"/portal/meetings/(\d+)")
API = "API (uvicorn)"
MACHINE = "machine, all processes"


@dataclass(frozen=True)
class Move:
    """One fact of the cycle: who states it and which mail it causes to the other side."""

    name: str
    actor: str  # "mentee" or "mentor"
    mail_kind: str


CYCLE = (
    Move("propose", "mentee", "meeting_proposed"),
    Move("confirm", "mentor", "meeting_confirmed"),
    Move("cancel", "mentee", "meeting_cancelled"),
)


@dataclass
class Pair:
    mentorship_id: int
    emails: dict[str, str]  # side -> email
    tokens: dict[str, str]  # side -> bearer token
    meeting_id: int = 0
    meeting_version: int = 0
    position: int = 0  # the next move in CYCLE
    key: str = ""  # Idempotency-Key of the next move, kept until it is accepted

    def other(self, side: str) -> str:
        return "mentor" if side == "mentee" else "mentee"


@dataclass
class Answer:
    step: str
    sent: float  # time.time()
    answered: float
    status: str  # HTTP status, or the exception's name
    mail: tuple[str, str, int] | None = None  # (recipient, kind, meeting id) it must cause


# --- seeding -------------------------------------------------------------------------------


def seeded_pairs(s: Stack, size: int) -> list[Pair]:
    """``size`` copies of the real ``active`` template, each participant signed in."""
    from sqlalchemy.orm import Session

    from api.tokens import sign_in
    from models import Mentorship, User
    from models.settings import get_settings

    templates = drive_templates(s)
    active = templates[1]
    began = time.monotonic()
    ids = seed(s, [active], size)
    say(f"seeded {size:,} active mentorships in {time.monotonic() - began:.0f} s")
    settings, now = get_settings(), datetime.now(UTC)
    pairs = []
    with Session(s.app) as session:  # tests.support.mint_token, in one transaction
        for m in session.scalars(select(Mentorship).where(Mentorship.id.in_(ids)).order_by(Mentorship.id)):
            users = {
                "mentee": session.get_one(User, m.mentee_id),
                "mentor": session.get_one(User, m.mentor_id),
            }
            pairs.append(
                Pair(
                    m.id,
                    {side: u.email.lower() for side, u in users.items()},
                    {side: sign_in(session, settings, u, now=now) for side, u in users.items()},
                )
            )
        session.commit()
    say(f"{2 * len(pairs):,} participants signed in")
    return pairs


# --- one fact ------------------------------------------------------------------------------------


def request_of(pair: Pair, move: Move) -> tuple[str, str, dict[str, Any] | None]:
    """Method, path and body of ``move`` for ``pair``."""
    if move.name == "propose":
        starts = datetime.now(UTC) + timedelta(days=3, minutes=random.randrange(0, 60 * 24 * 20, 15))
        body = {
            "starts_at": starts.replace(second=0, microsecond=0).isoformat(),
            "duration_minutes": 45,
            "mode": "video",
            "location": "https://meet.example.org/abc",
            "agenda": "Where we are with the plan",
            "topics": ["career"],
        }
        return "POST", f"/api/mentorships/{pair.mentorship_id}/meetings", body
    if move.name == "confirm":
        return "POST", f"/api/meetings/{pair.meeting_id}/confirm", None
    return "POST", f"/api/meetings/{pair.meeting_id}/cancel", {"reason": "Something came up"}


async def state_fact(client: httpx.AsyncClient, pair: Pair, step: str) -> Answer:
    move = CYCLE[pair.position]
    method, path, body = request_of(pair, move)
    pair.key = pair.key or uuid.uuid4().hex
    headers = {"Authorization": f"Bearer {pair.tokens[move.actor]}", "Idempotency-Key": pair.key}
    if move.name != "propose":
        headers["If-Match"] = str(pair.meeting_version)
    sent = time.time()
    try:
        answer = await client.request(method, path, json=body, headers=headers)
    except httpx.HTTPError as error:
        return Answer(step, sent, time.time(), type(error).__name__)
    done = Answer(step, sent, time.time(), str(answer.status_code))
    if answer.is_success:
        meeting = answer.json()
        pair.meeting_id, pair.meeting_version = int(meeting["id"]), int(meeting["version"])
        pair.position, pair.key = (pair.position + 1) % len(CYCLE), ""
        done.mail = (pair.emails[pair.other(move.actor)], move.mail_kind, pair.meeting_id)
    return done


async def read_me(client: httpx.AsyncClient, pair: Pair, step: str) -> Answer:
    side = random.choice(("mentee", "mentor"))
    sent = time.time()
    try:
        answer = await client.get("/api/me", headers={"Authorization": f"Bearer {pair.tokens[side]}"})
    except httpx.HTTPError as error:
        return Answer(step, sent, time.time(), type(error).__name__)
    return Answer(step, sent, time.time(), str(answer.status_code))


# --- the open loop ---------------------------------------------------------------------------------

Act = Callable[[httpx.AsyncClient, Pair, str], Awaitable[Answer]]


@dataclass
class Load:
    """The mentorships without a fact in flight, in turn, and every answer so far."""

    client: httpx.AsyncClient
    free: deque[Pair]
    answers: list[Answer] = field(default_factory=list)
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)

    async def one(self, act: Act, pair: Pair, step: str) -> None:
        try:
            self.answers.append(await act(self.client, pair, step))
        finally:
            self.free.append(pair)

    async def offer(self, act: Act, step: str, rate: float, seconds: float) -> int:
        """Start ``rate`` acts a second for ``seconds``, not waiting for answers; returns how
        many arrivals found no free mentorship."""
        began, not_sent = time.monotonic(), 0
        for n in range(round(rate * seconds)):
            await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
            if not self.free:
                not_sent += 1
                continue
            task = asyncio.create_task(self.one(act, self.free.popleft(), step))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
        await asyncio.sleep(max(0.0, began + seconds - time.monotonic()))
        return not_sent

    async def settle(self) -> None:
        if self.in_flight:
            await asyncio.gather(*list(self.in_flight))


# --- measuring -----------------------------------------------------------------------------------


def ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of a process (its reaped children included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(x) for x in fields[11:15])


def cpu_sample(s: Stack) -> dict[str, dict[int, int]]:
    """Ticks by part, by pid."""
    sample = {label: {pid: ticks(pid) for pid in p.group_members()} for label, p in s.parts.items()}
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        backends = conn.execute(
            "SELECT datname, pid FROM pg_stat_activity WHERE datname = ANY(%s)", ([s.prefect_db, s.app_db],)
        ).fetchall()
    for name, label in ((s.app_db, "PostgreSQL, app db"), (s.prefect_db, "PostgreSQL, Prefect db")):
        sample[label] = {pid: ticks(pid) for db, pid in backends if db == name}
    sample["load generator + SMTP sink"] = {os.getpid(): ticks(os.getpid())}
    busy, total = machine_ticks()
    sample[MACHINE] = {0: busy, 1: total}
    return sample


def cores(
    before: dict[str, dict[int, int]], after: dict[str, dict[int, int]], seconds: float
) -> dict[str, float]:
    """Cores each part used between two samples (a process new since ``before`` counts whole)."""
    used = {}
    for label, pids in after.items():
        if label == MACHINE:
            busy = pids[0] - before[label][0]
            used[label] = (os.cpu_count() or 1) * busy / max(1, pids[1] - before[label][1])
            continue
        spent = sum(max(0, t - before.get(label, {}).get(pid, 0)) for pid, t in pids.items())
        used[label] = spent / CLOCK_TICKS / seconds
    return used


def backlog(s: Stack) -> tuple[int, int]:
    """(events not yet handled, mails not yet sent) in the application database."""
    from models import Mentorship, OutgoingEmail

    with s.app.connect() as conn:
        events = conn.scalar(select(func.sum(Mentorship.last_seq - Mentorship.processed_seq))) or 0
        mails = conn.scalar(select(func.count()).where(OutgoingEmail.sent_at.is_(None))) or 0
    return int(events), int(mails)


class Arrivals:
    """Mails in the sink, by (recipient, kind, meeting id): when each first arrived."""

    def __init__(self, s: Stack) -> None:
        self.mailbox = s.mailbox
        self.seen = 0
        self.at: dict[tuple[str, str, int], float] = {}

    def update(self) -> None:
        count = min(len(self.mailbox.messages), len(self.mailbox.arrived))
        for message, arrived in zip(
            self.mailbox.messages[self.seen : count], self.mailbox.arrived[self.seen : count], strict=True
        ):
            key = mail_key(message)
            if key is not None:
                self.at.setdefault(key, arrived)
        self.seen = count


def mail_key(message: EmailMessage) -> tuple[str, str, int] | None:
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    link = MEETING_LINK.search(str(text))
    if link is None:
        return None
    recipient = parseaddr(str(message["To"]))[1].lower()
    return recipient, str(message["X-Mentorflow-Kind"]), int(link.group(1))


@dataclass(frozen=True)
class Handlers:
    """The ``handle-events`` task runs Prefect created in a window: how long each waited for
    the task worker (created -> start) and ran (start -> end), p50 / p95 seconds."""

    count: int
    wait_s: tuple[float, float]
    run_s: tuple[float, float]


def handlers(s: Stack, began: float, ended: float) -> Handlers:
    rows = prefect_sql(
        s,
        "SELECT extract(epoch FROM start_time - created), extract(epoch FROM end_time - start_time)"
        " FROM task_run WHERE name LIKE 'handle-events%%' AND created >= to_timestamp(%s)"
        " AND created < to_timestamp(%s) AND end_time IS NOT NULL",
        began,
        ended,
    )
    waits, runs = [float(w) for w, _ in rows], [float(r) for _, r in rows]
    return Handlers(
        len(rows),
        (percentile(waits, 50), percentile(waits, 95)),
        (percentile(runs, 50), percentile(runs, 95)),
    )


@dataclass
class Step:
    name: str
    kind: str  # "facts", "GET /api/me", "idle", "drain"
    offered: float
    seconds: float
    not_sent: int = 0
    accepted_in_step: int = 0
    cores: dict[str, float] = field(default_factory=dict)
    missing_at_end: int = 0
    waiting_events: int = 0
    waiting_mails: int = 0
    window: tuple[float, float] = (0.0, 0.0)  # time.time() at its start and end
    handlers: Handlers | None = None


async def run_step(load: Load, s: Stack, arrivals: Arrivals, step: Step, act: Act | None) -> None:
    before, began = cpu_sample(s), time.time()
    if act is None:
        await asyncio.sleep(step.seconds)
    else:
        step.not_sent = await load.offer(act, step.name, step.offered, step.seconds)
    ended = time.time()
    step.window = (began, ended)
    step.cores = cores(before, cpu_sample(s), ended - began)
    step.accepted_in_step = sum(
        1 for a in load.answers if a.status.startswith("2") and began <= a.answered < ended
    )
    arrivals.update()
    step.missing_at_end = sum(
        1 for a in load.answers if a.step == step.name and a.mail and a.mail not in arrivals.at
    )
    step.waiting_events, step.waiting_mails = backlog(s)
    say(
        f"{step.name}: {step.accepted_in_step / step.seconds:.1f}/s accepted of {step.offered:g} offered,"
        f" {step.missing_at_end} mails missing, {step.waiting_events} events waiting,"
        f" API {step.cores.get(API, 0):.2f} cores, machine {step.cores[MACHINE]:.2f}"
    )


async def drain(load: Load, s: Stack, arrivals: Arrivals, timeout: float) -> Step:
    """Wait until every accepted fact's mail arrived (or ``timeout``); the step's seconds say how long."""
    step = Step("drain", "drain", 0, 0)
    before, began = cpu_sample(s), time.time()
    await load.settle()
    while time.time() - began < timeout:
        arrivals.update()
        if all(a.mail in arrivals.at for a in load.answers if a.mail):
            break
        await asyncio.sleep(0.5)
    step.seconds = time.time() - began
    step.window = (began, time.time())
    step.cores = cores(before, cpu_sample(s), max(step.seconds, 0.1))
    step.missing_at_end = sum(1 for a in load.answers if a.mail and a.mail not in arrivals.at)
    step.waiting_events, step.waiting_mails = backlog(s)
    return step


async def drive(s: Stack, pairs: list[Pair], args: argparse.Namespace) -> tuple[list[Step], Load, Arrivals]:
    rates = [float(r) for r in args.rates.split(",")]
    read_rates = [float(r) for r in args.read_rates.split(",")] if args.read_rates else [max(rates)]
    limits = httpx.Limits(max_connections=len(pairs), max_keepalive_connections=len(pairs))
    async with httpx.AsyncClient(base_url=s.api_url, timeout=HTTP_TIMEOUT_S, limits=limits) as client:
        load, arrivals, steps = Load(client, deque(pairs)), Arrivals(s), []
        idle = Step("idle stack", "idle", 0, args.step_seconds)
        await run_step(load, s, arrivals, idle, None)
        steps.append(idle)
        for rate in read_rates:
            step = Step(f"GET /api/me at {rate:g}/s", "GET /api/me", rate, args.step_seconds)
            await run_step(load, s, arrivals, step, read_me)
            await load.settle()
            steps.append(step)
        for rate in rates:
            step = Step(f"facts at {rate:g}/s", "facts", rate, args.step_seconds)
            await run_step(load, s, arrivals, step, state_fact)
            steps.append(step)
        steps.append(await drain(load, s, arrivals, args.drain_seconds))
    for step in steps:
        step.handlers = handlers(s, *step.window)
    return steps, load, arrivals


# --- report --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(q / 100 * len(ordered))) - 1)]


@dataclass
class Row:
    step: Step
    sent: int
    accepted: int
    errors: Counter[str]
    http_ms: list[float]
    mail_s: list[float]
    never: int  # accepted facts whose mail never arrived

    @property
    def meets(self) -> bool:
        full = self.step.accepted_in_step / self.step.seconds >= 0.98 * self.step.offered
        return full and not self.never and percentile(self.mail_s, 95) <= MAIL_TARGET_S


def rows(steps: list[Step], load: Load, arrivals: Arrivals) -> list[Row]:
    out = []
    for step in steps:
        mine = [a for a in load.answers if a.step == step.name]
        mails = [a for a in mine if a.mail]
        out.append(
            Row(
                step,
                sent=len(mine),
                accepted=sum(1 for a in mine if a.status.startswith("2")),
                errors=Counter(a.status for a in mine if not a.status.startswith("2")),
                http_ms=[1000 * (a.answered - a.sent) for a in mine],
                mail_s=[arrivals.at[a.mail] - a.answered for a in mails if a.mail in arrivals.at],
                never=sum(1 for a in mails if a.mail not in arrivals.at),
            )
        )
    return out


def report(table: list[Row], arrivals: Arrivals) -> str:
    loaded = [r for r in table if r.step.kind not in ("idle", "drain")]
    lines = [
        "| step | " + " | ".join(r.step.name for r in loaded) + " |",
        "|---|" + "---:|" * len(loaded),
        cells(
            "offered / sent / not sent (no free mentorship)",
            loaded,
            lambda r: f"{r.step.offered * r.step.seconds:.0f} / {r.sent} / {r.step.not_sent}",
        ),
        cells(
            "**accepted /s** (2xx answered in the step)",
            loaded,
            lambda r: f"**{r.step.accepted_in_step / r.step.seconds:.1f}**",
        ),
        cells(
            "HTTP p50 / p99, ms",
            loaded,
            lambda r: f"{percentile(r.http_ms, 50):.0f} / {percentile(r.http_ms, 99):.0f}",
        ),
        cells(
            "errors by status",
            loaded,
            lambda r: ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())) or "0",
        ),
        cells("**fact -> mail** p50 / p95 / max, s", loaded, mail_cell),
        cells(
            "mails missing at the step's end / never",
            loaded,
            lambda r: f"{r.step.missing_at_end} / {r.never}" if r.step.kind == "facts" else "—",
        ),
        cells(
            "events waiting / mails unsent at the end",
            loaded,
            lambda r: f"{r.step.waiting_events} / {r.step.waiting_mails}",
        ),
        cells("handle-events task runs: count, wait p50 / p95, run p50 / p95, s", loaded, handler_cell),
        cells(
            "meets accepted = offered and p95 <= 5 s",
            loaded,
            lambda r: ("yes" if r.meets else "**no**") if r.step.kind == "facts" else "—",
        ),
    ]
    lines += ["", "CPU, cores (CPU seconds per second); idle stack and drain as baseline and tail", ""]
    lines += [
        "| part | " + " | ".join(f"{r.step.name} ({r.step.seconds:.0f} s)" for r in table) + " |",
        "|---|" + "---:|" * len(table),
    ]
    lines += [cpu_line(label, table) for label in table[0].step.cores]
    lines += ["", per_fact(table)]
    knee = [r.step.offered for r in loaded if r.step.kind == "facts" and r.meets]
    lines += [
        "",
        f"knee (highest rate meeting both): {max(knee):g} facts/s" if knee else "knee: no step met both",
        f"drain after the last step: {table[-1].step.seconds:.1f} s,"
        f" mails still missing: {table[-1].step.missing_at_end}, events waiting:"
        f" {table[-1].step.waiting_events}, mails unsent: {table[-1].step.waiting_mails}",
        f"mails in the sink: {len(arrivals.mailbox.messages):,}, of them the facts' own:"
        f" {sum(1 for r in table for _ in r.mail_s):,} (the rest: the actors' calendar copies)",
    ]
    return "\n".join(lines)


def per_fact(table: list[Row]) -> str:
    """CPU per accepted fact by part, over the fact steps and the drain (the work of a step's
    facts may be done in a later one), less the idle stack's CPU over the same time."""
    idle = next(r.step for r in table if r.step.kind == "idle")
    work = [r for r in table if r.step.kind in ("facts", "drain")]
    facts = sum(r.accepted for r in work)
    seconds = sum(r.step.seconds for r in work)
    spent = {
        label: sum(r.step.cores[label] * r.step.seconds for r in work) - idle.cores[label] * seconds
        for label in idle.cores
        if label != MACHINE
    }
    shown = ", ".join(f"{label} {1000 * cpu / max(facts, 1):.0f}" for label, cpu in spent.items())
    return f"CPU per accepted fact (fact steps and drain, less idle), ms: {shown}"


def cpu_line(label: str, table: list[Row]) -> str:
    return f"| {label} | " + " | ".join(f"{r.step.cores.get(label, 0):.2f}" for r in table) + " |"


def handler_cell(r: Row) -> str:
    h = r.step.handlers
    if h is None or not h.count:
        return "—"
    return f"{h.count}: {h.wait_s[0]:.2f} / {h.wait_s[1]:.2f}, {h.run_s[0]:.2f} / {h.run_s[1]:.2f}"


def mail_cell(r: Row) -> str:
    if r.step.kind != "facts":
        return "—"
    m = r.mail_s
    return f"{percentile(m, 50):.2f} / {percentile(m, 95):.2f} / {max(m, default=float('nan')):.2f}"


def cells(label: str, table: list[Row], show: Callable[[Row], str]) -> str:
    return f"| {label} | " + " | ".join(show(r) for r in table) + " |"


def run(args: argparse.Namespace) -> None:
    say(f"machine: {machine()}")
    work = Path(tempfile.mkdtemp(prefix="mentorflow-throughput-"))
    try:
        with stack(work, name="thru", reconcile_every=None, env=UP_PREFECT_ENV) as s:
            say("stack up")
            pairs = seeded_pairs(s, args.size)
            time.sleep(args.settle_seconds)
            steps, load, arrivals = asyncio.run(drive(s, pairs, args))
            print("\n" + report(rows(steps, load, arrivals), arrivals), flush=True)
    finally:
        say(f"machine after: {machine()}; logs in {work}")


def main() -> None:
    parser = argparse.ArgumentParser(description="facts/s through the API with fact -> mail p95 <= 5 s")
    parser.add_argument("--size", type=int, default=1000, help="active mentorships")
    parser.add_argument("--rates", default="5,10,20,40,80", help="offered facts/s, one step each")
    parser.add_argument("--step-seconds", type=float, default=60)
    parser.add_argument("--read-rates", default="", help="GET /api/me baseline rates (default: the top rate)")
    parser.add_argument(
        "--drain-seconds", type=float, default=300, help="longest wait for mails after the last step"
    )
    parser.add_argument("--settle-seconds", type=float, default=20, help="pause after seeding")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM too
    run(args)


if __name__ == "__main__":
    main()
