"""Crash safety, proven: kill the server (and its projector) with SIGKILL at random moments, and check.

    .venv/bin/python bench/crash.py [--kills 20] [--producers 4] [--batch 50] [--accounts 300] [--gap 0.5 4]

Against a fresh database on the server of DATABASE_URL (or an embedded server in a
temporary folder), it runs `cx360 serve` in a process group of its own while producers
send batches of events over HTTP. After a random pause (`--gap`, seconds) it kills the
whole group (the API and its projector process) with SIGKILL, starts it again, and so
on `--kills` times. Producers count an event acknowledged only when `recordEvents`
answered for its batch; a batch without an answer (the server died under it) is sent
again once the server is back, as a producer would. After the last restart the
producers resend what is left, the projector catches up, and the server is stopped
with SIGTERM (it must exit 0). Then it checks:

1. every acknowledged event is stored exactly once (and every event sent is stored: all
   were resent until acknowledged); each account's stream is numbered 1..n without a
   gap, and its account row counts n events;
2. the findings equal a clean `cx360 rebuild`: the live rows, then the rows after the
   command rebuilt them from the store, compared whole;
3. the views equal a clean rebuild's: a view counts days up to the instant it was
   judged, so each live view row is compared with the rebuild's judging (the same
   functions, `evaluate` and `account_view`, over the account's stored events) at that
   row's instant: every column and every part of the view, except the past points of
   the health trend, which the projector by design judges again only hourly (a late
   event shows in them within the hour, docs/operations.md); the trend's present point
   is compared. The rebuilt rows are checked the same way at their own instant.

It prints the counts and exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import httpx
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from workload import events  # noqa: E402

from projections.evaluation import evaluate, findings_then  # noqa: E402
from projections.history import history_of  # noqa: E402
from projections.thresholds import DEFAULT_THRESHOLDS  # noqa: E402
from projections.view.account import account_view  # noqa: E402
from projections.view.health import DEFAULT_WEIGHTS  # noqa: E402
from service.projection.view_store import ACCOUNT_VIEWS_TABLE, FINDINGS_TABLE, account_row, histories  # noqa: E402
from service.runtime.database import datastore_of  # noqa: E402
from service.runtime.embedded_postgres import EmbeddedPostgres  # noqa: E402
from service.settings import connection_params  # noqa: E402
from service.store.tables import ACCOUNTS_TABLE, EVENTS_TABLE  # noqa: E402

RECORD = "mutation R($events: [EventInput!]!) { recordEvents(events: $events) { accepted duplicates rejected { index } } }"
UNLIMITED = "1000000/second"  # the producers are one loopback client doing the work of many
FINDING_COLUMNS = "id, account_id, rule, key, severity, departments, evidence, detected_at, resolved_at, summary"


@dataclass
class Ledger:
    """What the producers sent, what was acknowledged, and the batches still to send."""

    run: str
    accounts: int
    batch: int
    pending: deque[list[dict[str, Any]]] = field(default_factory=deque)
    acknowledged: set[str] = field(default_factory=set)
    sent_ids: set[str] = field(default_factory=set)
    fresh: bool = True  # new batches are made until the last restart
    made: int = 0
    requests: int = 0
    unanswered: int = 0
    resent: int = 0
    duplicates: int = 0  # events reported as duplicates: stored by a request whose answer was lost
    end: datetime = field(default_factory=lambda: datetime.now(timezone.utc) - timedelta(minutes=5))

    def take(self) -> tuple[list[dict[str, Any]], bool] | None:
        """The next batch to send, and whether it is a resend; None when there is nothing left."""
        if self.pending:
            return self.pending.popleft(), True
        if not self.fresh:
            return None
        self.made += 1
        made = events(self.batch, self.accounts, seed=self.made, run=f"{self.run}-{self.made}", end=self.end, days=30,
                      account_prefix=self.run)
        self.sent_ids.update(event["id"] for event in made)
        return made, False

    def answered(self, batch: list[dict[str, Any]], payload: dict[str, Any]) -> None:
        assert payload["rejected"] == [] and payload["accepted"] + payload["duplicates"] == len(batch), payload
        self.acknowledged.update(event["id"] for event in batch)
        self.duplicates += payload["duplicates"]

    def unanswered_batch(self, batch: list[dict[str, Any]]) -> None:
        self.unanswered += 1
        self.pending.append(batch)


async def produce(base: str, ledger: Ledger, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while not stop.is_set() and (taken := ledger.take()) is not None:
            batch, again = taken
            ledger.requests += 1
            ledger.resent += again
            try:
                response = await client.post("/graphql", content=orjson.dumps({"query": RECORD, "variables": {"events": batch}}),
                                             headers={"content-type": "application/json"})
                body = response.json()
                payload = body["data"]["recordEvents"] if not body.get("errors") else None
            except (httpx.TransportError, ValueError, KeyError, TypeError):
                payload = None
            if payload is None:
                ledger.unanswered_batch(batch)
                await asyncio.sleep(0.1)
            else:
                ledger.answered(batch, payload)


class Service:
    """`cx360 serve` in a process group of its own (the API and its projector), killed or stopped as a whole."""

    def __init__(self, url: str, port: int, logs: Path) -> None:
        self.env = {**os.environ, "DATABASE_URL": url, "CX360_PORT": str(port), "CX360_VIEW_DELAY_MS": "100",
                    "CX360_RATE_LIMIT_READS": UNLIMITED, "CX360_RATE_LIMIT_WRITES": UNLIMITED}
        self.base = f"http://127.0.0.1:{port}"
        self.logs = logs
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.starts += 1
        log = (self.logs / f"serve-{self.starts}.log").open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], env=self.env, cwd=ROOT,
                                        stdout=log, stderr=log, start_new_session=True)
        async with httpx.AsyncClient(base_url=self.base, timeout=1) as client:
            for _ in range(600):
                try:
                    if (await client.post("/graphql", json={"query": "{ __typename }"})).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.process.poll() is not None:
                    raise RuntimeError(f"cx360 serve exited with {self.process.returncode}; see {log.name}")
                await asyncio.sleep(0.1)
        raise RuntimeError("cx360 serve did not answer within 60s")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)  # the API, its projector process, multiprocessing's tracker
        self.process.wait()

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)


async def crash_and_resend(service: Service, ledger: Ledger, kills: int, producers: int, gap: tuple[float, float],
                           rng: random.Random) -> None:
    stop = asyncio.Event()
    await service.start()
    tasks = [asyncio.create_task(produce(service.base, ledger, stop)) for _ in range(producers)]
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(*gap))
        service.kill()
        await service.start()
    ledger.fresh = False  # from here on, only what is not acknowledged yet
    while any(not task.done() for task in tasks) or ledger.pending:
        tasks = [task for task in tasks if not task.done()] or [asyncio.create_task(produce(service.base, ledger, stop))]
        await asyncio.wait(tasks, timeout=0.5)


def caught_up(url: str) -> bool:
    """The projector has taken in the whole log and judged every view that has come due."""
    with psycopg.connect(url) as connection:
        row = connection.execute(
            f"SELECT (SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}),"
            f" (SELECT coalesce(max(notification_id), 0) FROM cx360_view_tracking),"
            f" (SELECT count(*) FROM cx360_view_schedule WHERE due_at <= now()),"
            f" (SELECT count(*) FROM {ACCOUNTS_TABLE} a WHERE NOT EXISTS"
            f"   (SELECT 1 FROM {ACCOUNT_VIEWS_TABLE} v WHERE v.account_id = a.account_id))").fetchone()
    assert row is not None
    head, position, due, without_view = row
    return bool(head == position and due == 0 and without_view == 0)


def wait_caught_up(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not caught_up(url):
        if time.monotonic() > deadline:
            raise RuntimeError("the projector did not catch up")
        time.sleep(0.2)


def check_store(url: str, ledger: Ledger) -> list[str]:
    """Every acknowledged event stored once; every stream numbered 1..n; account rows counting them."""
    problems = []
    with psycopg.connect(url) as connection:
        rows = connection.execute(f"SELECT event_id, count(*) FROM {EVENTS_TABLE} WHERE source = 'bench'"
                                  f" AND event_id LIKE %s GROUP BY event_id", (f"{ledger.run}-%",)).fetchall()
        stored = {event_id: count for event_id, count in rows}
        twice = [event_id for event_id, count in stored.items() if count != 1]
        missing = ledger.acknowledged - set(stored)
        if twice:
            problems.append(f"{len(twice)} events stored more than once, e.g. {twice[:3]}")
        if missing:
            problems.append(f"{len(missing)} acknowledged events not stored, e.g. {sorted(missing)[:3]}")
        if set(stored) != ledger.sent_ids:
            problems.append(f"stored {len(stored)} events, sent {len(ledger.sent_ids)}")
        gaps = connection.execute(
            f"SELECT a.account_id, a.version, a.event_count, s.n, s.low, s.high FROM {ACCOUNTS_TABLE} a JOIN"
            f" (SELECT originator_id, count(*) AS n, min(originator_version) AS low, max(originator_version) AS high"
            f"  FROM {EVENTS_TABLE} GROUP BY originator_id) s ON s.originator_id = a.originator_id"
            f" WHERE NOT (s.low = 1 AND s.high = s.n AND a.version = s.n AND a.event_count = s.n)").fetchall()
        if gaps:
            problems.append(f"{len(gaps)} account streams not numbered 1..n or miscounted, e.g. {gaps[:2]}")
    return problems


def findings(url: str) -> set[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(f"SELECT {FINDING_COLUMNS} FROM {FINDINGS_TABLE}").fetchall()
    return {tuple(tuple(value) if isinstance(value, list) else value for value in row) for row in rows}


def views(url: str) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(f"SELECT account_id, name, judged_at, health, stage, open_findings, top_severity, view"
                                  f" FROM {ACCOUNT_VIEWS_TABLE}").fetchall()
    return {row[0]: comparable(row) for row in rows}


def comparable(row: Any) -> tuple[Any, ...]:
    """A view row with its view decoded, without the past points of the health trend (judged again hourly)."""
    view = orjson.loads(bytes(row[7]))
    if view.get("health"):
        view["health"]["trend"] = view["health"]["trend"][-1:]
    return (*row[:7], view)


def rejudged(url: str, rows: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """Each account's view as the rebuild judges it, from its stored events, at the instant of its row."""
    datastore = datastore_of(connection_params(url))
    try:
        with datastore.transaction(commit=False) as curs:
            stored = histories(curs, list(rows), 2**62)
    finally:
        datastore.close()
    again = {}
    for account_id, row in rows.items():
        history = history_of(account_id, stored[account_id])
        instant = row[2].astimezone(timezone.utc)  # as the projector and the rebuild judge
        judged = evaluate(history, instant, DEFAULT_THRESHOLDS)
        view = account_view(history, instant, judged.findings, DEFAULT_WEIGHTS, findings_then=findings_then(history))
        again[account_id] = comparable(account_row(view))
    return again


