"""Reads of findings' handling rows (asyncpg), for the API: by finding, and the finding acted on."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
import orjson

from service.projection.view_store import FINDINGS_TABLE
from service.read.findings import COLUMNS, FindingRecord
from service.read.pool import ReadPool
from service.store.handling_store import HandlingRow
from service.store.tables import HANDLING_TABLE

HANDLING_COLUMNS = ("finding_id, account_id, state, assignee, snoozed_until, version, actions, acknowledged_at,"
                    " closed_at, evidence_seen")
ROWS = f"SELECT {HANDLING_COLUMNS} FROM {HANDLING_TABLE} WHERE finding_id = ANY($1::uuid[])"
FINDING = f"SELECT {COLUMNS} FROM {FINDINGS_TABLE} WHERE id = $1"


def row_of(record: asyncpg.Record) -> HandlingRow:
    actions = record["actions"]
    return HandlingRow(record["finding_id"], record["account_id"], record["state"], record["assignee"],
                       record["snoozed_until"], record["version"],
                       orjson.loads(actions) if isinstance(actions, str | bytes) else actions,
                       record["acknowledged_at"], record["closed_at"], record["evidence_seen"])


class HandlingReads:
    def __init__(self, pool: ReadPool) -> None:
        self.pool = pool

    async def rows(self, finding_ids: Sequence[str]) -> list[HandlingRow | None]:
        """For a request's DataLoader: each finding's handling row, None where nobody acted yet."""
        found = {str(row["finding_id"]): row_of(row) for row in await self.pool.fetch(ROWS, list(finding_ids))}
        return [found.get(finding_id) for finding_id in finding_ids]

    async def finding(self, finding_id: UUID) -> FindingRecord | None:
        row = await self.pool.fetchrow(FINDING, finding_id)
        return FindingRecord.from_row(row) if row is not None else None
