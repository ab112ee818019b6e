"""Benchmark: how big an account's folded state is, per rule and per view part, by history length.

    .venv/bin/python bench/state_size.py [--sizes 100 1000 3000 10000] [--accounts 3] [--years]

No database: accounts of each size from the bench workload (a year of events, or with
`--years` a history growing in time at one density, as in `as_of_cost.py`), folded in
order with the final findings taken out as the projector takes them. Prints the median
encoded bytes (`projections.state_codec`, what a checkpoint stores) of the whole state,
of each rule's state and of the view's, and the findings given up as final. A state that
holds only what can still change stays flat as the history grows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from as_of_cost import account, span_of  # noqa: E402

from projections.account_state import advance, checkpoint_bytes, start, take_final  # noqa: E402
from projections.state_codec import encode  # noqa: E402
from projections.thresholds import DEFAULT_THRESHOLDS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000, 10000])
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--years", action="store_true", help="history grows in time at one density (as_of_cost.py)")
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    rows: dict[int, dict[str, list[int]]] = {}
    for size in args.sizes:
        sizes: dict[str, list[int]] = {}
        for seed in range(args.accounts):
            history = account(size, seed, now, span_of(size, args.years))
            state, final = start(history.account_id, DEFAULT_THRESHOLDS), 0
            for fact in history.facts:
                state = advance(state, fact, DEFAULT_THRESHOLDS)
                final += len(take_final(state))
            parts = {"whole": len(checkpoint_bytes(state)), "view": len(encode(state.view)), "final": final,
                     **{rule_id: len(encode(each)) for rule_id, each in state.rules.items()}}
            for name, value in parts.items():
                sizes.setdefault(name, []).append(value)
        rows[size] = sizes
    names = list(next(iter(rows.values())))
    print(f"{'bytes (median)':<42}" + "".join(f"{size:>10}" for size in args.sizes))
    for name in names:
        print(f"{name:<42}" + "".join(f"{statistics.median(rows[size][name]):>10.0f}" for size in args.sizes))


if __name__ == "__main__":
    main()
