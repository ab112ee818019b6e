"""The per-request loaders of `asOf`: an account that cannot be judged fails its own fields only."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from strawberry.dataloader import DataLoader

from projections.account_state import start
from projections.thresholds import DEFAULT_THRESHOLDS
from projections.view.health import DEFAULT_WEIGHTS
from service.read.account_view import ViewKey, ViewReads
from service.read.findings import FindingReads, Judged, JudgedKey

AT = datetime(2026, 3, 2, tzinfo=timezone.utc)


class OneBadAccount(FindingReads):
    """Judging as the service does, except for the account "bad", whose judging raises."""

    def __init__(self) -> None:  # no pool: the accounts are judged from no events
        pass

    async def judged_as_of(self, account_id: str, as_of: datetime) -> Judged:
        if account_id == "bad":
            raise RuntimeError("cannot judge bad")
        return Judged(start(account_id, DEFAULT_THRESHOLDS), [], ())


async def test_a_batch_with_an_account_that_cannot_be_judged_answers_the_others() -> None:
    judged: DataLoader[JudgedKey, Judged] = DataLoader(load_fn=OneBadAccount().judged_many)
    good, bad = await asyncio.gather(judged.load(("good", AT)), judged.load(("bad", AT)), return_exceptions=True)
    assert not isinstance(good, BaseException) and good.state.account_id == "good"
    assert isinstance(bad, RuntimeError) and str(bad) == "cannot judge bad"


async def test_a_batch_of_views_with_an_account_that_cannot_be_judged_answers_the_others() -> None:
    judged: DataLoader[JudgedKey, Judged] = DataLoader(load_fn=OneBadAccount().judged_many)
    views = ViewReads(pool=None, weights=DEFAULT_WEIGHTS)  # type: ignore[arg-type]  # no live key: no query

    async def load(keys: list[ViewKey]) -> list[object]:
        return await views.load(keys, judged=judged.load)  # type: ignore[return-value]

    loader: DataLoader[ViewKey, object] = DataLoader(load_fn=load)
    good, bad = await asyncio.gather(loader.load(("good", AT)), loader.load(("bad", AT)), return_exceptions=True)
    assert isinstance(good, dict) and good["account_id"] == "good"
    assert isinstance(bad, RuntimeError)
    with pytest.raises(RuntimeError, match="cannot judge bad"):
        await loader.load(("bad", AT))
