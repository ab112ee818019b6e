"""Reads of account views: the projector's rows (live), or the view computed for an `asOf`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from projections.view.fold import view_at
from projections.view.health import HealthWeights
from service.projection.view_store import ACCOUNT_VIEWS_TABLE
from service.read.findings import Judged
from service.read.pool import ReadPool

VIEWS = f"SELECT account_id, view FROM {ACCOUNT_VIEWS_TABLE} WHERE account_id = ANY($1::text[])"

ViewKey = tuple[str, datetime | None]  # (account id, asOf or None for live)


class ViewReads:
    def __init__(self, pool: ReadPool, weights: HealthWeights) -> None:
        self.pool = pool
        self.weights = weights

    async def load(
        self, keys: Sequence[ViewKey], judged: Callable[[tuple[str, datetime]], Awaitable[Judged]]
    ) -> list[dict[str, Any] | None | Exception]:
        """Views for a DataLoader: every live one in one query, each as-of one computed.

        `judged` gives an account's history and findings as of a moment (the request's
        loader, so that the view and the findings of one asOf are judged once). An as-of
        view that cannot be computed fails its own key only.
        """
        live = [account_id for account_id, as_of in keys if as_of is None]
        rows = await self.pool.fetch(VIEWS, live) if live else []
        stored = {row["account_id"]: orjson.loads(row["view"]) for row in rows}
        views: list[dict[str, Any] | None | Exception] = []
        for account_id, as_of in keys:
            if as_of is None:
                views.append(stored.get(account_id))
                continue
            try:
                views.append(self.as_of(await judged((account_id, as_of)), as_of))
            except Exception as error:  # noqa: BLE001  # the loader raises it for this key alone
                views.append(error)
        return views

    def as_of(self, judged: Judged, as_of: datetime) -> dict[str, Any]:
        """The view as it was at `as_of`: read from the state then, by the same fold as the projector's."""
        return view_at(judged.state.view, as_of, judged.findings, self.weights, judged.past).to_json()
