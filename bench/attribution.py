"""Benchmark: `Query.attribution` grouped by department over HTTP, against one SQL aggregate of the same rows.

    .venv/bin/python bench/attribution.py [--events 100000] [--accounts 1000] [--requests 200] [--model LINEAR]

The issue's size is `--events 1000000 --accounts 10000`; the defaults run in a few
minutes. It starts PostgreSQL (embedded, or the server of DATABASE_URL) with a fresh
database, stores the events (`bench/workload.py`: touches of every department and won
opportunities over a year), builds the views and their credit rows with `rebuild()`,
runs `cx360 serve` with the projector off, and then, for `--requests` ranges (a random
start in the year, 30 to 365 days long), one at a time:
- over HTTP: `attribution(model, from, to, groupBy: DEPARTMENT)` with every field;
- baseline, in this process: the single SQL aggregate over the same credit rows (sum and
  counts per currency and department) with asyncpg, no HTTP.
It prints p50/p95 of both and their ratio. Goal: p95 under 100 ms and under 3x the baseline.
Before the requests it prints what keeping the data-driven model costs: learning the latest
month again, its reading (no lock) and its crediting anew (under the view's write lock) apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import psycopg
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import fresh_database, running_service  # noqa: E402
from views import load, percentile  # noqa: E402

from projections.attribution.settings import DEFAULT_ATTRIBUTION  # noqa: E402
from projections.thresholds import DEFAULT_THRESHOLDS, with_attribution  # noqa: E402
from service.projection.attribution_store import AttributionTables  # noqa: E402
from service.projection.learning import month_of  # noqa: E402
from service.projection.rebuild import rebuild  # noqa: E402
from service.read.attribution import CREDITS  # noqa: E402
from service.runtime.database import datastore_of  # noqa: E402
from service.settings import connection_params  # noqa: E402

QUERY = """query ($model: AttributionModel!, $from: DateTime!, $to: DateTime!) {
  attribution(model: $model, from: $from, to: $to, groupBy: DEPARTMENT) {
    currency group unattributed amount conversions touches } }"""
BASELINE = f"""SELECT currency, department, touch_position IS NULL, sum({{model}}), count(DISTINCT conversion_position),
  count(touch_position) FROM {CREDITS} WHERE occurred_at >= $1 AND occurred_at <= $2 GROUP BY 1, 2, 3"""

Ranges = list[tuple[datetime, datetime]]


def ranges_of(count: int, now: datetime) -> Ranges:
    rng = random.Random(7)
    found = []
    for _ in range(count):
        start = now - timedelta(days=365) + timedelta(seconds=rng.randrange(335 * 86400))
        found.append((start, min(now, start + timedelta(days=rng.randrange(30, 366)))))
    return found


async def over_http(base: str, model: str, ranges: Ranges) -> list[float]:
    times = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for start, end in [ranges[0], *ranges]:  # the first, again, warms the service up
            body = json.dumps({"query": QUERY, "variables": {"model": model, "from": start.isoformat(),
                                                              "to": end.isoformat()}})
            started = time.perf_counter()
            response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
            times.append(time.perf_counter() - started)
            assert "errors" not in response.json(), response.text[:500]
    return times[1:]


async def baseline(url: str, model: str, ranges: Ranges) -> list[float]:
    column = model.lower()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    times = []
    for start, end in [ranges[0], *ranges]:
        started = time.perf_counter()
        await pool.fetch(BASELINE.format(model=column), start, end)
        times.append(time.perf_counter() - started)
    await pool.close()
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--model", nargs="+", default=["LINEAR"],
                        choices=["FIRST_TOUCH", "LAST_TOUCH", "LINEAR", "TIME_DECAY", "POSITION_BASED", "DATA_DRIVEN"],
                        help="one or more: each is timed on the same data")
    parser.add_argument("--port", type=int, default=8381)
    args = parser.parse_args()
    run = uuid4().hex[:6]
    with fresh_database() as url:
        stored = load(url, args.events, args.accounts, run)
        datastore = datastore_of(connection_params(url))
        report = rebuild(datastore, url, with_attribution(DEFAULT_THRESHOLDS, DEFAULT_ATTRIBUTION))
        datastore.close()
        credits = asyncio.run(count_rows(url))
        print(f"stored {args.events:,} events over {args.accounts:,} accounts in {stored:.0f}s; rebuilt the views "
              f"in {report.seconds:.0f}s; {credits:,} credit rows")
        reading, crediting = relearning(url)
        print(f"learning the latest month again (once a minute while it runs): reading its journeys {reading:.0f} ms "
              f"(no lock), crediting its rows anew {crediting:.0f} ms (under the view's write lock), median of 3")
        ranges = ranges_of(args.requests, datetime.now(timezone.utc))
        timed = []
        with running_service(url, args.port, "off") as base:
            for model in args.model:
                http = asyncio.run(over_http(base, model, ranges))
                timed.append((model, http, asyncio.run(baseline(url, model, ranges))))
    for model, http, sql in timed:
        for name, times in ((f"attribution({model}) over HTTP", http), ("one SQL aggregate in-process", sql)):
            print(f"{name:<40} p50 {percentile(times, 0.5) * 1000:7.1f} ms   p95 "
                  f"{percentile(times, 0.95) * 1000:7.1f} ms   mean {statistics.mean(times) * 1000:7.1f} ms")
        print(f"ratio to the SQL aggregate: p50 {percentile(http, 0.5) / percentile(sql, 0.5):.1f}x, "
              f"p95 {percentile(http, 0.95) / percentile(sql, 0.95):.1f}x (goal: p95 under 100 ms and under 3x)")


def relearning(url: str) -> tuple[float, float]:
    """Milliseconds to learn the latest month with conversions again (reading, with no lock), and to store its
    effects and credit its rows anew (under the view's write lock: what the projector's turns wait for), its
    effects dropped first so that its credit rows are all written again (`service.projection.learning`)."""
    times = []
    learning = AttributionTables("cx360_view").learning
    with psycopg.connect(url, row_factory=dict_row) as connection:
        row = connection.execute(f"SELECT max(occurred_at) AS at FROM {CREDITS}").fetchone()
        assert row is not None and row["at"] is not None
        month = month_of(row["at"])
        for _ in range(3):
            with connection.transaction(), connection.cursor() as curs:
                curs.execute("DELETE FROM cx360_view_attribution_effects WHERE month = %s", (month,))
                learning.mark(curs, [month])
                now = datetime.now(timezone.utc)
                started = time.perf_counter()
                learnt = learning.learn(curs, month, now)
                read = time.perf_counter()
                assert learnt is not None and learning.store(curs, learnt, now)
                times.append((read - started, time.perf_counter() - read))
    return statistics.median(each[0] for each in times) * 1000, statistics.median(each[1] for each in times) * 1000


async def count_rows(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {CREDITS}"))
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
