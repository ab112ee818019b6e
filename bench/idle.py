"""Benchmark: what the projector spends while no event comes, at many accounts, on a simulated clock.

    .venv/bin/python bench/idle.py [--accounts 100000] [--events 5] [--hours 2] [--across-a-week-boundary]

It starts PostgreSQL (embedded, or the server of DATABASE_URL) with a fresh database,
runs `cx360 serve` with its projector off, records `--events` events per account (a
year of the bench workload's mix), and takes them in with a projector in this process
whose clock is simulated. Then, with no new event, it moves the clock on one minute at
a time for `--hours` hours, judging every account that comes due, and prints for each
hour the CPU the projector spent and how many accounts it judged again.

Run it from an older checkout with the same arguments for the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from findings import preload  # noqa: E402
from ingest import fresh_database, running_service  # noqa: E402
from workload import events  # noqa: E402

from projections.thresholds import DEFAULT_THRESHOLDS  # noqa: E402
from projections.weeks import boundary_at_or_before  # noqa: E402
from service.projection.projector import Projector  # noqa: E402
from service.projection.view_store import open_view_store  # noqa: E402
from service.settings import connection_params  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--hours", type=int, default=2)
    parser.add_argument("--port", type=int, default=8744)
    parser.add_argument("--across-a-week-boundary", action="store_true",
                        help="start the clock 30 minutes before a week boundary (Monday 00:00 UTC): where the "
                             "health trend gains a point")
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    if args.across_a_week_boundary:
        now = boundary_at_or_before(now) - timedelta(minutes=30)
    with fresh_database() as url:
        with running_service(url, args.port, projector="off") as base:
            work = events(args.accounts * args.events, args.accounts, seed=11, run="idle", end=now)
            seconds = asyncio.run(preload(base, work))
            print(f"recorded {len(work)} events over {args.accounts} accounts in {seconds:.0f} s")
        view = open_view_store(connection_params(url))
        clock = [now]
        projector = Projector(view, DEFAULT_THRESHOLDS, batch_size=5000, clock=lambda: clock[0])
        started = time.process_time()
        while projector.step():
            pass
        print(f"took them in: {time.process_time() - started:.1f} s of CPU")
        clock[0] = now + timedelta(seconds=5)  # every view comes due once after its events
        started = time.process_time()
        judged = 0
        while count := projector.step_due(1000):
            judged += count
        print(f"first views: {judged} accounts, {time.process_time() - started:.1f} s of CPU")
        print(f"{'hour':>5} {'CPU s':>8} {'accounts judged':>16} {'CPU share of a core':>20}")
        for hour in range(args.hours):
            cpu, judged = 0.0, 0
            for minute in range(60):
                clock[0] = now + timedelta(seconds=5, hours=hour, minutes=minute + 1)
                started = time.process_time()
                while count := projector.step_due(1000):
                    judged += count
                cpu += time.process_time() - started
            print(f"{hour + 1:>5} {cpu:>8.2f} {judged:>16} {cpu / 3600:>19.2%}")
        view.datastore.close()


if __name__ == "__main__":
    main()
