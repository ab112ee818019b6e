"""Edges of the data-driven months (`service.projection.learning`), each found by a review: a conversion a refold
removes, the lookback window in a session that is not UTC, and a database from before the data-driven column."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from projections.attribution.settings import attribution_settings_from
from projections.thresholds import DEFAULT_THRESHOLDS, with_attribution
from service.projection.projector import Projector
from service.projection.view_store import ProjectedViews
from tests.integration.test_attribution_data_driven import journeys
from tests.integration.test_attribution_rows import assert_daily_sums_match, run, view  # noqa: F401  (fixture)
from tests.integration.test_data_driven_months import data_driven_rows
from tests.support import record, unique

UPGRADES = with_attribution(DEFAULT_THRESHOLDS, attribution_settings_from({"count_upgrades": True}))
JUNE = date(2025, 6, 1)


def at(month: int, day: int, hour: int = 12) -> str:
    return datetime(2025, month, day, hour, tzinfo=timezone.utc).isoformat()


def contact(account: str, name: str, when: str) -> dict[str, Any]:
    return {"id": name, "source": "crm", "type": "support.contact.made", "accountId": account, "occurredAt": when,
            "data": {"channel": "meeting"}}


def outreach(account: str, name: str, when: str) -> dict[str, Any]:
    return {"id": name, "source": "crm", "type": "sales.outreach.sent", "accountId": account, "occurredAt": when,
            "data": {"channel": "email", "intent": "follow_up"}}


def change(account: str, name: str, when: str, kind: str, mrr: str) -> dict[str, Any]:
    return {"id": name, "source": "billing", "type": "billing.subscription.changed", "accountId": account,
            "occurredAt": when, "data": {"change": kind, "plan": "pro", "mrr": mrr, "currency": "USD"}}


def won(account: str, when: str, amount: str = "1000.00") -> dict[str, Any]:
    return {"id": f"{account}-won", "source": "crm", "type": "sales.opportunity.won", "accountId": account,
            "occurredAt": when, "data": {"opportunityId": "O-1", "amount": amount, "currency": "USD"}}


def relearnt_by_hand_changes_nothing(projector: Projector, month: date) -> None:
    """The month's stored credits are those of its journeys: learning it again changes none."""
    before = data_driven_rows(projector.view)
    with projector.view.datastore.transaction(commit=True) as curs:
        projector.view.attribution.learning.mark(curs, [month])
    assert projector.relearn(timedelta(0)) == 0
    assert data_driven_rows(projector.view) == before


