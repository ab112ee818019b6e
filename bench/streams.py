"""Benchmark: subscription delivery at a sustained event rate, against a bare WebSocket fan-out.

    .venv/bin/python bench/streams.py [--rate 1000] [--seconds 20] [--all 10] [--accounts 100]

It starts PostgreSQL (embedded, or the server of DATABASE_URL) with a fresh database and
`cx360 serve` as a separate process (projector off by default: the stream path alone;
`--projector process` to run it too), then runs two phases with the same subscribers and
the same producer:

1. cx360: `--all` subscribers of `events` (every event) and one subscriber of
   `events(accountId)` for each of `--accounts` accounts, over graphql-transport-ws.
2. bare: the same subscribers on bench/bare_fanout.py (LISTEN, read the rows, orjson
   once, send to the matching sockets; no GraphQL, no protocol).

In both, producers write `--rate` events/s through cx360's `recordEvents` (a batch every
50 ms over the accounts). The subscribers run in two client processes. Latency is from
`recordEvents` returning (its producer's clock) to receipt (the client's clock; one
machine, one clock); it can be negative when a message arrives before the response.
Lost = a message a subscriber should have got and did not; doubled = one it got twice.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import RECORD, fresh_database, running_service  # noqa: E402
from workload import events  # noqa: E402

ALL = "subscription { events { id position accountId type } }"
ONE = "subscription($accountId: ID) { events(accountId: $accountId) { id position accountId type } }"
TICK = 0.05
GRACE = 5.0  # seconds the clients keep reading after the last batch


def account_of(n: int, run: str) -> str:
    return f"{run}-account-{n}"


async def subscriber(kind: str, base: str, account: str | None, ready: Any, stop: Any) -> list[tuple[str, float]]:
    from websockets.asyncio.client import connect

    got: list[tuple[str, float]] = []
    if kind == "cx360":
        socket = await connect(base.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                               compression=None, max_size=None)
        await socket.send('{"type":"connection_init"}')
        assert orjson.loads(await socket.recv())["type"] == "connection_ack"
        variables = {"accountId": account} if account else {}
        await socket.send(orjson.dumps({"id": "1", "type": "subscribe",
                                        "payload": {"query": ONE if account else ALL, "variables": variables}}).decode())
    else:
        socket = await connect(base + (f"/?account={account}" if account else "/"), compression=None, max_size=None)
    ready()
    try:
        while not stop():
            try:
                async with asyncio.timeout(0.5):
                    raw = await socket.recv()
            except TimeoutError:
                continue
            now = time.time()
            message = orjson.loads(raw)
            if kind == "cx360":
                if message["type"] == "ping":
                    await socket.send('{"type":"pong"}')
                    continue
                if message["type"] != "next":
                    raise RuntimeError(f"unexpected message: {message}")
                message = message["payload"]["data"]["events"]
            got.append((message["id"], now))
    finally:
        await socket.close()
    return got


def client_process(kind: str, base: str, specs: list[str | None], ready: Any, stop: Any, results: Any) -> None:
    async def run() -> list[list[tuple[str, float]]]:
        count = 0

        def one_ready() -> None:
            nonlocal count
            count += 1
            if count == len(specs):
                ready.set()

        return await asyncio.gather(*(subscriber(kind, base, spec, one_ready, stop.is_set) for spec in specs))

    results.put([(spec, got) for spec, got in zip(specs, asyncio.run(run()))])


async def produce(base: str, rate: int, seconds: float, accounts: int, run: str) -> dict[str, tuple[str, float]]:
    """Send `rate` events/s for `seconds`; each event's id -> (account, when recordEvents returned)."""
    per_tick = max(1, round(rate * TICK))
    ticks = int(seconds / TICK)
    work = events(per_tick * ticks, accounts, seed=7, run=run, days=30)
    bodies = [orjson.dumps({"query": RECORD, "variables": {"events": work[n * per_tick:(n + 1) * per_tick]}})
              for n in range(ticks)]
    returned: dict[str, tuple[str, float]] = {}

    async def send(client: httpx.AsyncClient, n: int) -> None:
        response = await client.post("/graphql", content=bodies[n], headers={"content-type": "application/json"})
        done = time.time()
        payload = response.json()["data"]["recordEvents"]
        assert payload["rejected"] == [] and payload["accepted"] == per_tick, payload
        for event in work[n * per_tick:(n + 1) * per_tick]:
            returned[event["id"]] = (event["accountId"], done)

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        pending = []
        for n in range(ticks):
            await asyncio.sleep(max(0.0, started + n * TICK - time.perf_counter()))
            pending.append(asyncio.create_task(send(client, n)))
        await asyncio.gather(*pending)
    return returned


