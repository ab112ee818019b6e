"""Benchmark: projection lag at a sustained event rate, and full rebuild against the pure fold.

    .venv/bin/python bench/findings.py [--preload 100000] [--accounts 1000] [--rate 2000] [--seconds 20]

It starts PostgreSQL (embedded, or the server of DATABASE_URL) with a fresh database,
runs `cx360 serve` as a separate process, preloads `--preload` events over HTTP across
`--accounts` accounts, waits for the projector to catch up, and then measures:

1. Lag: producers send `--rate` events/s (batches every 50 ms to the preloaded accounts,
   each with one probe: an urgent ticket and a renewal outreach on a new account, which
   makes one finding). Lag = from `recordEvents` returning to the probe's finding row
   being readable (polled every 2 ms through asyncpg). p50/p99/max.
2. Rebuild: `rebuild()` of every projection from the store, with the service running,
   in events/s; and in the same run, the pure fold (the same histories judged in
   memory, no database) as the baseline, and the ratio of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import RECORD, fresh_database, running_service  # noqa: E402
from workload import events  # noqa: E402

from projections.attribution.settings import DEFAULT_ATTRIBUTION  # noqa: E402
from projections.facts import fact_from_stored  # noqa: E402
from projections.thresholds import DEFAULT_THRESHOLDS, with_attribution  # noqa: E402
from projections.view.health import DEFAULT_WEIGHTS  # noqa: E402
from service.projection.projector import judged_from_start  # noqa: E402
from service.projection.rebuild import rebuild  # noqa: E402
from service.runtime.database import datastore_of  # noqa: E402
from service.settings import connection_params  # noqa: E402


async def send(client: httpx.AsyncClient, batch: list[dict[str, Any]]) -> float:
    body = json.dumps({"query": RECORD, "variables": {"events": batch}})
    response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
    payload = response.json()["data"]["recordEvents"]
    assert payload["rejected"] == [], payload
    return time.perf_counter()


async def preload(base: str, work: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for start in range(0, len(work), 500):
            await send(client, work[start : start + 500])
    return time.perf_counter() - started


async def caught_up(pool: asyncpg.Pool, timeout: float = 600) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        last = await pool.fetchval("SELECT coalesce(max(notification_id), 0) FROM cx360_events")
        done = await pool.fetchval("SELECT coalesce(max(notification_id), 0) FROM cx360_view_tracking")
        if done >= last:
            return time.perf_counter() - started
        await asyncio.sleep(0.05)
    raise TimeoutError("the projector did not catch up")


def probe(account: str) -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc)
    return [
        {"id": f"{account}-t", "source": "probe", "type": "support.ticket.opened", "accountId": account,
         "occurredAt": (now - timedelta(days=2)).isoformat(), "data": {"ticketId": "T-1", "priority": "urgent"}},
        {"id": f"{account}-o", "source": "probe", "type": "sales.outreach.sent", "accountId": account,
         "occurredAt": (now - timedelta(days=1)).isoformat(), "data": {"channel": "email", "intent": "renewal"}},
    ]


async def lag(base: str, pool: asyncpg.Pool, rate: int, seconds: float, accounts: int, run: str,
              live: bool = False) -> tuple[list[float], float]:
    """Send at `rate` for `seconds`; return each probe's lag (seconds) and the rate achieved."""
    per_tick = max(1, rate // 20 - 2)
    load = events(int(rate * seconds) + per_tick, accounts, seed=7, run=run + "-live")
    returned: dict[str, float] = {}
    seen: dict[str, float] = {}
    sending = True

    async def watch() -> None:
        while sending or len(seen) < len(returned):
            pending = [account for account in returned if account not in seen]
            if pending:
                rows = await pool.fetch("SELECT DISTINCT account_id FROM cx360_view_findings WHERE account_id = ANY($1)", pending)
                now = time.perf_counter()
                for row in rows:
                    seen[row["account_id"]] = now
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    sent = 0
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for tick in range(int(seconds * 20)):
            await asyncio.sleep(max(0.0, started + tick * 0.05 - time.perf_counter()))
            account = f"{run}-probe-{tick}"
            batch = load[tick * per_tick : (tick + 1) * per_tick] + probe(account)
            if live:  # live traffic: each event happened just now, in the order sent
                stamp = datetime.now(timezone.utc)
                for n, event in enumerate(batch[:-2]):
                    event["occurredAt"] = (stamp - timedelta(microseconds=len(batch) - n)).isoformat()
            returned[account] = await send(client, batch)
            sent += len(batch)
    elapsed = time.perf_counter() - started
    sending = False
    await asyncio.wait_for(watcher, 60)
    return [seen[account] - returned[account] for account in returned], sent / elapsed


DUE_SAMPLES: list[tuple[int, float]] = []


async def due_views(pool: asyncpg.Pool) -> None:
    """Every WINDOW seconds: how many accounts are due (their view, or findings that change with time) and not
    judged yet, and how long the longest has waited: the views a busy projector leaves behind."""
    while True:
        await asyncio.sleep(WINDOW)
        row = await pool.fetchrow("SELECT count(*) AS due, coalesce(extract(epoch FROM now() - min(due_at)), 0) AS waited"
                                  " FROM cx360_view_schedule WHERE due_at <= now()")
        DUE_SAMPLES.append((row["due"], float(row["waited"])))


def pure_fold(url: str) -> tuple[int, float]:
    """Every account's findings and view judged in memory; the histories are read first (not timed)."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT notification_id, topic, state, occurred_at FROM cx360_events", binary=True).fetchall()
    by_account: dict[str, list[Any]] = {}
    for notification_id, topic, state, occurred_at in rows:
        fact, account_id = fact_from_stored(notification_id, topic, state, occurred_at)
        by_account.setdefault(account_id, []).append(fact)
    count = len(rows)
    del rows
    gc.collect()
    gc.freeze()
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    for account_id, facts in by_account.items():  # what a rebuild computes: states, checkpoints, findings, views
        judged_from_start(account_id, facts, now, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS)
    return count, time.perf_counter() - started


def projector_rss() -> int:
    """Resident bytes of the service's projector process."""
    for child in psutil.Process().children(recursive=True):
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                return int(child.memory_info().rss)
        except psutil.NoSuchProcess:
            continue
    return 0


def projector_cpu() -> float:
    """CPU seconds (user and system) spent so far by the service's projector process (a spawned child)."""
    spent = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                times = child.cpu_times()
                spent += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return spent


FIRST_SECONDS = 5  # the lag is also printed without the probes of these first seconds of live traffic
WINDOW = 5  # and its median over each stretch of this many seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8361)
    parser.add_argument("--live", action="store_true", help="send live traffic (each event dated when sent), not "
                        "events dated at random over the last year (every one late: a backfill)")
    parser.add_argument("--repeat", type=int, default=3, help="rebuilds and pure folds to take the median of")
    parser.add_argument("--profile", action="store_true", help="print where the rebuild spends its time")
    args = parser.parse_args()
    run = uuid4().hex[:6]
    with fresh_database() as url, running_service(url, args.port) as base:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        work = events(args.preload, args.accounts, seed=1, run=run)
        seconds = await preload(base, work)
        print(f"preload: {len(work):,} events over {args.accounts:,} accounts in {seconds:.1f}s; "
              f"projector caught up {await caught_up(pool):.1f}s later")
        cpu, wall = projector_cpu(), time.perf_counter()
        sampling = asyncio.create_task(due_views(pool))
        lags, achieved = await lag(base, pool, args.rate, args.seconds, args.accounts, run, args.live)
        sampling.cancel()
        await asyncio.gather(sampling, return_exceptions=True)
        cores = (projector_cpu() - cpu) / (time.perf_counter() - wall)
        print(f"lag at {achieved:,.0f} events/s for {args.seconds:.0f}s ({len(lags)} probes): "
              f"p50 {percentile(lags, 0.5) * 1000:.0f} ms, p99 {percentile(lags, 0.99) * 1000:.0f} ms, "
              f"max {max(lags) * 1000:.0f} ms, mean {statistics.mean(lags) * 1000:.0f} ms; "
              f"projector CPU {cores:.2f} of a core")
        later = lags[FIRST_SECONDS * 20:]  # probes go every 50 ms, in order
        if later:  # live, the first seconds carry every account's first event of the week if a boundary fell since
            print(f"  after the first {FIRST_SECONDS} s ({len(later)} probes): p50 {percentile(later, 0.5) * 1000:.0f} ms, "
                  f"p99 {percentile(later, 0.99) * 1000:.0f} ms, max {max(later) * 1000:.0f} ms")
        windows = [lags[start:start + WINDOW * 20] for start in range(0, len(lags), WINDOW * 20)]
        print(f"  p50 of each {WINDOW} s, in ms (growing: the projector falls behind): "
              + " ".join(f"{percentile(window, 0.5) * 1000:.0f}" for window in windows))
        print(f"  projector resident memory at the end: {projector_rss() / 2**20:.0f} MiB")
        print(f"  accounts due and not judged yet, every {WINDOW} s (the longest waiting, s): " + " ".join(
            f"{count}({waited:.1f})" for count, waited in DUE_SAMPLES))
        await caught_up(pool)
        await pool.close()
        del work
        gc.collect()
        gc.freeze()  # the benchmark's own objects are not the rebuild's to scan
        datastore = datastore_of(connection_params(url))
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        rebuild_rates, fold_rates = [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine
            report = rebuild(datastore, url, with_attribution(DEFAULT_THRESHOLDS, DEFAULT_ATTRIBUTION))
            rebuild_rates.append(report.events / report.seconds)
            folded, fold_seconds = pure_fold(url)
            fold_rates.append(folded / fold_seconds)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        datastore.close()
        rebuild_rate, fold_rate = statistics.median(rebuild_rates), statistics.median(fold_rates)
        print(f"rebuild: {report.events:,} events, {report.accounts:,} accounts, {report.findings:,} findings; "
              f"median of {args.repeat}: {rebuild_rate:,.0f} events/s (runs: {', '.join(f'{r:,.0f}' for r in rebuild_rates)})")
        print(f"pure fold (baseline, no database): median {fold_rate:,.0f} events/s "
              f"(runs: {', '.join(f'{r:,.0f}' for r in fold_rates)})")
        print(f"ratio rebuild / pure fold: {rebuild_rate / fold_rate:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
