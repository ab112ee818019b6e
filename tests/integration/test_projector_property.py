"""The live projector's rows equal a judging from scratch, however the events arrive (`rules.md`, law 2).

Generated accounts are recorded through `/graphql` in a few batches, in any order (late
events included), and a projector takes them in with its clock moving on between
batches; sometimes it restarts (no cache: its accounts are folded back from their
checkpoints). At the end, the account's finding rows are exactly what the reference
(`evaluate` over its stored events) finds at the clock's last instant, and its view row
is what `account_view` gives at the instant it was judged. The unit properties check
each fold against its reference; this one checks what the projector decides to write.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.account_state import folds
from projections.evaluation import evaluate, findings_then
from projections.facts import ORDER, Fact
from projections.history import history_of
from projections.view.account import account_view
from projections.view.health import DEFAULT_WEIGHTS
from service.projection.projector import Projector
from service.projection.view_store import ProjectedViews, account_row, histories
from tests.integration.test_projector_folds import fresh_view
from tests.support import record, unique
from tests.unit.test_findings_laws import DATA, START
from tests.unit.test_folds_match_reference import histories as generated

LAST = START + timedelta(days=60)  # the clock at the end: events dated later wait, for the reference too


@pytest.fixture(scope="module")
def view(database_url: str) -> Iterator[ProjectedViews]:
    """A view of its own: its projector's clock is in the generated events' time, not today's."""
    views = fresh_view(database_url)
    yield views
    views.datastore.close()


def envelope(account: str, fact: Fact) -> dict[str, Any]:
    return {"id": f"{account}-{fact.event_id}", "source": fact.source, "type": fact.type, "accountId": account,
            "contactId": fact.contact_id, "occurredAt": fact.occurred_at.isoformat(), "data": fact.data}


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Fact], list[list[Fact]], list[datetime], list[bool]]:
    """An account's facts, the batches they arrive in (any order), the clock at each, and restarts before each."""
    rule_id = draw(st.sampled_from(sorted(folds())))  # its types weighted, so its cases meet often in 40 events
    types = sorted(folds()[rule_id].types) * 8 + sorted(DATA)
    facts = draw(generated(types))
    if draw(st.booleans()):
        order = draw(st.permutations(facts))
    else:  # in time order, but for a few held back by their producer: they come last, late
        held = draw(st.sets(st.integers(0, len(facts) - 1), max_size=3))
        timely = sorted(facts, key=ORDER)
        order = [fact for place, fact in enumerate(timely) if place not in held] + [timely[place] for place in held]
    cuts = sorted(draw(st.lists(st.integers(1, max(1, len(order) - 1)), min_size=1, max_size=6, unique=True)))
    batches = [order[low:high] for low, high in zip([0, *cuts], [*cuts, len(order)], strict=True) if order[low:high]]
    clocks = sorted(draw(st.lists(st.integers(-10 * 24, 60 * 24), min_size=len(batches), max_size=len(batches))))
    restarts = draw(st.lists(st.sampled_from([False, False, False, True]), min_size=len(batches), max_size=len(batches)))
    return facts, batches, [START + timedelta(hours=hours) for hours in clocks], restarts


def catch_up(projector: Projector) -> None:
    while projector.step():
        pass
    while projector.step_due(limit=1000):
        pass


def finding_rows(view: ProjectedViews, account: str) -> dict[str, tuple[Any, ...]]:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT id, evidence, detected_at, resolved_at, summary FROM {view.name}_findings"
                     f" WHERE account_id = %s", (account,))
        return {str(row["id"]): (list(row["evidence"]), row["detected_at"], row["resolved_at"], row["summary"])
                for row in curs.fetchall()}


def view_row(view: ProjectedViews, account: str) -> tuple[Any, ...] | None:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT account_id, name, judged_at, health, stage, open_findings, top_severity, view"
                     f" FROM {view.name}_accounts WHERE account_id = %s", (account,))
        row = curs.fetchone()
    return None if row is None else comparable(tuple(row.values()))


def comparable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A view row with its view decoded; of the health trend, the present point (the past ones are scored apart)."""
    decoded = orjson.loads(row[7]) if isinstance(row[7], (bytes, str)) else row[7]
    if decoded.get("health"):
        decoded["health"]["trend"] = decoded["health"]["trend"][-1:]
    return (*row[:7], decoded)


@settings(max_examples=30)
@given(delivery=deliveries(), refold_budget=st.sampled_from([None, 0]))
def test_rows_written_live_equal_the_reference_whatever_the_arrival(
    view: ProjectedViews, base_url: str, delivery: tuple[list[Fact], list[list[Fact]], list[datetime], list[bool]],
    refold_budget: int | None,
) -> None:
    """With no budget for folding accounts again, every refold is left to a due step (`Projector.defer`)."""
    facts, batches, clocks, restarts = delivery
    account = unique()
    clock = [clocks[0]]
    projector = Projector(view, batch_size=1000, view_delay=timedelta(0), clock=lambda: clock[0],
                          refold_budget=refold_budget)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for batch, instant, restart in zip(batches, clocks, restarts, strict=True):
            record(client, [envelope(account, fact) for fact in batch])
            if restart:
                projector = Projector(view, batch_size=1000, view_delay=timedelta(0), clock=lambda: clock[0],
                                      refold_budget=refold_budget)
            clock[0] = instant
            catch_up(projector)
    clock[0] = LAST
    catch_up(projector)

    with view.datastore.transaction(commit=False) as curs:
        stored = histories(curs, [account], view.position(curs))[account]
    assert len(stored) == len(facts)
    history = history_of(account, stored)
    judged = evaluate(history, LAST)
    assert finding_rows(view, account) == {
        each.id: ([fact.position for fact in each.evidence], each.detected_at, each.resolved_at, each.summary)
        for each in judged.findings
    }
    row = view_row(view, account)
    assert row is not None
    instant = row[2]
    again = evaluate(history, instant)
    expected = account_view(history, instant, again.findings, DEFAULT_WEIGHTS, findings_then=findings_then(history))
    assert row == comparable(account_row(expected))
