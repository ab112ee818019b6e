"""Benchmark: recordEvents and the bulk path (POST /events, NDJSON) over HTTP against a raw asyncpg COPY of
the same rows, in one run.

    .venv/bin/python bench/ingest.py [--events 20000] [--rounds 3] [--batch 500] [--bulk-lines 5000] [--accounts 2000] [--producers 1]

It starts PostgreSQL (embedded, or the server of DATABASE_URL) with a fresh database,
runs `cx360 serve` as a separate process, and prints:
- events/s of recordEvents in batches over HTTP (`--producers` requests at a time);
- events/s of the bulk path: the same number of other events as NDJSON bodies of `--bulk-lines` lines
  to POST /events (`--producers` requests at a time);
- events/s of asyncpg COPY of the same stored rows, in the same batches, into a table
  identical to the store's (same columns and indexes): the baseline, and the ratio;
- the time per event of each stage, measured in this process on the same batches (serially: the bulk
  path validates a transaction while the one before it is stored, so its stages overlap over HTTP):
  reading NDJSON lines (the bulk path), validation, encoding (stored events as the append's
  columns), the database (the append statement); the remainder of the HTTP time per event is HTTP and GraphQL
  (parsing, coercion, serialization), or HTTP alone for the bulk path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta, timezone  # noqa: F401
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit
from uuid import uuid4

import asyncpg
import httpx
import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.stream import recorded  # noqa: E402
from domain.validation import validate_batch  # noqa: E402
from service.producers.envelopes import ndjson_items  # noqa: E402
from service.runtime.embedded_postgres import EmbeddedPostgres  # noqa: E402
from service.settings import connection_params  # noqa: E402
from service.store.event_store import EventStore, store_env  # noqa: E402

NDJSON = {"content-type": "application/x-ndjson"}
RECORD = "mutation R($events: [EventInput!]!) { recordEvents(events: $events) { accepted duplicates rejected { index } } }"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def make_events(count: int, accounts: int, seed: int) -> list[dict[str, Any]]:
    """Realistic events of the common kinds, spread over accounts and a year."""
    rng = random.Random(seed)
    run = uuid4().hex[:8]
    kinds = [
        ("support.ticket.opened", lambda i: {"ticketId": f"T-{i}", "priority": rng.choice(["low", "normal", "high", "urgent"]), "subject": "Cannot export the quarterly report"}),
        ("marketing.campaign.sent", lambda i: {"campaignId": f"C-{i % 50}", "channel": "email", "intent": rng.choice(["nurture", "upsell", "supportive"]), "name": "Spring newsletter"}),
        ("product.usage.recorded", lambda i: {"activeUsers": rng.randint(1, 90), "seats": 100, "periodEnd": "2026-03-31"}),
        ("billing.invoice.issued", lambda i: {"invoiceId": f"I-{i}", "amount": f"{rng.randint(100, 90000)}.{rng.randint(0, 99):02d}", "currency": "EUR", "dueAt": "2026-04-30T00:00:00Z"}),
        ("sales.outreach.sent", lambda i: {"channel": "email", "intent": rng.choice(["prospecting", "follow_up", "check_in"]), "cadenceStep": 3}),
    ]
    events = []
    for i in range(count):
        event_type, data = rng.choice(kinds)
        events.append({
            "id": f"bench-{run}-{i}", "source": "bench", "type": event_type,
            "accountId": f"account-{rng.randrange(accounts)}", "contactId": f"c-{rng.randrange(20)}",
            "occurredAt": (START + timedelta(seconds=rng.randrange(365 * 86400))).isoformat(),
            "actor": "rep-114", "data": data(i),
        })
    return events


class CpuMeter:
    """CPU seconds spent meanwhile by the service's process, by PostgreSQL's (every process named postgres) and by
    this one (the client): on two cores, the write path's rate is bounded by their sum as much as by any wait."""

    def __init__(self, service_pid: int) -> None:
        self.service_pid = service_pid
        self.totals = {"service": 0.0, "PostgreSQL": 0.0, "client": 0.0}

    def read(self) -> dict[str, float]:
        def cpu(process: psutil.Process) -> float:  # with its children reaped (the backends that have exited)
            try:
                times = process.cpu_times()
                return times.user + times.system + times.children_user + times.children_system
            except psutil.Error:
                return 0.0
        postgres = sum(cpu(each) for each in psutil.process_iter(["name"]) if each.info["name"] == "postgres")
        return {"service": cpu(psutil.Process(self.service_pid)), "PostgreSQL": postgres,
                "client": cpu(psutil.Process())}

    @contextmanager
    def measuring(self) -> Iterator[None]:
        before = self.read()
        yield
        after = self.read()
        for name in self.totals:
            self.totals[name] += after[name] - before[name]


