"""Benchmark: the projector's CPU per live event, and how it grows as the live traffic goes on.

    .venv/bin/python bench/live_cost.py [--preload 50000] [--accounts 1000] [--rate 2000] [--seconds 60]
                                        [--profile N]

`bench/findings.py --live` measures the lag from outside, where the API, PostgreSQL and
the load generator share the machine with the projector, and one run differs from the
next. This measures the projector alone, on a simulated clock, so that two versions of
the code compare on the same work:

It starts PostgreSQL (embedded, or the server of DATABASE_URL) with a fresh database,
runs `cx360 serve` with its projector off, preloads `--preload` events over HTTP across
`--accounts` accounts (dated over the last year) and takes them in with a projector in
this process. Then, for `--seconds` of simulated time, every 50 ms it records that tick's
share of `--rate` events per second (each dated at the simulated clock, as live traffic
is) and runs what the follower runs after a notification: one step for the new events,
then the due accounts (views `view_delay` after their events) as the follower judges them, until none is due. It prints, per 5
simulated seconds, the projector's CPU (`time.process_time`) per event, for new events
and for due views apart, and the CPU share of a core that rate would need.

With `--profile N`, it prints the N functions where the live phase spent the most
(cProfile, cumulative), then the N that spent the most in themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from findings import preload  # noqa: E402
from ingest import RECORD, fresh_database, running_service  # noqa: E402
from workload import events  # noqa: E402

from projections.thresholds import DEFAULT_THRESHOLDS  # noqa: E402
from service.projection.follower import Follower  # noqa: E402
from service.projection.projector import REFOLD_BUDGET, Projector  # noqa: E402
from service.projection.view_store import open_view_store  # noqa: E402
from service.settings import connection_params  # noqa: E402

TICK = timedelta(milliseconds=50)
WINDOW = 100  # ticks: 5 s


def record(client: httpx.Client, batch: list[dict[str, Any]]) -> None:
    response = client.post("/graphql", content=json.dumps({"query": RECORD, "variables": {"events": batch}}),
                           headers={"content-type": "application/json"})
    payload = response.json()["data"]["recordEvents"]
    assert payload["rejected"] == [], payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", type=int, default=50_000)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--port", type=int, default=8745)
    parser.add_argument("--profile", type=int, default=0, help="print this many functions of a cProfile")
    parser.add_argument("--statements", type=int, default=0,
                        help="print this many SQL statements of the live phase by wall time (with the wait for the server)")
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    per_tick = args.rate // 20
    ticks = args.seconds * 20
    with fresh_database() as url, running_service(url, args.port, projector="off") as base:
        work = events(args.preload, args.accounts, seed=1, run="pre", end=now)
        asyncio.run(preload(base, work))
        view = open_view_store(connection_params(url))
        clock = [now]
        projector = Projector(view, DEFAULT_THRESHOLDS, clock=lambda: clock[0])
        started = time.process_time()
        while projector.step():
            pass
        projector.refold_budget = REFOLD_BUDGET  # as the service's projector has it
        print(f"preload: {len(work):,} events over {args.accounts:,} accounts, taken in with "
              f"{time.process_time() - started:.1f} s of CPU")
        live = events(per_tick * ticks, args.accounts, seed=7, run="live")
        follower = Follower(projector, url, "unused")  # not started: its judging of due accounts is called here
        profile = cProfile.Profile() if args.profile else None
        if args.statements:
            timed_statements()
        new_cpu = due_cpu = 0.0
        views = 0
        refolds = projector.refolds
        print(f"{'seconds':>8} {'us/event new':>13} {'us/event due':>13} {'views/s':>8} {'cores at rate':>14} "
              f"{'facts refolded':>15}")
        with httpx.Client(base_url=base, timeout=60) as client:
            for tick in range(ticks):
                clock[0] = now + TICK * (tick + 1)
                batch = live[tick * per_tick:(tick + 1) * per_tick]
                for n, event in enumerate(batch):  # dated at the tick, in the order sent
                    event["occurredAt"] = (clock[0] - timedelta(microseconds=len(batch) - n)).isoformat()
                record(client, batch)
                if profile:
                    profile.enable()
                begun = time.process_time()
                while projector.step() >= projector.batch_size:
                    pass
                middle = time.process_time()
                while count := follower.judge_due()[0]:  # as the follower does, until no account is due
                    views += count
                ended = time.process_time()
                gc.freeze()  # as the follower does in the projector's process: no full collection of the states
                if profile:
                    profile.disable()
                new_cpu += middle - begun
                due_cpu += ended - middle
                if (tick + 1) % WINDOW == 0:
                    taken = per_tick * WINDOW
                    print(f"{(tick + 1) // 20:>8} {new_cpu / taken * 1e6:>13.0f} {due_cpu / taken * 1e6:>13.0f} "
                          f"{views / (WINDOW / 20):>8.0f} {(new_cpu + due_cpu) / (WINDOW / 20):>14.2f} {projector.refolds - refolds:>15,}")
                    new_cpu = due_cpu = 0.0
                    refolds = projector.refolds
                    views = 0
        view.datastore.close()
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
        print("by the time spent in each function itself:")
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
    if args.statements:
        events_taken = per_tick * ticks
        print(f"{'ms/s at rate':>12} {'us/event':>9} {'calls':>7}  statement")
        for text, (seconds, calls) in sorted(STATEMENTS.items(), key=lambda each: -each[1][0])[:args.statements]:
            print(f"{seconds / args.seconds * 1000:>12.1f} {seconds / events_taken * 1e6:>9.1f} {calls:>7}  {text}")


STATEMENTS: dict[str, list[float]] = {}  # statement (its first words) -> [wall seconds, calls]


def timed_statements() -> None:
    """Time every statement and COPY the projector's cursors run, from sending to the last row (server included)."""
    from contextlib import contextmanager

    from psycopg import Cursor

    def words(query: object) -> str:
        text = query.as_string(None) if hasattr(query, "as_string") else str(query)
        return " ".join(text.split())[:110]

    def count(text: str, seconds: float) -> None:
        entry = STATEMENTS.setdefault(text, [0.0, 0])
        entry[0] += seconds
        entry[1] += 1

    execute, copy = Cursor.execute, Cursor.copy

    def timed_execute(self: Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        begun = time.perf_counter()
        try:
            return execute(self, query, *args, **kwargs)
        finally:
            count(words(query), time.perf_counter() - begun)

    @contextmanager
    def timed_copy(self: Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        begun = time.perf_counter()
        try:
            with copy(self, statement, *args, **kwargs) as copying:
                yield copying
        finally:
            count(words(statement), time.perf_counter() - begun)

    Cursor.execute = timed_execute  # type: ignore[method-assign]
    Cursor.copy = timed_copy  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    main()
