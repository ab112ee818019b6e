"""Benchmark: the `account` query with its whole view over HTTP, against a bare asyncpg read of the same rows.

    .venv/bin/python bench/views.py [--events 1000000] [--accounts 10000] [--requests 500]

It starts PostgreSQL (embedded, or the server of DATABASE_URL) with a fresh database,
stores `--events` events over `--accounts` accounts straight into the event store,
builds the views with `rebuild()` (timed: that is also a rebuild at this size), runs
`cx360 serve` with the projector off, and then, for `--requests` random accounts, one
at a time:
- over HTTP: `account(id)` with its departments, health, lifecycle, satisfaction, agent
  context, findings with evidence, and `timeline(first: 50)`;
- bare endpoint (`bench/bare_endpoint.py`, the goal's baseline): the same rows (the view
  row, the open findings, their evidence events, 50 timeline events) read with asyncpg
  and encoded with orjson by a plain ASGI endpoint on uvicorn, asked with the same HTTP
  client, so both sides pay the same HTTP;
- bare in-process: the same reads with no HTTP at all, for reference.
It asks for the same accounts a second time (unchanged: the response cache answers), then
as of 30 days ago (computed from each account's events up to then),
and prints p50/p95 of each and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bare_endpoint import read_account  # noqa: E402
from ingest import fresh_database, running, running_service  # noqa: E402
from workload import events  # noqa: E402

from domain.validation import validate_batch  # noqa: E402
from projections.attribution.settings import DEFAULT_ATTRIBUTION  # noqa: E402
from projections.thresholds import DEFAULT_THRESHOLDS, with_attribution  # noqa: E402
from service.projection.rebuild import rebuild  # noqa: E402
from service.runtime.database import datastore_of  # noqa: E402
from service.settings import connection_params  # noqa: E402
from service.store.event_store import EventStore, store_env  # noqa: E402

QUERY = """
query($id: ID!) {
  account(id: $id) {
    id name viewedAt
    departments { department lastTouchAt lastTouchType events { last7Days last30Days last90Days }
                  outboundTouches { last7Days last30Days last90Days }
                  openItems { kind id since summary priority amount currency daysOverdue contactId } }
    health { score components { name value weight explanation } trend { at score } }
    lifecycle { stage since reason }
    satisfaction { nps responses promoters passives detractors csatAverage csatResponses detractorsNotFollowedUp
                   latestNps { contactId score respondedAt } }
    agentContext { billingStanding donts { text reason } openSeriousTickets { id summary }
                   thisWeek { department type occurredAt } openFindings { id rule severity summary } }
    findings { id rule severity departments summary detectedAt resolvedAt evidence { id type occurredAt position } }
    timeline(first: 50) { edges { cursor node { id source type department accountId contactId occurredAt
                                                 recordedAt position actor data } } }
  }
}"""

AS_OF_QUERY = QUERY.replace("query($id: ID!)", "query($id: ID!, $asOf: DateTime!)").replace(
    "account(id: $id)", "account(id: $id, asOf: $asOf)")
AS_OF_DAYS = 30  # asOf this many days ago: most of each account's year of events


def load(url: str, count: int, accounts: int, run: str) -> float:
    store = EventStore(env=store_env(connection_params(url)))
    started = time.perf_counter()
    chunk = 20_000
    for n in range(0, count, chunk):
        batch = events(min(chunk, count - n), accounts, seed=n, run=f"{run}-{n}", account_prefix=run)
        for start in range(0, len(batch), 1000):
            valid, rejected = validate_batch(batch[start : start + 1000])
            assert not rejected, rejected[:2]
            store.record(valid)
        print(f"\rstored {n + len(batch):,}/{count:,} events", end="", file=sys.stderr)
    store.close()
    print(file=sys.stderr)
    return time.perf_counter() - started


async def over_http(base: str, ids: list[str], as_of: str | None = None) -> list[float]:
    query, extra = (QUERY, {}) if as_of is None else (AS_OF_QUERY, {"asOf": as_of})
    times = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await client.post("/graphql", json={"query": query, "variables": {"id": "warm-up", **extra}})
        for account_id in ids:
            body = json.dumps({"query": query, "variables": {"id": account_id, **extra}})
            started = time.perf_counter()
            response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
            times.append(time.perf_counter() - started)
            assert "errors" not in response.json(), response.text[:500]
    return times


async def bare(url: str, ids: list[str]) -> list[float]:
    """The same rows read in this process, no HTTP at all: the floor of the floor."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    times = []
    for account_id in ids:
        started = time.perf_counter()
        async with pool.acquire() as connection:
            await read_account(connection, account_id)
        times.append(time.perf_counter() - started)
    await pool.close()
    return times


