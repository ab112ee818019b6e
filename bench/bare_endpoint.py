"""The HTTP baseline of bench/views.py: the same rows as the account query, read and sent with no GraphQL.

    python bench/bare_endpoint.py --dsn postgresql://... --port 8372

POST / with {"id": "..."}: the view row, the account's open findings, their evidence
events and 50 timeline events, read with asyncpg and encoded with orjson, served by
uvicorn with the same defaults as `cx360 serve` (uvloop, httptools). The least an
endpoint answering that query can do, measured with the same HTTP client as cx360.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.stream import account_stream_id  # noqa: E402

BARE = {
    "view": "SELECT view FROM cx360_view_accounts WHERE account_id = $1",
    "findings": "SELECT id, rule, severity, departments, evidence, detected_at, resolved_at, summary"
                " FROM cx360_view_findings WHERE account_id = $1 AND resolved_at IS NULL ORDER BY detected_at DESC, id DESC",
    "events": "SELECT notification_id, topic, state FROM cx360_events WHERE notification_id = ANY($1::bigint[])",
    "timeline": "SELECT topic, occurred_at, originator_version, notification_id, state FROM cx360_events"
                " WHERE originator_id = $1 ORDER BY occurred_at, originator_version LIMIT 50",
}


async def read_account(connection: asyncpg.Connection, account_id: str) -> bytes:
    view = await connection.fetchval(BARE["view"], account_id)
    findings = await connection.fetch(BARE["findings"], account_id)
    positions = [position for row in findings for position in row["evidence"]]
    evidence = await connection.fetch(BARE["events"], positions)
    timeline = await connection.fetch(BARE["timeline"], account_stream_id(account_id))
    return orjson.dumps({"view": orjson.loads(view) if view else None,
                         "findings": [dict(row) for row in findings],
                         "evidence": [{**dict(row), "state": orjson.loads(row["state"])} for row in evidence],
                         "timeline": [{**dict(row), "state": orjson.loads(row["state"])} for row in timeline]},
                        default=str)


def bare_app(dsn: str) -> Any:
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        try:
            yield
        finally:
            await pool.close()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            async with lifespan():
                await send({"type": "lifespan.startup.complete"})
                while message["type"] != "lifespan.shutdown":
                    message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        assert pool is not None
        async with pool.acquire() as connection:
            answer = await read_account(connection, orjson.loads(body)["id"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, default=8372)
    args = parser.parse_args()
    uvicorn.run(bare_app(args.dsn), host="127.0.0.1", port=args.port, log_level="warning")