def phase(kind: str, base: str, produce_base: str, args: argparse.Namespace, run: str) -> dict[str, Any]:
    specs: list[str | None] = [None] * args.all + [account_of(n, run) for n in range(args.accounts)]
    halves = [specs[0::2], specs[1::2]]
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    readies = [context.Event() for _ in halves]
    clients = [context.Process(target=client_process, args=(kind, base, half, ready, stop, results))
               for half, ready in zip(halves, readies)]
    for client in clients:
        client.start()
    for ready in readies:
        if not ready.wait(60):
            raise RuntimeError("subscribers did not connect")
    time.sleep(1.0)  # subscriptions registered before the first event
    returned = asyncio.run(produce(produce_base, args.rate, args.seconds, args.accounts, run))
    time.sleep(GRACE)
    stop.set()
    received = [pair for _ in clients for pair in results.get(timeout=120)]
    for client in clients:
        client.join(30)
    return tally(returned, received, args.seconds)


def tally(returned: dict[str, tuple[str, float]], received: list[tuple[str | None, list[tuple[str, float]]]],
          seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    lost = doubled = messages = 0
    for account, got in received:
        expected = {event for event, (owner, _) in returned.items() if account is None or owner == account}
        counts = Counter(event for event, _ in got)
        lost += len(expected - counts.keys())
        doubled += sum(count - 1 for count in counts.values() if count > 1)
        messages += len(got)
        latencies.extend(when - returned[event][1] for event, when in got if event in returned)
    latencies.sort()
    return {
        "messages": messages,
        "per_second": messages / seconds,
        "lost": lost,
        "doubled": doubled,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": 1000 * latencies[-1],
    }


@contextmanager
def bare_server(url: str, port: int) -> Iterator[str]:
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_fanout.py")), "--dsn", url,
                                "--port", str(port)])
    try:
        time.sleep(2.0)
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def show(name: str, figures: dict[str, Any]) -> None:
    print(f"{name:6} {figures['messages']:>8,} messages ({figures['per_second']:,.0f}/s)  "
          f"latency p50 {figures['p50_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms  max {figures['max_ms']:6.1f} ms  "
          f"lost {figures['lost']}  doubled {figures['doubled']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--all", type=int, default=10)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--port", type=int, default=8131)
    parser.add_argument("--projector", default="off", choices=("off", "process"))
    args = parser.parse_args()
    print(f"{args.all} subscribers of every event, {args.accounts} of one account each; "
          f"{args.rate} events/s for {args.seconds:.0f} s; {os.cpu_count()} cores", flush=True)
    with fresh_database() as url, running_service(url, args.port, projector=args.projector) as base:
        cx360 = phase("cx360", base, base, args, "cx")
        show("cx360", cx360)
        with bare_server(url, args.port + 1) as bare:
            baseline = phase("bare", bare, base, args, "bare")
        show("bare", baseline)
    print(f"ratio cx360/bare: p50 {cx360['p50_ms'] / baseline['p50_ms']:.2f}x, "
          f"p99 {cx360['p99_ms'] / baseline['p99_ms']:.2f}x")


if __name__ == "__main__":
    main()