def differing(left: dict[str, tuple[Any, ...]], right: dict[str, tuple[Any, ...]]) -> list[str]:
    return sorted(key for key in set(left) | set(right) if left.get(key) != right.get(key))


def rebuild(url: str, logs: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "service.cli", "rebuild", "--workers", "2"], cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, timeout=600)
    (logs / "rebuild.log").write_text(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"cx360 rebuild exited with {done.returncode}: {done.stderr[-500:]}")


def check_projections(url: str, logs: Path) -> tuple[list[str], dict[str, int]]:
    live_findings, live_views = findings(url), views(url)
    problems = []
    if wrong := differing(live_views, rejudged(url, live_views)):
        problems.append(f"{len(wrong)} live views differ from the rebuild's judging at their instant, e.g. {wrong[:3]}")
    rebuild(url, logs)
    rebuilt_findings, rebuilt_views = findings(url), views(url)
    if live_findings != rebuilt_findings:
        problems.append(f"findings differ from a clean rebuild: {len(live_findings - rebuilt_findings)} only live, "
                        f"{len(rebuilt_findings - live_findings)} only rebuilt, e.g. "
                        f"{sorted(map(str, live_findings ^ rebuilt_findings))[:2]}")
    if set(live_views) != set(rebuilt_views):
        problems.append(f"views of {len(set(live_views) ^ set(rebuilt_views))} accounts only live or only rebuilt")
    if wrong := differing(rebuilt_views, rejudged(url, rebuilt_views)):
        problems.append(f"{len(wrong)} rebuilt views differ from judging at their instant, e.g. {wrong[:3]}")
    return problems, {"findings": len(live_findings), "views": len(live_views)}


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new database on DATABASE_URL's server (any database of it), or on an embedded server; dropped after."""
    server = os.environ.get("DATABASE_URL")
    embedded = None
    if not server:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="cx360-crash-")))
        server = embedded.start()
    name = f"cx360_crash_{uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        if embedded is not None:
            embedded.stop()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50, help="events per batch")
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--gap", type=float, nargs=2, default=(0.5, 4.0), metavar=("MIN", "MAX"),
                        help="seconds between the server answering and its kill, drawn uniformly")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    logs = Path(tempfile.mkdtemp(prefix="cx360-crash-logs-"))
    started = time.monotonic()
    with fresh_database() as url:
        ledger = Ledger(run=f"crash{uuid4().hex[:6]}", accounts=args.accounts, batch=args.batch)
        service = Service(url, free_port(), logs)
        try:
            asyncio.run(crash_and_resend(service, ledger, args.kills, args.producers, tuple(args.gap),
                                         random.Random(seed)))
            wait_caught_up(url)
        finally:
            code = service.stop() if service.process is not None and service.process.poll() is None else None
        problems = check_store(url, ledger)
        if code != 0:
            problems.append(f"the last server exited with {code} on SIGTERM (not 0)")
        found, counts = check_projections(url, logs)
        problems += found
    print(f"kills: {args.kills} (SIGKILL of the API and its projector), seed {seed}, {time.monotonic() - started:.0f}s")
    print(f"batches: {ledger.made} of {args.batch} events, {ledger.requests} requests, {ledger.unanswered} unanswered,"
          f" {ledger.resent} resent; {ledger.duplicates} events reported as duplicates on a resend")
    print(f"events: {len(ledger.sent_ids)} sent, {len(ledger.acknowledged)} acknowledged, stored exactly once: "
          f"{'yes' if not any('stored' in p for p in problems) else 'NO'}")
    print(f"projections: {counts['findings']} findings, {counts['views']} views; equal to a clean rebuild: "
          f"{'yes' if not any('differ' in p or 'only' in p for p in problems) else 'NO'}")
    for problem in problems:
        print(f"FAILED: {problem}")
    print(f"logs: {logs}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
