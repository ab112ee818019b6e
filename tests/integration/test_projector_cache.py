"""A projector whose cache holds fewer accounts than take events in turn says so (`Projector.note_misses`)."""

from __future__ import annotations

import logging

import httpx
import pytest

from service.projection.projector import Projector
from service.projection.view_store import ProjectedViews
from tests.integration.test_projector_folds import NOW, at, caught_up, views  # noqa: F401  (the fixture)
from tests.support import record, unique


def rounds_of_calls(client: httpx.Client, accounts: list[str], rounds: int, projector: Projector) -> None:
    """Each round, a call on every account in turn, taken in by the projector."""
    for n in range(rounds):
        record(client, [{"id": f"{account}-c{n}", "source": "desk", "type": "support.contact.made",
                         "accountId": account, "occurredAt": at(rounds - n), "data": {"channel": "call"}}
                        for account in accounts])
        caught_up(projector)


@pytest.mark.parametrize(("held", "warned"), [(20, True), (40, False)])
def test_a_cache_smaller_than_the_accounts_taking_events_is_reported_once(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews],  # noqa: F811
    caplog: pytest.LogCaptureFixture, held: int, warned: bool,
) -> None:
    accounts = [unique() for _ in range(30)]
    projector = Projector(views[0], batch_size=10, cache_accounts=held, clock=lambda: NOW)
    with caplog.at_level(logging.INFO, logger="service.projection.projector"):
        rounds_of_calls(client, accounts, 12, projector)
    said = [each.getMessage() for each in caplog.records if "CX360_PROJECTOR_CACHE_ACCOUNTS" in each.getMessage()]
    assert len(said) == (1 if warned else 0), said  # once, not at every look
    if warned:
        assert said[0].startswith("projector: ") and f"cache of {held} accounts" in said[0]
        assert projector.thrashing
