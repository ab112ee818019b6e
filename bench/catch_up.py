"""Benchmark: catching up from a backlog (a projector started after the events were stored) against a rebuild.

    .venv/bin/python bench/catch_up.py [--events 150000] [--accounts 350]

It starts PostgreSQL (embedded, or the server of DATABASE_URL) with a fresh database,
runs `cx360 serve` with its projector off, records `--events` events over `--accounts`
accounts (a year of the bench workload's mix), and then, in the same run:

- catch up: a projector in this process (batches of the service's default size, its
  refold budget) takes in the whole backlog, as the service's projector does after a
  crash or a long stop, and then folds the accounts it left due on the way (the time
  to reach the position is printed too);
- rebuild: `rebuild()` of every projection from the same events.

It prints the events/s of each and their ratio. Run it from an older checkout with the
same arguments for the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from findings import preload  # noqa: E402
from ingest import fresh_database, running_service  # noqa: E402
from workload import events  # noqa: E402

from projections.attribution.settings import DEFAULT_ATTRIBUTION  # noqa: E402
from projections.thresholds import DEFAULT_THRESHOLDS, with_attribution  # noqa: E402
from service.projection.projector import REFOLD_BUDGET, Projector  # noqa: E402
from service.projection.rebuild import rebuild  # noqa: E402
from service.projection.view_store import open_view_store  # noqa: E402
from service.runtime.database import datastore_of  # noqa: E402
from service.settings import connection_params  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--accounts", type=int, default=350)
    parser.add_argument("--port", type=int, default=8745)
    parser.add_argument("--in-order", action="store_true",
                        help="send the events in occurredAt order (a backlog of live traffic), not in random order "
                             "(a backfill of history, every event late)")
    parser.add_argument("--refold-budget", type=int, default=REFOLD_BUDGET,
                        help="the refolds a step takes on before leaving accounts due, as the service's projector "
                             "(0: every late event's account waits; -1: none does, as before the budget)")
    args = parser.parse_args()
    if args.refold_budget < 0:
        args.refold_budget = None
    with fresh_database() as url:
        with running_service(url, args.port, projector="off") as base:
            work = events(args.events, args.accounts, seed=5, run="catch")
            if args.in_order:
                work.sort(key=lambda event: event["occurredAt"])
            seconds = asyncio.run(preload(base, work))
            print(f"recorded {len(work):,} events over {args.accounts} accounts in {seconds:.0f} s")
        view = open_view_store(connection_params(url))
        projector = Projector(view, DEFAULT_THRESHOLDS, batch_size=1000, refold_budget=args.refold_budget)
        started = time.perf_counter()
        while projector.step():
            pass
        reached = time.perf_counter() - started
        while projector.dirty:  # the accounts left due after a late event (`Projector.defer`), folded once each
            if not projector.step_due(100):
                raise RuntimeError(f"{len(projector.dirty)} accounts left due are due no more")
        folded = time.perf_counter() - started
        catch_up = len(work) / folded
        view.datastore.close()
        datastore = datastore_of(connection_params(url))
        report = rebuild(datastore, url, with_attribution(DEFAULT_THRESHOLDS, DEFAULT_ATTRIBUTION))
        datastore.close()
        rebuilt = report.events / report.seconds
        print(f"catch up: {catch_up:,.0f} events/s (the position reached in {reached:.1f} s, every account folded "
              f"in {folded:.1f} s; accounts left due {projector.deferred:,} times on the way); rebuild: {rebuilt:,.0f} "
              f"events/s; catch up / rebuild: {catch_up / rebuilt:.2f}")


if __name__ == "__main__":
    main()