def batches(events: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [events[start : start + size] for start in range(0, len(events), size)]


@contextmanager
def fresh_database() -> Iterator[str]:
    embedded = None
    server = os.environ.get("DATABASE_URL")
    if not server:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="cx360-bench-")))
        server = embedded.start()
    name = f"cx360_bench_{uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    url = server.replace("/postgres?", f"/{name}?") if "?" in server else server.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        if embedded is not None:
            embedded.stop()


def running_service(url: str, port: int, projector: str = "process", bulk_lines: int = 5000,
                    bulk_chunk: int = 1000) -> AbstractContextManager[str]:
    env = {**os.environ, "DATABASE_URL": url, "CX360_PORT": str(port), "CX360_PROJECTOR": projector,
           "CX360_MAX_BATCH_EVENTS": str(bulk_chunk), "CX360_MAX_BODY_BYTES": str(max(8 << 20, bulk_lines * 1024)),
           # a benchmark is one client measuring the service, not its per-client limits
           "CX360_RATE_LIMIT_READS": "1000000/second", "CX360_RATE_LIMIT_WRITES": "1000000/second"}
    return running([sys.executable, "-m", "service.cli", "serve"], f"http://127.0.0.1:{port}", "/graphql",
                   {"query": "{ __typename }"}, env=env, quiet=True)


@contextmanager
def running(command: list[str], base: str, path: str, probe: dict[str, Any], env: dict[str, str] | None = None,
            quiet: bool = False) -> Iterator[str]:
    """A server process, once it answers a POST of `probe` to `path`; stopped on the way out."""
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, env=env, stdout=output, stderr=output, cwd=Path(__file__).resolve().parents[1])
    try:
        for _ in range(300):
            try:
                httpx.post(f"{base}{path}", json=probe, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


class RawClient:
    """HTTP/1.1 on one kept-alive connection, each request written whole and each answer read by its length. The
    figures are the service's: httpx spent some 10 ms of CPU on each 1.7 MB body, time the service waited for."""

    def __init__(self, base: str) -> None:
        address = urlsplit(base)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, content_type: str) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: {content_type}\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, json.loads(await self.reader.readexactly(length))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def over_http(base: str, work: list[list[dict[str, Any]]], producers: int) -> float:
    """Seconds to send every batch, `producers` requests at a time (each a producer sending in turn)."""
    bodies = [json.dumps({"query": RECORD, "variables": {"events": batch}}).encode() for batch in work]

    def check(status: int, answer: Any) -> None:
        assert status == 200 and answer.get("data"), answer
        payload = answer["data"]["recordEvents"]
        assert payload["rejected"] == [] and payload["accepted"] > 0, payload

    return await sending(base, "/graphql", "application/json", bodies, producers, check,
                         json.dumps({"query": RECORD, "variables": {"events": []}}).encode())


async def over_ndjson(base: str, work: list[list[dict[str, Any]]], producers: int) -> float:
    """Seconds to send every batch as an NDJSON body to POST /events, `producers` requests at a time."""

    def check(status: int, answer: Any) -> None:
        assert status == 200 and answer["accepted"] > 0, answer

    return await sending(base, "/events", NDJSON["content-type"], [ndjson(batch) for batch in work], producers, check,
                         b"")