async def bare_over_http(base: str, ids: list[str]) -> list[float]:
    times = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await client.post("/", json={"id": "warm-up"})
        for account_id in ids:
            body = json.dumps({"id": account_id})
            started = time.perf_counter()
            response = await client.post("/", content=body, headers={"content-type": "application/json"})
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:500]
    return times


def bare_endpoint(url: str, port: int) -> AbstractContextManager[str]:
    return running([sys.executable, str(Path(__file__).with_name("bare_endpoint.py")), "--dsn", url, "--port", str(port)],
                   f"http://127.0.0.1:{port}", "/", {"id": "warm-up"})


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--port", type=int, default=8371)
    args = parser.parse_args()
    run = uuid4().hex[:6]
    with fresh_database() as url:
        stored = load(url, args.events, args.accounts, run)
        datastore = datastore_of(connection_params(url))
        report = rebuild(datastore, url, with_attribution(DEFAULT_THRESHOLDS, DEFAULT_ATTRIBUTION))
        datastore.close()
        print(f"stored {args.events:,} events over {args.accounts:,} accounts in {stored:.0f}s; rebuilt the views "
              f"({report.findings:,} findings) in {report.seconds:.0f}s = {report.events / report.seconds:,.0f} events/s")
        rng = random.Random(7)
        # distinct accounts where there are enough: a repeat would be answered by the response cache, not asked first
        picked = rng.sample(range(args.accounts), args.requests) if args.requests <= args.accounts else \
            [rng.randrange(args.accounts) for _ in range(args.requests)]
        ids = [f"{run}-account-{n}" for n in picked]
        with running_service(url, args.port, "off") as base:
            http = asyncio.run(over_http(base, ids))
            again = asyncio.run(over_http(base, ids))  # the same accounts, unchanged: the response cache
            past = (datetime.now(timezone.utc) - timedelta(days=AS_OF_DAYS)).isoformat()
            as_of = asyncio.run(over_http(base, ids, past))
        with bare_endpoint(url, args.port + 1) as base:
            endpoint = asyncio.run(bare_over_http(base, ids))
        direct = asyncio.run(bare(url, ids))
    for name, times in (("account query over HTTP", http), ("  asked again, unchanged", again),
                        (f"  asOf {AS_OF_DAYS} days ago", as_of),
                        ("bare endpoint over HTTP", endpoint), ("bare read in-process", direct)):
        print(f"{name:<26} p50 {percentile(times, 0.5) * 1000:6.1f} ms   p95 {percentile(times, 0.95) * 1000:6.1f} ms"
              f"   mean {statistics.mean(times) * 1000:6.1f} ms")
    for baseline, base_times in (("bare endpoint", endpoint), ("bare in-process read", direct)):
        for name, times in (("first ask", http), ("asked again", again)):
            print(f"ratio to the {baseline}, {name}: p50 {percentile(times, 0.5) / percentile(base_times, 0.5):.1f}x, "
                  f"p95 {percentile(times, 0.95) / percentile(base_times, 0.95):.1f}x")
    print(f"asOf to the live first ask: p50 {percentile(as_of, 0.5) / percentile(http, 0.5):.1f}x, "
          f"p95 {percentile(as_of, 0.95) / percentile(http, 0.95):.1f}x")


if __name__ == "__main__":
    main()
