"""An account with a long history keeps its recent checkpoints and a few older ones (`kept_checkpoints`), in SQL as
in the pure policy; late events and `asOf` at old instants answer as before."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from projections.folding import CHECKPOINT_EVERY, THINNED_EVERY, kept_checkpoints
from projections.thresholds import DEFAULT_THRESHOLDS
from projections.view.health import DEFAULT_WEIGHTS
from projections.weeks import WEEK
from service.projection.projector import judged_from_start
from service.projection.view_store import CHECKPOINTS_TABLE, ProjectedViews, histories, open_view_store
from service.settings import connection_params
from tests.integration.test_findings import eventually
from tests.integration.test_projector_folds import (
    NOW,
    as_of_answers,
    at,
    caught_up,
    parsed,
    projected,
    reference_answer,
    same_as_from_scratch,
    views,  # noqa: F401  (the fixture)
    weeks_of,
)
from tests.support import record, unique

WEEKS = 100


def long_history(account: str) -> list[dict[str, Any]]:
    """Two years: each week the three findings' events of `weeks_of` and twelve calls, 1,500 events in all."""
    calls = [{"id": f"{account}-c{week}-{n}", "source": "desk", "type": "support.contact.made", "accountId": account,
              "occurredAt": at(7 * week + 1 + n / 2), "data": {"channel": "call"}}
             for week in range(WEEKS) for n in range(12)]
    return [*weeks_of(account, WEEKS), *calls]


def record_all(client: httpx.Client, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 500):
        record(client, events[start:start + 500])


def stored_checkpoints(view: ProjectedViews, account: str, table: str | None = None) -> dict[datetime, int | None]:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT boundary, facts FROM {table or view.name + '_checkpoints'} WHERE account_id = %s",
                     (account,))
        return {row["boundary"]: row["facts"] for row in curs.fetchall()}


def test_the_view_store_thins_old_checkpoints_as_the_policy_does_and_refolds_stay_exact(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]  # noqa: F811
) -> None:
    account = unique()
    record_all(client, long_history(account))
    projector = projected(views[0])
    with views[0].datastore.transaction(commit=False) as curs:
        facts = histories(curs, [account], views[0].position(curs))[account]
    taken = [(boundary, count) for _, boundary, _, count in
             judged_from_start(account, facts, NOW, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS).checkpoints]
    stored = stored_checkpoints(views[0], account)
    assert set(stored) == kept_checkpoints(taken)
    assert stored == {boundary: count for boundary, count in taken if boundary in stored}  # each with its facts
    assert len(taken) >= 1_500 // (CHECKPOINT_EVERY + 15) and len(stored) <= len(taken) // 2  # 20 taken, 9 kept

    record(client, [{"id": f"{account}-late", "source": "desk", "type": "support.ticket.resolved", "accountId": account,
                     "occurredAt": at(7 * 70 + 0.5), "data": {"ticketId": "T-70"}}])  # in the thinned stretch
    before = projector.refolds
    caught_up(projector)
    assert projector.refolds - before < 70 * 15 + THINNED_EVERY + CHECKPOINT_EVERY + 15  # the weeks since, and a run
    same_as_from_scratch(views, account)
    after = stored_checkpoints(views[0], account)
    assert set(after) == kept_checkpoints([(boundary, count) for boundary, count in after.items() if count is not None])


def test_as_of_at_an_instant_before_the_kept_checkpoints_answers_as_the_reference(
    client: httpx.Client, database_url: str
) -> None:
    account = unique()
    record_all(client, long_history(account))
    view = open_view_store(connection_params(database_url))
    try:
        with view.datastore.transaction(commit=False) as curs:
            facts = histories(curs, [account], 2**62)[account]  # all of them: the live projector may not have them yet
        taken = [(boundary, count) for _, boundary, _, count in
                 judged_from_start(account, facts, NOW, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS).checkpoints]
        kept = kept_checkpoints(taken)
        assert eventually(lambda: set(stored_checkpoints(view, account, CHECKPOINTS_TABLE)) == kept, timeout=30)
        instants = [NOW - timedelta(weeks=weeks, hours=5) for weeks in (30, 55, 80)]
        # at one instant at least, the checkpoint a fold from the start takes before it was thinned away
        assert any(max(boundary for boundary, _ in taken if boundary <= instant) not in kept for instant in instants)
        for instant, answer in zip(instants, as_of_answers(client, account, instants), strict=True):
            assert parsed(answer) == reference_answer(facts, account, instant), instant
    finally:
        view.datastore.close()


def test_checkpoints_of_a_release_that_did_not_count_facts_are_kept_and_new_ones_thinned(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]  # noqa: F811
) -> None:
    """A view store of the release before (no `facts` column) gains the column; its checkpoints, not counted, stay
    (they are folded from as ever); those written from then on are counted and thinned."""
    account = unique()
    events = long_history(account)
    view = views[0]
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(f"ALTER TABLE {view.name}_checkpoints DROP COLUMN facts")
    with view.datastore.transaction(commit=True) as curs:  # the release before wrote its checkpoints like this
        curs.execute(f"INSERT INTO {view.name}_checkpoints (account_id, boundary, state)"
                     " SELECT %s, boundary, 'old' FROM unnest(%s::timestamptz[]) AS boundary",
                     (f"{account}-old", [NOW - timedelta(weeks=weeks) for weeks in range(60, 20, -4)]))
    view.create_table()
    view.create_table()  # again: the column is there
    old = stored_checkpoints(view, f"{account}-old")
    assert len(old) == 10 and set(old.values()) == {None}
    record_all(client, events)
    projected(view)
    assert stored_checkpoints(view, f"{account}-old") == old
    stored = stored_checkpoints(view, account)
    assert None not in stored.values() and set(stored) == kept_checkpoints(list(stored.items()))  # type: ignore[arg-type]
    assert len(stored) < 1_500 // (CHECKPOINT_EVERY + 15)


def test_thinning_counts_its_13_weeks_in_utc_whatever_the_session_s_time_zone(
    views: tuple[ProjectedViews, ProjectedViews]  # noqa: F811
) -> None:
    """13 weeks before 4 May 2026 is 2 Feb, across a change to summer time: a session in New York counting days
    would have it an hour short of 13 weeks and thin it."""
    view, account = views[0], unique()
    latest = datetime(2026, 5, 4, tzinfo=timezone.utc)
    written = [(account, latest - WEEK * weeks, b"state", facts)
               for weeks, facts in ((20, 10), (13, 100), (8, 600), (0, 700))]
    with view.datastore.transaction(commit=True) as curs:
        curs.execute("SET LOCAL TimeZone = 'America/New_York'")
        view.write_checkpoints(curs, {}, written)
    stored = stored_checkpoints(view, account)
    assert set(stored) == kept_checkpoints([(boundary, facts) for _, boundary, _, facts in written])
    assert set(stored) == {boundary for _, boundary, _, _ in written}


def test_facts_are_read_in_utc_whatever_the_session_s_time_zone(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]  # noqa: F811
) -> None:
    """An instant read in a zone with daylight saving would move by an hour when 7 days are added across its
    change: the folds take every fact in UTC."""
    account = unique()
    record(client, weeks_of(account, 3))
    with views[0].datastore.transaction(commit=False) as curs:
        curs.execute("SET LOCAL TimeZone = 'America/New_York'")
        facts = histories(curs, [account], 2**62)[account]
    assert facts and {fact.occurred_at.tzinfo for fact in facts} == {timezone.utc}
    with views[0].datastore.transaction(commit=False) as curs:
        assert histories(curs, [account], 2**62)[account] == facts
