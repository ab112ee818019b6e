"""Benchmark: what folding one event costs as the events of one type come denser, type by type.

    .venv/bin/python bench/density.py [--per-day 5 20 80] [--days 60] [--types TYPE ...]

No database: for each event type (the frequent ones by default), an account that became a
customer a year before takes a feed of that type alone at each density (events a day,
spread evenly, the contacts drawn from 50) for `--days`, folded as the projector folds
(`fold_recording`: checkpoints by the policy, the health trend scored at each week
boundary). Prints the CPU per event at each density, and the densest over the sparsest.
A part of the fold that walks its whole window at each event (a week of touches, 28 days
of usage records) shows as a cost that grows with the density; a flat row is the goal
(a product-usage feed of one record a day per seat is ordinary).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from projections.account_state import start  # noqa: E402
from projections.facts import Fact  # noqa: E402
from projections.folding import fold_recording  # noqa: E402
from projections.thresholds import DEFAULT_THRESHOLDS  # noqa: E402
from projections.view.health import DEFAULT_WEIGHTS  # noqa: E402
from projections.weeks import boundaries_before  # noqa: E402

DATA: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "product.usage.recorded": lambda r: {"activeUsers": r.randint(1, 90), "seats": 100},
    "marketing.campaign.sent": lambda r: {"campaignId": f"C-{r.randrange(40)}", "channel": "email",
                                          "intent": "nurture"},
    "marketing.engagement.recorded": lambda r: {"campaignId": f"C-{r.randrange(40)}", "channel": "email",
                                                "action": "open"},
    "sales.outreach.sent": lambda r: {"channel": "email", "intent": r.choice(["follow_up", "check_in", "upsell"])},
    "support.contact.made": lambda r: {"channel": "email"},
    "product.feature.adopted": lambda r: {"feature": r.choice(["export", "sso", "api"])},
    "marketing.nps.responded": lambda r: {"score": r.randint(0, 10)},
    "support.csat.recorded": lambda r: {"score": r.randint(1, 5)},
}
START = datetime(2026, 6, 1, tzinfo=timezone.utc)


def feed(kind: str, per_day: int, days: int) -> list[Fact]:
    rng = random.Random(1)
    won = Fact(1, "sales.opportunity.won", START - timedelta(days=400), "bench", "won", None,
               {"opportunityId": "O-1", "amount": "1000", "currency": "EUR"})
    return [won, *(Fact(n + 2, kind, START + timedelta(minutes=1440 / per_day * n), "bench", f"e-{n}",
                        f"c-{rng.randrange(50)}", DATA[kind](rng)) for n in range(per_day * days))]


def per_event(facts: list[Fact], days: int) -> float:
    """CPU seconds per fact, folded as the projector folds them."""
    points = boundaries_before(START + timedelta(days=days + 1), days // 7 + 1)
    started = time.process_time()
    fold_recording(start("bench-account", DEFAULT_THRESHOLDS), facts, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS,
                   points=points, scores={}, taken=lambda boundary, data, facts: None)
    return (time.process_time() - started) / len(facts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-day", type=int, nargs="+", default=[5, 20, 80])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--types", nargs="+", default=list(DATA), choices=list(DATA))
    args = parser.parse_args()
    print(f"{'µs per event':<32}" + "".join(f"{f'{n}/day':>10}" for n in args.per_day) + f"{'densest/sparsest':>18}")
    for kind in args.types:
        costs = [per_event(feed(kind, n, args.days), args.days) * 1e6 for n in args.per_day]
        print(f"{kind:<32}" + "".join(f"{each:>10.1f}" for each in costs) + f"{costs[-1] / costs[0]:>17.2f}x")


if __name__ == "__main__":
    main()