async def sending(base: str, path: str, content_type: str, bodies: list[bytes], producers: int,
                  check: Callable[[int, Any], None], warm_up: bytes) -> float:
    """Seconds to POST the bodies (encoded up front: the client's JSON encoding is not the service's cost),
    `producers` at a time, each on its own connection, sending its next body when the last is answered."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    clients = [RawClient(base) for _ in range(producers)]

    async def producer(client: RawClient) -> None:
        while not queue.empty():
            check(*await client.post(path, queue.get_nowait(), content_type))

    try:
        for client in clients:
            await client.post(path, warm_up, content_type)
        started = time.perf_counter()
        await asyncio.gather(*(producer(client) for client in clients))
        return time.perf_counter() - started
    finally:
        for client in clients:
            await client.close()


def ndjson(batch: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(event).encode() + b"\n" for event in batch)


def reading(work: list[list[dict[str, Any]]]) -> tuple[float, list[list[dict[str, Any]]]]:
    """Seconds to read the NDJSON bodies of the batches back into envelopes, and the envelopes."""
    bodies = [ndjson(batch) for batch in work]
    started = time.perf_counter()
    read = [[item.envelope for item in ndjson_items(body)] for body in bodies]
    return time.perf_counter() - started, read


def stages(store: EventStore, work: list[list[dict[str, Any]]]) -> dict[str, float]:
    """Seconds spent in each stage of the write path, on the same batches, in this process: encoding is
    `EventStore.encode`, before the append; the database is the append itself."""
    spent = dict.fromkeys(("validation", "encoding", "database (the append statement)"), 0.0)
    for batch in work:
        started = time.perf_counter()
        valid, _ = validate_batch(batch)
        validated = time.perf_counter()
        encoded = store.encode(valid)
        encoded_at = time.perf_counter()
        store.indexing_recorder.append(encoded.columns, encoded.recorded_at, wait=30, budget=60)
        appended = time.perf_counter()
        spent["validation"] += validated - started
        spent["encoding"] += encoded_at - validated
        spent["database (the append statement)"] += appended - encoded_at
    return spent


class CopyBaseline:
    """asyncpg COPY of the same kind of stored rows into a table identical to the store's, batch by batch, each
    batch in a transaction; the table grows over the rounds as the store's does."""

    def __init__(self, url: str, store: EventStore) -> None:
        self.url, self.store = url, store
        self.table = f"copy_events_{uuid4().hex[:6]}"
        self.versions: dict[str, int] = {}
        self.rows = 0
        self.created = False

    async def seconds(self, work: list[list[dict[str, Any]]]) -> float:
        """Seconds to COPY the batches' stored rows (made beforehand: the client's encoding is not the cost)."""
        rows = []
        for batch in work:
            valid, _ = validate_batch(batch)
            for _, event in valid:
                self.versions[event.account_id] = version = self.versions.get(event.account_id, 0) + 1
                stored = self.store.mapper.to_stored_event(recorded(version, START, event))
                self.rows += 1
                rows.append((stored.originator_id, version, stored.topic, stored.state, self.rows,
                             event.source, event.id, event.occurred_at))
        connection = await asyncpg.connect(self.url)
        try:
            if not self.created:
                await connection.execute(f"CREATE TABLE {self.table} (LIKE cx360_events INCLUDING ALL)")
                self.created = True
            columns = ["originator_id", "originator_version", "topic", "state", "notification_id", "source",
                       "event_id", "occurred_at"]
            size = len(work[0])
            started = time.perf_counter()
            for start in range(0, len(rows), size):
                async with connection.transaction():
                    await connection.copy_records_to_table(self.table, records=rows[start : start + size],
                                                           columns=columns)
            return time.perf_counter() - started
        finally:
            await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--port", type=int, default=8391)
    parser.add_argument("--producers", type=int, default=1, help="concurrent requests (default 1: one producer)")
    parser.add_argument("--bulk-lines", type=int, default=5000, help="NDJSON lines per POST /events request")
    parser.add_argument("--bulk-chunk", type=int, default=1000,
                        help="CX360_MAX_BATCH_EVENTS of the service: the lines of one transaction of the bulk path")
    parser.add_argument("--projector", choices=("process", "thread", "off"), default="off",
                        help="CX360_PROJECTOR of the service (default off: the write path alone; with `process` "
                             "the projector judges the accounts on the same cores meanwhile)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of recordEvents, bulk and COPY, taken in turn (the machine's noise falls on all "
                             "three alike); the rates are over all rounds")
    args = parser.parse_args()
    timings: list[tuple[float, float, float]] = []
    with fresh_database() as url:
        store = EventStore(env=store_env(connection_params(url)))
        copying = CopyBaseline(url, store)
        with running_service(url, args.port, args.projector, args.bulk_lines, args.bulk_chunk) as base:
            service_pid = psutil.Process().children()[0].pid
            meters = {mode: CpuMeter(service_pid) for mode in ("recordEvents", "bulk path", "COPY")}
            for round_ in range(args.rounds):
                work = batches(make_events(args.events, args.accounts, seed=10 + round_), args.batch)
                with meters["recordEvents"].measuring():
                    http_seconds = asyncio.run(over_http(base, work, args.producers))
                bulk = batches(make_events(args.events, args.accounts, seed=20 + round_), args.bulk_lines)
                with meters["bulk path"].measuring():
                    bulk_seconds = asyncio.run(over_ndjson(base, bulk, args.producers))
                copy_work = batches(make_events(args.events, args.accounts, seed=30 + round_), args.batch)
                with meters["COPY"].measuring():
                    copy_seconds = asyncio.run(copying.seconds(copy_work))
                timings.append((http_seconds, bulk_seconds, copy_seconds))
                n = args.events
                print(f"round {round_ + 1}: recordEvents {n / http_seconds:9,.0f}  bulk {n / bulk_seconds:9,.0f}  "
                      f"COPY {n / copy_seconds:9,.0f} events/s;  ratios {copy_seconds / http_seconds:.3f}, "
                      f"{copy_seconds / bulk_seconds:.3f}")
        spent = stages(store, batches(make_events(args.events, args.accounts, seed=2), args.batch))
        read_seconds, read = reading(batches(make_events(args.events, args.accounts, seed=5), args.bulk_chunk))
        bulk_spent = {"reading NDJSON lines": read_seconds, **stages(store, read)}
        store.close()
    http_seconds, bulk_seconds, copy_seconds = (sum(each) / len(timings) for each in zip(*timings))
    n = args.events
    http_rate, bulk_rate, copy_rate = n / http_seconds, n / bulk_seconds, n / copy_seconds
    print(f"events: {n} a round, {args.rounds} rounds, in batches of {args.batch} (bulk: {args.bulk_lines} lines a request, transactions of "
          f"{args.bulk_chunk}; COPY: transactions of {args.batch}), over {args.accounts} "
          f"accounts, {args.producers} producer(s), projector {args.projector}")
    print(f"recordEvents over HTTP:           {http_rate:10,.0f} events/s")
    print(f"bulk path (POST /events NDJSON):  {bulk_rate:10,.0f} events/s")
    print(f"asyncpg COPY, same rows:          {copy_rate:10,.0f} events/s")
    print(f"ratio recordEvents / COPY:        {http_rate / copy_rate:10.3f}   (goal 0.25)")
    print(f"ratio bulk path / COPY:           {bulk_rate / copy_rate:10.3f}   (goal 0.4)")
    for title, stage_times, total, remainder in (("recordEvents", spent, http_seconds, "HTTP and GraphQL (remainder)"),
                                                 ("bulk path", bulk_spent, bulk_seconds,
                                                  "HTTP, less the overlap (remainder)")):
        print(f"time per event, by stage, {title} (µs):")
        in_process = sum(stage_times.values())
        for name, seconds in stage_times.items():
            print(f"  {name:<34}{seconds / n * 1e6:8.1f}")
        print(f"  {remainder:<34}{max(total - in_process, 0) / n * 1e6:8.1f}")
        print(f"  {'total over HTTP':<34}{total / n * 1e6:8.1f}")
    print(f"COPY per event (µs):                {copy_seconds / n * 1e6:8.1f}")
    print("CPU per event while each ran (µs; the client's includes COPY's row encoding, done before its clock starts):")
    print(f"  {'':<18}" + "".join(f"{name:>12}" for name in ("service", "PostgreSQL", "client", "all")))
    for mode, meter in meters.items():
        figures = [meter.totals[name] / (n * args.rounds) * 1e6 for name in ("service", "PostgreSQL", "client")]
        print(f"  {mode:<18}" + "".join(f"{each:12.1f}" for each in (*figures, sum(figures))))

if __name__ == "__main__":
    main()
