"""Benchmark: how soon the console's account page is on screen, by the browser's own clock (issue 20, item 8).

    .venv/bin/python bench/console_speed.py [--rounds 3] [--port 8097]

It starts `cx360 serve --demo` on a fresh database (embedded, or DATABASE_URL's server), waits for
the projector to catch up, then opens every demo account's page in Debian's Chromium (as the
browser tests do), `--rounds` times each: first in a new browser context (nothing cached: a cold
load), then again in the same one (warm). Each load is timed from the start of navigation to the
page's `cx360:account-ready` performance mark (set once the account, its timeline and findings are
on screen). It prints p50, p95 and the slowest, cold and warm, against the goal of 1 s on loopback.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import fresh_database, running  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, account_ready_ms  # noqa: E402

GOAL_MS = 1000.0
IDS = "{ accounts(first: 100, orderBy: ID) { edges { node { id } } } }"


def caught_up(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        projection = httpx.get(f"{base}/readyz").json().get("projection") or {}
        if projection.get("head") and projection.get("lagEvents") == 0:
            return
        time.sleep(0.2)
    raise SystemExit("the projector did not catch up with the demo data")


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    verdict = "within" if p95 <= GOAL_MS else "OVER"
    print(f"{label:>5}: {len(times)} loads, p50 {statistics.median(times):7.1f} ms, p95 {p95:7.1f} ms, "
          f"slowest {ordered[-1]:7.1f} ms ({verdict} the {GOAL_MS:.0f} ms goal at p95)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8097)
    options = parser.parse_args()
    cold: list[float] = []
    warm: list[float] = []
    with fresh_database() as url:
        env = {**os.environ, "DATABASE_URL": url, "CX360_PORT": str(options.port),
               "CX360_RATE_LIMIT_READS": "1000000/second", "CX360_RATE_LIMIT_WRITES": "1000000/second"}
        command = [sys.executable, "-m", "service.cli", "serve", "--demo"]
        with running(command, f"http://127.0.0.1:{options.port}", "/graphql", {"query": "{ __typename }"}, env=env,
                     quiet=True) as base:
            caught_up(base)
            ids = [edge["node"]["id"] for edge in httpx.post(f"{base}/graphql", json={"query": IDS}).json()["data"]
                   ["accounts"]["edges"]]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
                for _ in range(options.rounds):
                    for account_id in ids:
                        context = browser.new_context(base_url=base)
                        page = context.new_page()
                        cold.append(account_ready_ms(page, account_id))
                        warm.append(account_ready_ms(page, account_id))
                        context.close()
                browser.close()
    report("cold", cold)
    report("warm", warm)


if __name__ == "__main__":
    main()
