"""Reads of account views: the projector's rows (live), or the view computed for an `asOf`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import orjson

from projections.view.fold import view_at
from projections.view.health import HealthWeights
from projections.weeks import boundaries_before, boundary_at_or_before
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
        now = datetime.now(timezone.utc)
        stored = {row["account_id"]: trend_through(orjson.loads(row["view"]), now) for row in rows}
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
        """The view as it was at `as_of`: read from the state then, by the same fold as the projector's.

        In the shape of a stored view (`orjson`, as the projector writes it), which is also
        several times faster than `dataclasses.asdict`'s deep copy.
        """
        view: dict[str, Any] = orjson.loads(orjson.dumps(view_at(judged.state.view, as_of, judged.findings,
                                                                 self.weights, judged.past)))
        return view


def trend_through(view: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The stored view with its trend brought up to the latest week boundary, if one passed since it was judged.

    The projector judges a view again when it changes, not at every week boundary. Until
    it changes, its score holds, so a boundary passed since is a point with that score:
    the trend is the one of the view judged at the latest boundary (its 11 boundaries
    before, then that boundary), the points before the view's moment as they were stored.
    """
    health = view.get("health")
    if not health or not health.get("trend"):
        return view
    judged_at = datetime.fromisoformat(view["as_of"])
    latest = boundary_at_or_before(now)
    if latest <= judged_at:
        return view
    score = health["score"]
    stored = {datetime.fromisoformat(point["at"]): point["score"] for point in health["trend"]}
    points = [*boundaries_before(latest, len(health["trend"]) - 1), latest]
    trend = [{"at": point.isoformat(), "score": stored.get(point, score) if point < judged_at else score}
             for point in points]
    return {**view, "health": {**health, "trend": trend}}
