"""What the database says of the projection, read for `/readyz` and for each scrape of `/metrics`.

The projector runs in a process of its own (or on another replica), so its progress is
read where it is kept: the store's last notification id, the view's tracking position
(and a running rebuild's), and when the oldest event not yet taken in was recorded; for
the metrics also the accounts due to be judged again (how many, up to DUE_COUNTED, and
since when) and the months over whose data-driven attribution waits to be learnt again. Index lookups in one or two round trips, under a short timeout: a database that does
not answer in time is reported as such, and never holds up the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

import asyncpg
import orjson

from service.projection.rebuild import SHADOW
from service.projection.view_store import LIVE
from service.store.tables import APPLICATION, EVENTS_TABLE

TIMEOUT_SECONDS = 2.0
TRANSIENT = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

STATE = f"""
WITH tracked AS (
  SELECT coalesce(max(notification_id), 0) AS position FROM {LIVE}_tracking WHERE application_name = $1
)
SELECT
  (SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}) AS head,
  tracked.position,
  (SELECT state FROM {EVENTS_TABLE} e WHERE e.notification_id > tracked.position
   ORDER BY e.notification_id LIMIT 1) AS oldest_waiting,
  to_regclass('{SHADOW}_tracking') IS NOT NULL AS rebuilding
FROM tracked
"""
DUE_COUNTED = 10_000  # the due accounts are counted up to this many: by the due_at index, whatever the backlog
DUE = f"""
SELECT count(*) AS accounts, coalesce(extract(epoch FROM now() - min(due_at)), 0)::float8 AS waited
FROM (SELECT due_at FROM {LIVE}_schedule WHERE due_at <= now() ORDER BY due_at LIMIT {DUE_COUNTED}) AS due
"""
STALE_MONTHS = f"""
SELECT count(*) FROM {LIVE}_attribution_stale WHERE month < date_trunc('month', now() AT TIME ZONE 'UTC')::date
"""
REBUILD_POSITION = f"SELECT coalesce(max(notification_id), 0) FROM {SHADOW}_tracking WHERE application_name = $1"


@dataclass(frozen=True)
class ProjectionState:
    """The event log's head, the views' positions in it, and how long the oldest waiting event has waited."""

    head: int
    position: int  # the live view's tracking position
    rebuild_position: int | None  # the shadow view's, while `cx360 rebuild` runs
    lag_seconds: float
    due_accounts: int = 0  # accounts whose time to be judged again has come (a view, a deadline, a late event),
    # counted up to DUE_COUNTED (read for the metrics only: readiness does not depend on it)
    due_seconds: float = 0.0  # how long the one due longest has waited
    stale_months: int = 0  # months over whose data-driven credits wait to be learnt again (`service.projection.learning`)

    @property
    def lag_events(self) -> int:
        return max(0, self.head - self.position)

    @property
    def checkpoints(self) -> dict[str, int]:
        """Each view's tracking position, by the name its tables start with."""
        found = {LIVE: self.position}
        if self.rebuild_position is not None:
            found[SHADOW] = self.rebuild_position
        return found


async def projection_state(pool: asyncpg.Pool, timeout: float = TIMEOUT_SECONDS, *,
                           with_due: bool = False) -> ProjectionState:
    """Read the projection's state (and with `with_due`, the accounts due); raises TimeoutError, or the driver's
    error, when the database fails."""
    async with asyncio.timeout(timeout):
        row = await pool.fetchrow(STATE, APPLICATION)
        assert row is not None, "a query of aggregates returns one row"
        rebuild_position = await shadow_position(pool) if row["rebuilding"] else None
        due = await pool.fetchrow(DUE) if with_due else None
        stale = await pool.fetchval(STALE_MONTHS) if with_due else 0
    return ProjectionState(row["head"], row["position"], rebuild_position, waited(row["oldest_waiting"]),
                           due["accounts"] if due else 0, max(0.0, due["waited"]) if due else 0.0, stale)


async def shadow_position(pool: asyncpg.Pool) -> int | None:
    try:
        position: int = await pool.fetchval(REBUILD_POSITION, APPLICATION)
    except asyncpg.UndefinedTableError:  # the rebuild swapped its tables in meanwhile
        return None
    return position


def waited(state: bytes | None, now: datetime | None = None) -> float:
    """Seconds since the event (its stored state) was recorded; 0 without one."""
    if state is None:
        return 0.0
    recorded = datetime.fromisoformat(orjson.loads(state)["timestamp"])
    return max(0.0, ((now or datetime.now(timezone.utc)) - recorded).total_seconds())