def test_a_conversion_a_refold_removes_marks_its_month(client: httpx.Client, view: ProjectedViews) -> None:  # noqa: F811
    """June's upgrade stops converting when a late change before it raises the MRR it adds to: its rows go, and
    June's journeys with them, though nothing of June is written again."""
    a, b, c = unique("up"), unique("up"), unique("up")
    record(client, [
        *[outreach(a, f"{a}-early{n}", datetime(2025, 4, 2 + n // 6, n % 6, tzinfo=timezone.utc).isoformat())
          for n in range(70)],  # a checkpoint at the end of April: the refold starts there
        change(a, f"{a}-start", at(5, 1), "start", "50"),
        change(a, f"{a}-upgrade", at(6, 10), "upgrade", "100"),  # converts 600 USD in June
        outreach(a, f"{a}-later", at(8, 20)),
        outreach(b, f"{b}-email", at(6, 5)), contact(b, f"{b}-meeting", at(6, 6)), won(b, at(6, 12)),
        contact(c, f"{c}-meeting", at(6, 3)),  # a journey not converted in June
    ])
    now = datetime(2025, 10, 1, tzinfo=timezone.utc)
    projector = Projector(view, UPGRADES, clock=lambda: now)
    run(projector)
    projector.relearn(timedelta(0))
    record(client, [change(a, f"{a}-late", at(6, 1), "downgrade", "200")])  # June 10 adds nothing now
    run(projector)
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT count(*) AS n FROM {view.name}_attribution_credits WHERE account_id = %s"
                     " AND conversion_kind = 'upgrade'", (a,))
        assert curs.fetchone() == {"n": 0}
    projector.relearn(timedelta(0))
    relearnt_by_hand_changes_nothing(projector, JUNE)


def test_the_lookback_window_counts_whole_days_in_any_session_time_zone(
    client: httpx.Client, view: ProjectedViews, database_url: str  # noqa: F811
) -> None:
    """March 2025's journeys not converted reach back 90 days of 24 hours from its last instant, as Python's windows
    do: to 31 December 23:59:59.999999 UTC, not an hour later as calendar days in New York's time would."""
    a, b = unique("tz"), unique("tz")
    record(client, [outreach(a, f"{a}-email", at(3, 10)), contact(a, f"{a}-meeting", at(3, 11)), won(a, at(3, 20)),
                    contact(b, f"{b}-meeting", "2025-01-01T00:30:00+00:00")])  # inside, by 30 minutes
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    run(Projector(view, clock=lambda: now))
    learnt = {}
    for zone in ("UTC", "America/New_York"):
        with psycopg.connect(database_url, row_factory=dict_row) as connection, connection.cursor() as curs:
            curs.execute(f"SET TimeZone = '{zone}'")
            found = view.attribution.learning.learn(curs, date(2025, 3, 1), now)
            assert found is not None
            learnt[zone] = found.units
    assert learnt["UTC"] == learnt["America/New_York"]


def test_a_view_from_before_the_data_driven_column_is_credited_when_it_starts(
    client: httpx.Client, view: ProjectedViews  # noqa: F811
) -> None:
    record(client, journeys(datetime.now(timezone.utc), accounts=20, seed=41))
    now = datetime.now(timezone.utc)
    projector = Projector(view, clock=lambda: now)
    run(projector)
    projector.relearn(timedelta(0))
    expected = data_driven_rows(view)
    with view.datastore.transaction(commit=True) as curs:  # as the release before left it
        for table in ("credits", "daily"):
            curs.execute(f"ALTER TABLE {view.name}_attribution_{table} DROP COLUMN data_driven")
        curs.execute(f"DROP TABLE {view.name}_attribution_effects, {view.name}_attribution_stale")
    view.create_table()
    view.create_table()  # again: the column is there, nothing more is marked
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT count(*) AS n FROM {view.name}_attribution_stale")
        row = curs.fetchone()
        assert row is not None and row["n"] >= 6
    assert projector.relearn(timedelta(0)) > 0
    assert data_driven_rows(view) == expected
    assert_daily_sums_match(view)


def test_a_month_written_while_it_is_learnt_stays_stale(client: httpx.Client, view: ProjectedViews) -> None:  # noqa: F811
    """The learning reads with no lock while the projector writes: a write that marks the month meanwhile keeps it
    stale, so the rows it wrote are learnt from next time."""
    a = unique("meanwhile")
    record(client, [outreach(a, f"{a}-email", at(3, 10)), won(a, at(3, 20))])
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    run(Projector(view, clock=lambda: now))
    learning, march = view.attribution.learning, date(2025, 3, 1)
    with view.datastore.transaction(commit=True) as curs:
        learnt = learning.learn(curs, march, now)
    assert learnt is not None
    with view.datastore.transaction(commit=True) as curs:
        learning.mark(curs, [march])  # as the projector's write of a touch of March would
    with view.datastore.transaction(commit=True) as curs:
        learning.store(curs, learnt, now)
        assert march in learning.due(curs, now, timedelta(0))
        learnt = learning.learn(curs, march, now)
        assert learnt is not None
        learning.store(curs, learnt, now)
        assert march not in learning.due(curs, now, timedelta(0))


MARCH = date(2025, 3, 1)


def learnt_march(client: httpx.Client, view: ProjectedViews) -> tuple[Projector, datetime]:  # noqa: F811
    """March's conversions learnt, and a late touch of March marking it stale again."""
    a, b, c = unique("two"), unique("two"), unique("two")
    record(client, [outreach(a, f"{a}-email", at(3, 10)), contact(a, f"{a}-meeting", at(3, 11)), won(a, at(3, 20)),
                    contact(b, f"{b}-meeting", at(3, 5)), won(b, at(3, 25))])
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    projector = Projector(view, clock=lambda: now)
    run(projector)
    projector.relearn(timedelta(0))
    record(client, [outreach(c, f"{c}-email", at(3, 12)), outreach(c, f"{c}-again", at(3, 13))])
    run(projector)
    return projector, now


def stale(view: ProjectedViews) -> list[date]:  # noqa: F811
    with view.datastore.transaction(commit=False) as curs:
        return view.attribution.learning.due(curs, datetime(2025, 6, 1, tzinfo=timezone.utc), timedelta(0))


def test_an_older_learning_never_overwrites_a_newer_one(client: httpx.Client, view: ProjectedViews) -> None:  # noqa: F811
    """Two projectors (replicas) learn March: the one that read it first, storing last, changes nothing."""
    projector, now = learnt_march(client, view)
    learning = view.attribution.learning
    with view.datastore.transaction(commit=True) as curs:
        older = learning.learn(curs, MARCH, now)
    d = unique("two")
    record(client, [contact(d, f"{d}-meeting{n}", at(3, 14 + n)) for n in range(3)])  # March changes again
    run(projector)
    assert Projector(view, clock=lambda: now).relearn(timedelta(0)) > 0  # the other replica
    assert MARCH not in stale(view)
    assert older is not None
    with view.datastore.transaction(commit=True) as curs:
        view.lock(curs)
        assert learning.store(curs, older, now) is False
    relearnt_by_hand_changes_nothing(projector, MARCH)


def test_a_learning_unmarks_no_mark_made_after_it(client: httpx.Client, view: ProjectedViews) -> None:  # noqa: F811
    """A learning read March's mark; another unmarked it; a write marked it anew: the first does not unmark that."""
    projector, now = learnt_march(client, view)
    learning = view.attribution.learning
    with view.datastore.transaction(commit=True) as curs:
        older = learning.learn(curs, MARCH, now)
    Projector(view, clock=lambda: now).relearn(timedelta(0))
    assert MARCH not in stale(view)
    d = unique("two")
    record(client, [contact(d, f"{d}-meeting", at(3, 14))])
    run(projector)
    assert older is not None
    with view.datastore.transaction(commit=True) as curs:
        view.lock(curs)
        learning.store(curs, older, now)
    assert MARCH in stale(view)


def test_a_learning_with_no_conversion_keeps_the_effects_of_rows_written_since(
    client: httpx.Client, view: ProjectedViews  # noqa: F811
) -> None:
    projector, now = learnt_march(client, view)
    learning = view.attribution.learning
    with view.datastore.transaction(commit=True) as curs:
        learnt = learning.learn(curs, MARCH, now)
        assert learnt is not None
        learning.mark(curs, [MARCH])  # a conversion written after a learning that saw none
        view.lock(curs)
        learning.store(curs, learnt._replace(units=None), now)
        assert learning.units(curs, [MARCH]) != {}
    assert MARCH in stale(view)


def test_a_learning_across_a_rebuild_swap_stores_nothing(client: httpx.Client, view: ProjectedViews) -> None:  # noqa: F811
    projector, now = learnt_march(client, view)
    learning = view.attribution.learning
    with view.datastore.transaction(commit=True) as curs:
        learnt = learning.learn(curs, MARCH, now)
        curs.execute(f"UPDATE {view.name}_settings SET generation = 'another view'")  # as the swap brings
    assert learnt is not None
    before = data_driven_rows(view)
    with view.datastore.transaction(commit=True) as curs:
        view.lock(curs)
        assert learning.store(curs, learnt, now) is False
    assert MARCH in stale(view) and data_driven_rows(view) == before
