"""Benchmark: what an `asOf` costs today, and what serving every `asOf` from stored rows would cost.

    .venv/bin/python bench/as_of_cost.py [--sizes 100 300 1000] [--accounts 5]

No database: pure functions on generated accounts of each size (a year of the bench
workload's events). For each size it prints medians over `--accounts` accounts of:
- asOf now: the CPU an `account(asOf: T)` spends once its events are read, that is the
  rules judged at T and the view computed at T (T = 30 days ago);
- live judging: the rules judged as of now after one more event, reusing the judgement
  before it (`evaluate(previous=...)`), as the projector does per batch (the mean over
  the account's last 10 events);
- versions: the rules judged at every change point of the account's history (each
  event's time and each deadline, up to now), each from the events up to then and
  reusing what cannot have changed, as the projector would. Rows that answer any T exactly (`rules.md`, law 2)
  need the finding set of every change point: this is what a rebuild would pay to
  write them, with today's rules; it grows with the square of the history.
It also prints how many change points and distinct finding sets an account has.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import ParamSpec, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workload import events  # noqa: E402

from domain.validation import validate_batch  # noqa: E402
from projections.evaluation import Judgement, evaluate  # noqa: E402
from projections.facts import Fact  # noqa: E402
from projections.history import History, history_of  # noqa: E402
from projections.thresholds import DEFAULT_THRESHOLDS  # noqa: E402
from projections.view.account import account_view  # noqa: E402

P = ParamSpec("P")
T = TypeVar("T")


def account(size: int, seed: int, now: datetime) -> History:
    valid, rejected = validate_batch(events(size, 1, seed=seed, run=f"a{seed}", end=now))
    assert not rejected, rejected[:2]
    facts = [Fact(position=n + 1, type=each.type, occurred_at=each.occurred_at, source=each.source,
                  event_id=each.id, contact_id=each.contact_id, data=each.data) for n, (_, each) in enumerate(valid)]
    return history_of(valid[0][1].account_id, facts)


def as_of_now(history: History, moment: datetime) -> None:
    findings = evaluate(history, moment, DEFAULT_THRESHOLDS).findings
    account_view(history, moment, findings)


def last_events(history: History, now: datetime, count: int) -> None:
    """Judge as of now after each of the last `count` events, as the projector does per batch."""
    start = len(history.facts) - count
    judged = evaluate(History(history.account_id, history.facts[:start]), now, DEFAULT_THRESHOLDS)
    for end in range(start + 1, len(history.facts) + 1):
        judged = evaluate(History(history.account_id, history.facts[:end]), now, DEFAULT_THRESHOLDS,
                          previous=judged, new_types={history.facts[end - 1].type})


def versions(history: History, now: datetime) -> tuple[int, int]:
    """Judge at every change point up to now; return (change points, distinct finding sets).

    Each point is judged from the events up to it (so its judgement can be reused at the
    next point), and the next point is the next event's time or the next deadline.
    """
    times = [fact.occurred_at for fact in history.facts]
    last = times[0]
    point: datetime | None = last
    previous: Judgement | None = None
    points, sets = 0, set()
    while point is not None and point <= now:
        known = bisect_right(times, point)
        new_types = {fact.type for fact in history.facts[bisect_right(times, last):known]}
        previous = evaluate(History(history.account_id, history.facts[:known]), point, DEFAULT_THRESHOLDS,
                            previous=previous, new_types=new_types if points else frozenset())
        sets.add(tuple((each.id, each.severity, each.summary, each.detected_at, each.resolved_at,
                        tuple(fact.position for fact in each.evidence)) for each in previous.findings))
        points += 1
        moments = [moment for moment in (previous.next_change, times[known] if known < len(times) else None) if moment]
        last, point = point, min(moments, default=None)
    return points, len(sets)


def timed(action: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[float, T]:
    started = time.perf_counter()
    result = action(*args, **kwargs)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--accounts", type=int, default=5)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    past = now - timedelta(days=30)
    print(f"{'events':>7} {'asOf now':>10} {'live judging':>13} {'versions':>10} {'versions/asOf':>14}"
          f" {'change points':>14} {'finding sets':>13}")
    for size in args.sizes:
        as_of, live, walk, points, sets = [], [], [], [], []
        for seed in range(args.accounts):
            history = account(size, seed, now)
            as_of.append(timed(as_of_now, history, past)[0])
            live.append(timed(last_events, history, now, 10)[0] / 10)
            seconds, (changes, distinct) = timed(versions, history, now)
            walk.append(seconds)
            points.append(changes)
            sets.append(distinct)
        median = statistics.median
        print(f"{size:>7} {median(as_of) * 1000:>8.1f}ms {median(live) * 1000:>11.1f}ms {median(walk) * 1000:>8.0f}ms"
              f" {median(walk) / median(as_of):>13.0f}x {median(points):>14.0f} {median(sets):>13.0f}")


if __name__ == "__main__":
    main()
