"""Reads of account views: the projector's rows (live), or the view computed for an `asOf`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from projections.view.account import account_view
from projections.view.health import HealthWeights
from service.finding_reads import FindingReads

VIEWS = "SELECT account_id, view FROM cx360_view_accounts WHERE account_id = ANY($1::text[])"

ViewKey = tuple[str, datetime | None]  # (account id, asOf or None for live)


class ViewReads:
    def __init__(self, pool: asyncpg.Pool, findings: FindingReads, weights: HealthWeights) -> None:
        self.pool = pool
        self.findings = findings
        self.weights = weights

    async def load(self, keys: Sequence[ViewKey]) -> list[dict[str, Any] | None]:
        """Views for a DataLoader: every live one in one query, each as-of one computed."""
        live = [account_id for account_id, as_of in keys if as_of is None]
        rows = await self.pool.fetch(VIEWS, live) if live else []
        stored = {row["account_id"]: orjson.loads(row["view"]) for row in rows}
        views: list[dict[str, Any] | None] = []
        for account_id, as_of in keys:
            views.append(stored.get(account_id) if as_of is None else await self.as_of(account_id, as_of))
        return views

    async def as_of(self, account_id: str, as_of: datetime) -> dict[str, Any]:
        """The view as it was at `as_of`: computed from the events up to then, by the same functions."""
        history, findings = await self.findings.judged_as_of(account_id, as_of)
        return account_view(history, as_of, findings, self.weights).to_json()
