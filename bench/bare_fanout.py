"""The baseline of bench/streams.py: a bare WebSocket fan-out of the same events, no GraphQL.

    python bench/bare_fanout.py --dsn postgresql://... --port 8765

One asyncpg LISTEN on the store's channel wakes one reader, which reads the rows after
its position, encodes each once with orjson ({id, position, accountId, type}, the fields
the benchmark's subscriptions select) and sends it to every socket that wants it: all of
them, or those of its account (`ws://host:port/?account=ID`). No protocol, no buffers,
no filters by department: the least a fan-out of these messages can do.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import asyncpg
import orjson
from websockets.asyncio.server import ServerConnection, serve

ROWS = """
SELECT notification_id, topic, state FROM cx360_events WHERE notification_id > $1 ORDER BY notification_id LIMIT 1000
"""
CHANNEL = "cx360_events"


async def main(dsn: str, port: int) -> None:
    everyone: set[ServerConnection] = set()
    by_account: dict[str, set[ServerConnection]] = defaultdict(set)
    woken = asyncio.Event()
    listener = await asyncpg.connect(dsn)
    await listener.add_listener(CHANNEL, lambda *_: woken.set())
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    position = await pool.fetchval("SELECT coalesce(max(notification_id), 0) FROM cx360_events")

    async def handler(socket: ServerConnection) -> None:
        assert socket.request is not None
        account = parse_qs(urlsplit(socket.request.path).query).get("account", [None])[0]
        chosen = everyone if account is None else by_account[account]
        chosen.add(socket)
        try:
            await socket.wait_closed()
        finally:
            chosen.discard(socket)

    async def fan_out() -> None:
        nonlocal position
        while True:
            await woken.wait()
            woken.clear()
            while rows := await pool.fetch(ROWS, position):
                for row in rows:
                    state = orjson.loads(row["state"])
                    message = orjson.dumps({"id": state["id"], "position": f"{row['notification_id']:019d}",
                                            "accountId": state["account_id"], "type": row["topic"]}).decode()
                    for socket in (*everyone, *by_account.get(state["account_id"], ())):
                        await socket.send(message)
                position = rows[-1]["notification_id"]

    async with serve(handler, "127.0.0.1", port, compression=None):
        await fan_out()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.dsn, arguments.port))
