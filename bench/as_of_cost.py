"""Benchmark: what judging an event and answering an `asOf` cost, folded against the reference, by history length.

    .venv/bin/python bench/as_of_cost.py [--sizes 100 1000 3000 10000] [--accounts 3] [--years] [--as-of-days 30]

No database: pure functions on generated accounts of each size: a year of the bench
workload's events (each size denser than the last), or with `--years` a history that
grows in time at one density (100 events a month: 10,000 events are 8 years), with new
tickets, deals, invoices, incidents and campaigns every 60 days. The first
measures what a busier account costs (windows hold more), the second what a longer one
costs (the issue's "years of history"). For each size it prints medians over `--accounts` accounts of:

- live, folded: one more event taken as the projector takes it: folded onto the
  account's state (a checkpoint encoded by the projector's policy, the trend's points
  scored as their boundaries are passed), the findings
  of the rules it can change read at now and compared with those before (the mean over
  the account's events of its last four weeks, at least 10: what a week boundary costs,
  a checkpoint and a trend point, comes once a week whatever the account's density, so a
  mean over a few events would count it in full or not at all, by the weekday of the run);
- live, reference: an event judged the way the projector did before folds, all
  rules over the whole history with the judgement before reused
  (`projections.evaluation.evaluate(previous=...)`): the baseline, in the same run (the
  mean over the last 10 events: it has no weekly cost, and at 10,000 events four weeks
  of it would take minutes);
- view, folded / reference: the account view at now from the state, against
  `account_view` over the history;
- asOf, folded: `account(asOf: T)` (T = `--as-of-days` ago, 30 by default) once its rows are read: the
  trend's points as the projector stored them, the latest checkpoint at or before T
  decoded, the events after it up to T folded, findings and view read at T;
  against the reference, which judges every event up to T (trend included).

The ratios to watch: live folded at the largest size over live folded at the smallest
(flat means the cost does not grow with history), and folded over reference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import ParamSpec, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workload import events  # noqa: E402

from domain.validation import validate_batch  # noqa: E402
from projections.account_state import AccountState, advance, checkpoint_bytes, findings_at, start, take_final  # noqa: E402
from projections.evaluation import evaluate  # noqa: E402
from projections.facts import Fact  # noqa: E402
from projections.findings import Moment  # noqa: E402
from projections.folding import fold_recording, kept_checkpoints, score_at  # noqa: E402
from projections.history import History, history_of  # noqa: E402
from projections.state_codec import decode  # noqa: E402
from projections.thresholds import DEFAULT_THRESHOLDS  # noqa: E402
from projections.view.account import account_view  # noqa: E402
from projections.view.fold import view_at  # noqa: E402
from projections.view.health import DEFAULT_WEIGHTS  # noqa: E402
from projections.view.model import HealthPoint  # noqa: E402
from projections.weeks import boundaries_before  # noqa: E402
from service.projection.projector import TREND_KEPT, Folded, read_findings  # noqa: E402

P = ParamSpec("P")
T = TypeVar("T")
LAST = 10


DAYS_PER_EVENT = 0.3  # with --years: 100 events over 30 days, 10,000 over 8.2 years


def span_of(size: int, years: bool) -> int:
    """Days of history: a year whatever the size (denser as it grows), or growing with it at one density (--years)."""
    return max(30, round(size * DAYS_PER_EVENT)) if years else 365


ENTITY_DAYS = 60  # with --years: tickets, deals, invoices, incidents and campaigns are new ones every 60 days


def account(size: int, seed: int, now: datetime, days: int = 365) -> History:
    """A year of events (the same few tickets and deals throughout), or with more days a longer history whose
    tickets and deals are new ones every `ENTITY_DAYS`."""
    valid, rejected = validate_batch(events(size, 1, seed=seed, run=f"a{seed}", end=now, days=days,
                                            entity_days=ENTITY_DAYS if days != 365 else None))
    assert not rejected, rejected[:2]
    facts = [Fact(position=n + 1, type=each.type, occurred_at=each.occurred_at, source=each.source,
                  event_id=each.id, contact_id=each.contact_id, data=each.data) for n, (_, each) in enumerate(valid)]
    return history_of(valid[0][1].account_id, facts)


def folded_until(history: History, count: int) -> AccountState:
    state = start(history.account_id, DEFAULT_THRESHOLDS)
    for fact in history.facts[:count]:
        state = advance(state, fact, DEFAULT_THRESHOLDS)
    return state


LIVE_SPAN = timedelta(weeks=4)  # the events whose mean cost is "live folded": four boundaries' worth


def live_folded(history: History, now: datetime) -> float:
    """As the projector takes an event: fold it (a checkpoint written if it crosses a week boundary), read the
    findings of the rules it can change, and compare them with those before; the mean over the last four weeks."""
    taken = min(len(history.facts) - LAST, sum(1 for fact in history.facts if fact.occurred_at <= now - LIVE_SPAN))
    folded = Folded(folded_until(history, taken), None)
    points, scores = boundaries_before(now, TREND_KEPT), {}  # type: ignore[var-annotated]
    before, _ = read_findings(folded, None, now, DEFAULT_THRESHOLDS)
    take_final(folded.state)
    started = time.perf_counter()
    for fact in history.facts[taken:]:
        folded.state = fold_recording(folded.state, [fact], DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS,
                                      points=points, scores=scores, taken=lambda boundary, data, facts: None)
        found, _ = read_findings(folded, {fact.type}, now, DEFAULT_THRESHOLDS)
        before, _ = found, (found == before, take_final(folded.state))
    return (time.perf_counter() - started) / (len(history.facts) - taken)


def live_reference(history: History, now: datetime) -> float:
    first = len(history.facts) - LAST
    judged = evaluate(History(history.account_id, history.facts[:first]), now, DEFAULT_THRESHOLDS)
    started = time.perf_counter()
    for end in range(first + 1, len(history.facts) + 1):
        judged = evaluate(History(history.account_id, history.facts[:end]), now, DEFAULT_THRESHOLDS,
                          previous=judged, new_types={history.facts[end - 1].type})
    return (time.perf_counter() - started) / LAST


def view_folded(history: History, now: datetime) -> float:
    state = folded_until(history, len(history.facts))
    findings = findings_at(state, Moment(now), DEFAULT_THRESHOLDS)
    return timed(view_at, state.view, now, findings)[0]


def view_reference(history: History, now: datetime) -> float:
    findings = evaluate(history, now, DEFAULT_THRESHOLDS).findings
    return timed(account_view, history, now, findings, trend_weeks=1)[0]


def as_of_folded(history: History, moment: datetime) -> float:
    """As the read side answers `asOf`: the trend's points read from the scores the projector stored as its fold passed
    them (every boundary of the history here, as a live projector passes each), the latest checkpoint at or before T
    decoded (checkpoints taken and thinned by the projector's policy), the events after it up to T folded, a point after the last
    of them scored from the state, findings and view read at T (the findings final before the checkpoint, rows in
    the database, are not counted here)."""
    taken: list[tuple[datetime, bytes, int]] = []
    stored: dict[datetime, int | None] = {}
    every = boundaries_before(history.facts[-1].occurred_at + timedelta(weeks=1),
                              (history.facts[-1].occurred_at - history.facts[0].occurred_at) // timedelta(weeks=1) + 2)
    fold_recording(start(history.account_id, DEFAULT_THRESHOLDS), history.facts, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS,
                   points=every, scores=stored, taken=lambda boundary, data, facts: taken.append((boundary, data, facts)))
    kept = kept_checkpoints([(boundary, facts) for boundary, _, facts in taken])  # as the projector thins them
    checkpoints = [(boundary, data) for boundary, data, _ in taken if boundary in kept]
    points = boundaries_before(moment, 11)
    before = [each for each in checkpoints if each[0] <= moment]
    after = before[-1][0] if before else None
    facts = [fact for fact in history.facts if (after is None or fact.occurred_at > after) and fact.occurred_at <= moment]
    started = time.perf_counter()
    base = decode(before[-1][1]) if before else start(history.account_id, DEFAULT_THRESHOLDS)
    scores = {point: stored[point] for point in points if point in stored}
    missing = [point for point in points if point not in scores]
    state = fold_recording(base, facts, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS, points=missing, scores=scores)
    findings = findings_at(state, Moment(moment), DEFAULT_THRESHOLDS)
    past = [HealthPoint(point, scores[point] if point in scores else score_at(state, point, DEFAULT_THRESHOLDS,
                                                                               DEFAULT_WEIGHTS, findings))
            for point in points]
    view_at(state.view, moment, findings, DEFAULT_WEIGHTS, past)
    return time.perf_counter() - started


def as_of_reference(history: History, moment: datetime) -> float:
    started = time.perf_counter()
    until = history.until(moment)
    findings = evaluate(until, moment, DEFAULT_THRESHOLDS).findings
    account_view(until, moment, findings)  # with its 12-week trend, as an asOf answers
    return time.perf_counter() - started


def timed(action: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[float, T]:
    started = time.perf_counter()
    result = action(*args, **kwargs)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000, 10000])
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--as-of-days", type=float, default=30, help="asOf T, in days before now (default 30)")
    parser.add_argument("--years", action="store_true",
                        help="history grows in time at one density (100 events a month) instead of denser in a year")
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    past = now - timedelta(days=args.as_of_days)
    columns = ("live folded", "live ref", "view folded", "view ref", "asOf folded", "asOf ref", "state bytes")
    print(f"{'events':>7} " + " ".join(f"{name:>12}" for name in columns))
    first: float | None = None
    for size in args.sizes:
        rows: list[list[float]] = [[] for _ in columns]
        for seed in range(args.accounts):
            history = account(size, seed, now, span_of(size, args.years))
            for column, measure in enumerate((live_folded, live_reference, view_folded, view_reference)):
                rows[column].append(measure(history, now))
            rows[4].append(as_of_folded(history, past))
            rows[5].append(as_of_reference(history, past))
            rows[6].append(len(checkpoint_bytes(folded_until(history, len(history.facts)))))
        medians = [statistics.median(each) for each in rows]
        first = first or medians[0]
        print(f"{size:>7} " + " ".join(f"{value * 1000:>10.3f}ms" for value in medians[:6])
              + f" {medians[6]:>12.0f}" + f"   live folded {medians[0] / first:.2f}x the smallest size")


if __name__ == "__main__":
    main()
