"""Soak: a steady mix of writes, account reads and subscriptions for minutes; throughput, p99 and memory.

    .venv/bin/python bench/soak.py [--minutes 10] [--warmup 1] [--rate 100] [--reads 20] [--subscribers 20]

Against a fresh database on the server of DATABASE_URL (or an embedded server in a
temporary folder), it runs `cx360 serve` (the API and its projector process), preloads
`--accounts` accounts, and then, for `--minutes`:

- producers send `--rate` events/s in batches of `--batch`, to the preloaded accounts
  and as many others (which take their first events in the soak's first seconds),
  dated by a simulated clock running `--days-per-second` days a second and ending at
  now (a few years of history pass during the soak, so each account's windows fill and
  then drop as much as they take in); with `--days-per-second 0`, each event is dated
  at random in the year before now, so every account's windows keep growing all soak
  long (its memory grows with the data, which is no steady state). With the clock, each
  ticket, incident, invoice and opportunity opened gets an id of its own and closes some
  days later in simulated time (resolved, resolved, paid in full, won), as real ones do
  (`--closings scheduled`, the default); `--closings random` draws closings at random, as
  the workload does elsewhere: they seldom meet an open item, which stays open for good;
- readers ask `--reads` times a second for an account with its view, findings and the
  start of its timeline (a random preloaded account);
- `--subscribers` subscriptions stay open (half to every event, half to one account's
  finding changes); every 30 s a fifth of them is closed and opened again, as clients
  come and go.

It samples the resident memory (RSS) of the API's process and of its projector process
every 10 s, and prints throughput and latency (p50, p99) of writes and reads, messages
received, errors, and the RSS at start, after `--warmup` minutes and at the end, with
the growth after warm-up (the goal: under 10%).

Windows full is not data steady: at the defaults an account takes about 60 events in
the soak (18 a simulated year), so all soak long it meets tickets, invoices, deals and
campaigns it never had (each keeps a small record: docs/operations.md), and its open
findings take more evidence; with `--closings random` it also opens tickets and
invoices that are never closed, and open items are never forgotten.
So, after the run, it folds the events stored by the end of the warm-up, and all of
them, in its own process (`held.py`), and prints the size of those states and their
live findings: what the projector rightly holds more. The projector's RSS growing as
much is the data; growing more would be something else (a leak).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import orjson
import psutil
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crash import Service, free_port, fresh_database  # noqa: E402
from held import Held, facts_of, held  # noqa: E402
from workload import CLOSING_TYPES, CLOSINGS, DATA, events  # noqa: E402

RECORD = "mutation R($events: [EventInput!]!) { recordEvents(events: $events) { accepted duplicates rejected { index } } }"
ACCOUNT = """query A($id: ID!) { account(id: $id) {
  id name health { score components { name value } } lifecycle { stage }
  findings { id rule severity summary } timeline(first: 20) { edges { node { id type occurredAt } } } } }"""
ALL_EVENTS = "subscription { events { id type accountId position } }"
FINDINGS_OF = "subscription($a: ID) { findingChanged(accountId: $a) { id rule change changePosition } }"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    count: int = 0  # events written, or reads answered
    errors: int = 0
    kinds: dict[str, int] = field(default_factory=dict)  # error messages (cut short), how many times

    def failed(self, what: str) -> None:
        self.errors += 1
        self.kinds[what[:80]] = self.kinds.get(what[:80], 0) + 1

    def line(self, what: str, unit: str, seconds: float) -> str:
        ordered = sorted(self.latencies) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        kinds = "; ".join(f"{count} x {kind}" for kind, count in sorted(self.kinds.items(), key=lambda item: -item[1]))
        return (f"{what}: {self.count / seconds:,.0f} {unit}/s, p50 {statistics.median(ordered) * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.1f} ms, {self.errors} errors" + (f" ({kinds})" if kinds else ""))


@dataclass
class Soak:
    base: str
    run: str
    accounts: int
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    writes: Tally = field(default_factory=Tally)
    reads: Tally = field(default_factory=Tally)
    messages: int = 0
    subscription_errors: int = 0
    clock: SimulatedClock | None = None  # None: writes dated at random in the last year
    closings: str = "scheduled"  # with the clock: `scheduled` (items close days after they open) or `random`
    started: float = field(default_factory=time.monotonic)
    sent: list[tuple[float, Callable[[], list[dict[str, Any]]]]] = field(default_factory=list)  # (when, its events)

    def account(self, rng: random.Random) -> str:
        return f"{self.run}-account-{rng.randrange(self.accounts)}"


async def steadily(soak: Soak, per_second: float, step: Any, in_flight: int = 16) -> None:
    """Start `step` `per_second` times a second until the soak stops, whatever its latency (an open loop, as
    clients are), with at most `in_flight` at once; a start that finds them all busy waits, and counts in the latency."""
    interval, due = 1.0 / per_second, time.monotonic()
    slots = asyncio.Semaphore(in_flight)
    running: set[asyncio.Task[None]] = set()

    async def bounded() -> None:
        async with slots:
            await step()

    while not soak.stop.is_set():
        task = asyncio.create_task(bounded())
        running.add(task)
        task.add_done_callback(running.discard)
        due += interval
        await asyncio.sleep(max(0.0, due - time.monotonic()))
    await asyncio.gather(*running)


# With the simulated clock, items open and close as real ones do (`--closings scheduled`, the default): a ticket
# is resolved, an incident resolved, an invoice paid in full and an opportunity won some days after it opens, each
# opening with an id of its own. Closings drawn at random (`--closings random`, the workload's own) seldom meet an
# open item, so open tickets, unpaid invoices and open opportunities pile up all soak long, and with them what
# the projector rightly holds (open items are never forgotten): no steady state to find a leak in.


class Lifecycles:
    """Each opening's closing, due some days later in the simulated time, sent once that time has come."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.due: list[tuple[datetime, int, dict[str, Any]]] = []  # a heap, by when the closing happens
        self.opened = 0

    def take(self, work: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """The batch with its closings drawn at random left out, each opening given an id of its own and its
        closing scheduled, and the closings due by `now` added."""
        taken = []
        for event in work:
            kind = event["type"]
            if kind in CLOSING_TYPES:
                continue
            if kind in CLOSINGS:
                closing, key, within = CLOSINGS[kind]
                self.opened += 1
                event = {**event, "data": {**event["data"], key: f"{event['data'][key]}.{self.opened}"}}
                at = datetime.fromisoformat(event["occurredAt"]) + timedelta(seconds=self.rng.randrange(3600, within * 86400))
                data = {**DATA[closing](self.rng), key: event["data"][key]}
                if kind == "billing.invoice.issued":
                    data["amount"] = event["data"]["amount"]  # paid in full
                heapq.heappush(self.due, (at, self.opened, {
                    "id": f"{event['id']}-closed", "source": "bench", "type": closing, "accountId": event["accountId"],
                    "contactId": event["contactId"], "occurredAt": at.isoformat(), "data": data}))
            taken.append(event)
        while self.due and self.due[0][0] <= now:
            taken.append(heapq.heappop(self.due)[2])
        return taken


async def produce(soak: Soak, client: httpx.AsyncClient, rate: float, batch: int, seed: int) -> None:
    made = 0
    lifecycles = Lifecycles(seed) if soak.clock is not None and soak.closings == "scheduled" else None

    async def step() -> None:
        nonlocal made
        made += 1
        new_accounts = soak.accounts * 2  # and as many new ones, which all take their first events within seconds
        end, days = (None, 365) if soak.clock is None else (soak.clock.now(), 1)  # one day of late arrivals
        work = events(batch, new_accounts, seed=seed * 1_000_000 + made, run=f"{soak.run}-w{seed}-{made}",
                      account_prefix=soak.run, end=end, days=days)
        if lifecycles is not None and end is not None:
            work = lifecycles.take(work, end)
        if not work:
            return

        def again(work: list[dict[str, Any]] = work) -> list[dict[str, Any]]:
            return work
        started = time.monotonic()
        try:
            response = await client.post("/graphql", content=orjson.dumps({"query": RECORD, "variables": {"events": work}}),
                                         headers={"content-type": "application/json"})
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            soak.writes.failed(type(error).__name__)
            return
        if "errors" in body:
            soak.writes.failed(body["errors"][0]["message"])
            return
        payload = body["data"]["recordEvents"]
        soak.writes.count += payload["accepted"] + payload["duplicates"]
        soak.sent.append((started - soak.started, again))
        soak.writes.latencies.append(time.monotonic() - started)

    await steadily(soak, rate / batch, step)


async def read(soak: Soak, client: httpx.AsyncClient, per_second: float, seed: int) -> None:
    rng = random.Random(seed)

    async def step() -> None:
        started = time.monotonic()
        try:
            body = (await client.post("/graphql", json={"query": ACCOUNT, "variables": {"id": soak.account(rng)}})).json()
        except (httpx.HTTPError, ValueError) as error:
            soak.reads.failed(type(error).__name__)
            return
        if "errors" in body:
            soak.reads.failed(body["errors"][0]["message"])
            return
        soak.reads.count += 1
        soak.reads.latencies.append(time.monotonic() - started)

    await steadily(soak, per_second, step)


async def subscribe(soak: Soak, query: str, variables: dict[str, Any], lifetime: asyncio.Event) -> None:
    """One subscription, counting its messages, until the soak stops or `lifetime` is set (a client leaving)."""
    try:
        async with connect(soak.base.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"],
                           max_size=None) as socket:
            await socket.send(json.dumps({"type": "connection_init"}))
            await socket.recv()
            await socket.send(json.dumps({"id": "1", "type": "subscribe",
                                          "payload": {"query": query, "variables": variables}}))
            while not soak.stop.is_set() and not lifetime.is_set():
                try:
                    async with asyncio.timeout(1.0):
                        message = json.loads(await socket.recv())
                except TimeoutError:
                    continue
                if message["type"] == "next":
                    soak.messages += 1
                elif message["type"] == "ping":
                    await socket.send(json.dumps({"type": "pong"}))
                elif message["type"] in ("error", "complete"):
                    soak.subscription_errors += 1
                    return
    except (OSError, ConnectionClosed):
        soak.subscription_errors += 1


async def subscribers(soak: Soak, count: int, seed: int) -> None:
    """`count` subscriptions; every 30 s a fifth of them leave and others come."""
    rng = random.Random(seed)
    live: list[tuple[asyncio.Task[None], asyncio.Event]] = []

    def open_one(n: int) -> None:
        lifetime = asyncio.Event()
        if n % 2 == 0:
            task = asyncio.create_task(subscribe(soak, ALL_EVENTS, {}, lifetime))
        else:
            task = asyncio.create_task(subscribe(soak, FINDINGS_OF, {"a": soak.account(rng)}, lifetime))
        live.append((task, lifetime))

    for n in range(count):
        open_one(n)
    while not soak.stop.is_set():
        try:
            async with asyncio.timeout(30):
                await soak.stop.wait()
        except TimeoutError:
            leaving = rng.sample(range(len(live)), max(1, len(live) // 5))
            for index in sorted(leaving, reverse=True):
                task, lifetime = live.pop(index)
                lifetime.set()
                await task
                open_one(index)
    await asyncio.gather(*(task for task, _ in live))


class Memory:
    """RSS of the API's process and of its projector process, sampled every 10 s."""

    def __init__(self, pid: int) -> None:
        self.api = psutil.Process(pid)
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, API RSS, projector RSS)
        self.started = time.monotonic()

    def projector(self) -> psutil.Process | None:
        return next((child for child in self.api.children() if "spawn_main" in " ".join(child.cmdline())), None)

    def sample(self) -> None:
        child = self.projector()
        self.samples.append((time.monotonic() - self.started, self.api.memory_info().rss,
                             child.memory_info().rss if child is not None else 0))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            try:
                async with asyncio.timeout(10):
                    await stop.wait()
            except TimeoutError:
                pass
        self.sample()

    def at(self, seconds: float) -> tuple[float, int, int]:
        return min(self.samples, key=lambda sample: abs(sample[0] - seconds))


class SimulatedClock:
    """Dates for the producers: `days_per_second` days a second, from `start` on."""

    def __init__(self, start: datetime, days_per_second: float) -> None:
        self.start, self.days_per_second, self.started = start, days_per_second, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(days=(time.monotonic() - self.started) * self.days_per_second)


async def preload(base: str, work: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for start in range(0, len(work), 500):
            body = (await client.post("/graphql", json={"query": RECORD, "variables": {"events": work[start:start + 500]}})).json()
            assert "errors" not in body, body


async def soak_for(service: Service, args: argparse.Namespace) -> tuple[Soak, Memory, float]:
    run = f"soak{uuid4().hex[:6]}"
    span = timedelta(days=args.days_per_second * args.minutes * 60)
    start = datetime.now(timezone.utc) - span
    preloaded = partial(events, args.accounts * args.per_account, args.accounts, seed=1, run=f"{run}-pre",
                        account_prefix=run, end=start if args.days_per_second else None)
    await preload(service.base, preloaded())
    assert service.process is not None
    soak = Soak(service.base, run, args.accounts)
    soak.sent.append((0.0, preloaded))
    if args.days_per_second:
        print(f"simulated clock: {args.days_per_second:g} days a second, from {start:%Y-%m-%d} to now")
        soak.clock = SimulatedClock(start, args.days_per_second)
        soak.closings = args.closings
        print(f"closings: {args.closings}")
    memory = Memory(service.process.pid)
    soak.started = memory.started
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=service.base, timeout=60, limits=limits) as client:
        producers = max(1, args.rate // 500)
        tasks = [asyncio.create_task(memory.run(soak.stop)),
                 asyncio.create_task(subscribers(soak, args.subscribers, seed=7))]
        tasks += [asyncio.create_task(produce(soak, client, args.rate / producers, args.batch, seed=n + 1))
                  for n in range(producers)]
        readers = max(1, int(args.reads // 10))
        tasks += [asyncio.create_task(read(soak, client, args.reads / readers, seed=100 + n)) for n in range(readers)]
        started = time.monotonic()
        await asyncio.sleep(args.minutes * 60)
        soak.stop.set()
        await asyncio.gather(*tasks)
        return soak, memory, time.monotonic() - started


def megabytes(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


def report(soak: Soak, memory: Memory, seconds: float, warmup: float) -> None:
    print(f"soak: {seconds / 60:.1f} minutes, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(soak.writes.line("writes", "events", seconds) + f" ({len(soak.writes.latencies):,} batches)")
    print(soak.reads.line("account reads", "requests", seconds))
    print(f"subscriptions: {soak.messages / seconds:,.0f} messages/s received, {soak.subscription_errors} errors")
    minutes = [memory.at(60 * minute) for minute in range(int(memory.samples[-1][0] // 60) + 1)]
    for name, index in (("API", 1), ("projector", 2)):
        print(f"RSS {name} by minute (MB): {', '.join(f'{sample[index] / 2**20:.0f}' for sample in minutes)}")
    first, warm, last = memory.samples[0], memory.at(warmup), memory.samples[-1]
    for name, index in (("API", 1), ("projector", 2)):
        growth = (last[index] - warm[index]) / warm[index] * 100 if warm[index] else float("nan")
        print(f"RSS {name}: start {megabytes(first[index])}, after warm-up ({warm[0] / 60:.0f} min) "
              f"{megabytes(warm[index])}, end {megabytes(last[index])}: {growth:+.1f}% after warm-up")
    before, after = data_held(soak, warm[0])
    print(f"data held (the events stored by then, folded in this process: states and live findings): after warm-up "
          f"{before.line()}, end {after.line()}: {(after.size - before.size) / before.size * 100:+.1f}% after warm-up")


def data_held(soak: Soak, warm: float) -> tuple[Held, Held]:
    """What the projector rightly holds after warm-up and at the end: the events written by then, folded here.

    The projector's RSS growing as much as this is the data growing; more is something else.
    """
    sent = [(when, facts_of(again())) for when, again in soak.sent]
    by_warmup = [fact for when, facts in sent if when <= warm for fact in facts]
    every = [fact for _, facts in sent for fact in facts]
    return (held(by_warmup, max(fact.occurred_at for _, fact in by_warmup)),
            held(every, max(fact.occurred_at for _, fact in every)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=None,
                        help="minutes before the memory baseline (default: a simulated year and a minute, or 1)")
    parser.add_argument("--days-per-second", type=float, default=2.0,
                        help="how fast the producers' simulated clock runs (0: events dated at random in the last year)")
    parser.add_argument("--closings", choices=("scheduled", "random"), default="scheduled",
                        help="with the simulated clock: each ticket, incident, invoice and opportunity closes days "
                             "after it opens (scheduled), or closings are drawn at random and seldom meet an open "
                             "item, which then stays open for good (random, as before)")
    parser.add_argument("--rate", type=int, default=100, help="events written per second")
    parser.add_argument("--batch", type=int, default=20, help="events per recordEvents call")
    parser.add_argument("--reads", type=float, default=20.0, help="account reads per second")
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--per-account", type=int, default=20, help="events preloaded per account")
    args = parser.parse_args()
    if args.days_per_second < 0:
        parser.error("--days-per-second: must not be negative")
    warmup = args.warmup if args.warmup is not None else (
        365 / args.days_per_second / 60 + 1 if args.days_per_second else 1.0)
    if warmup >= args.minutes:
        parser.error(f"--warmup: {warmup:.1f} minutes leaves nothing of a {args.minutes:g}-minute soak to measure")
    logs = Path(tempfile.mkdtemp(prefix="cx360-soak-logs-"))
    with fresh_database() as url:
        service = Service(url, free_port(), logs)
        asyncio.run(service.start())
        try:
            soak, memory, seconds = asyncio.run(soak_for(service, args))
        finally:
            code = service.stop()
    report(soak, memory, seconds, warmup * 60)
    print(f"server exit code on SIGTERM: {code}; logs: {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
