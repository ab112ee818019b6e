"""The projector against real PostgreSQL: restarts skip nothing and count nothing twice; time alone moves findings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from projections.evaluation import evaluate
from projections.history import history_of
from projections.thresholds import thresholds_table
from service.projection import follower as following
from service.projection.follower import Follower
from service.projection.projector import Projector, read_findings
from service.projection.view_store import ProjectedViews, histories
from tests.integration.test_findings import account_findings, ago, eventually
from tests.integration.test_projector_folds import fresh_view
from tests.support import record, unique


@pytest.fixture
def view(database_url: str) -> Iterator[ProjectedViews]:
    """A findings view of its own (fresh tables), beside the running service's."""
    views = fresh_view(database_url)
    yield views
    views.datastore.close()


def rows_of(view: ProjectedViews) -> dict[str, tuple[object, ...]]:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT id, account_id, rule, evidence, detected_at, resolved_at, summary FROM {view.name}_findings")
        return {str(row["id"]): tuple(row.values()) for row in curs.fetchall()}


def test_a_projector_restarted_mid_stream_ends_as_one_run_straight_through(
    client: httpx.Client, view: ProjectedViews
) -> None:
    accounts = [unique() for _ in range(3)]
    events = [
        {"id": f"{account}-{n}", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
         "occurredAt": ago(days=1, seconds=n * 60), "data": {"channel": "email", "intent": "renewal"}}
        for account in accounts for n in range(8)
    ] + [
        {"id": f"{account}-t", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
         "occurredAt": ago(days=2), "data": {"ticketId": "T-1", "priority": "urgent"}}
        for account in accounts
    ]
    record(client, events)
    now = datetime.now(timezone.utc)
    first = Projector(view, batch_size=7, clock=lambda: now)
    for _ in range(2):  # 7 events, then 14 (batches grow while they come full): 21 of the 27
        first.step()

    def crash() -> datetime:
        raise KeyboardInterrupt("killed while judging a batch")

    crashing = Projector(view, batch_size=7, clock=crash)
    with pytest.raises(KeyboardInterrupt):
        crashing.step()  # its transaction rolls back: no rows, no tracking
    second = Projector(view, batch_size=7, clock=lambda: now)  # a new process: no cache, only the tracked position
    while second.step():
        pass
    with view.datastore.transaction(commit=False) as curs:
        position = view.position(curs)
        curs.execute("SELECT max(notification_id) AS last FROM cx360_events")
        row = curs.fetchone()
        assert row is not None and position == row["last"]
        stored = histories(curs, accounts, position)
    straight = Projector(view, batch_size=10_000, clock=lambda: now)
    expected = {
        each.id: each
        for account in accounts
        for each in evaluate(history_of(account, stored[account]), now).findings
    }
    got = {key: row for key, row in rows_of(view).items() if row[1] in accounts}
    assert set(got) == set(expected) and len(expected) == 3
    for finding_id, row in got.items():  # every push exactly once: none skipped, none doubled
        assert list(row[3]) == [fact.position for fact in expected[finding_id].evidence]
        assert len(row[3]) == 9
    assert straight.step() == 0  # nothing left over


def test_a_deadline_passing_opens_a_finding_with_no_new_event(client: httpx.Client) -> None:
    account = unique()
    detractor = {"id": f"{account}-nps", "source": "delighted", "type": "marketing.nps.responded",
                 "accountId": account, "occurredAt": ago(days=7, seconds=-2), "data": {"score": 2}}
    record(client, [detractor])
    assert account_findings(client, account) == []  # the 7 days are not over yet
    found = eventually(lambda: account_findings(client, account), timeout=15)
    assert [each["rule"] for each in found] == ["ignored-detractor"]


def nps(account: str, suffix: str, days_ago: float, score: int = 2) -> dict[str, object]:
    return {"id": f"{account}-{suffix}", "source": "delighted", "type": "marketing.nps.responded",
            "accountId": account, "occurredAt": ago(days=days_ago), "data": {"score": score}}


def test_a_view_written_anew_is_not_mistaken_for_the_cached_one(client: httpx.Client, view: ProjectedViews) -> None:
    """A rebuild's swap gives the view a new generation: the projector must drop what it remembers."""
    account = unique()
    record(client, [nps(account, "1", days_ago=10)])
    projector = Projector(view, batch_size=100_000, view_delay=timedelta(hours=1))  # the store's other accounts wait
    while projector.step():
        pass
    with view.datastore.transaction(commit=True) as curs:  # as a swap would: other rows, a due time passed
        view.set_thresholds(curs, thresholds_table(projector.thresholds))
        curs.execute(f"DELETE FROM {view.name}_findings WHERE account_id = %s", (account,))
        curs.execute(f"UPDATE {view.name}_schedule SET due_at = now() - interval '1 minute' WHERE account_id = %s",
                     (account,))
    assert projector.step_due() >= 1
    assert projector.step_due() == 0  # judged again and written: not due over and over
    assert [row[2] for row in rows_of(view).values() if row[1] == account] == ["ignored-detractor"]


def three_accounts_due(client: httpx.Client, view: ProjectedViews) -> Projector:
    """A projector that has taken in three new accounts, due a minute ago (the store's other accounts wait)."""
    accounts = [unique() for _ in range(3)]
    record(client, [nps(account, "1", days_ago=10) for account in accounts])
    projector = Projector(view, batch_size=100_000, view_delay=timedelta(hours=1))
    while projector.step():
        pass
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(f"UPDATE {view.name}_schedule SET due_at = now() - interval '1 minute' WHERE account_id = ANY(%s)",
                     (accounts,))
    return projector


def test_due_accounts_past_the_time_budget_stay_due_and_cached(client: httpx.Client, view: ProjectedViews) -> None:
    """Views judged when due take turns with new events: none is begun after the budget but the first."""
    projector = three_accounts_due(client, view)
    cached = len(projector.cache)
    assert projector.step_due(limit=10, enough=lambda: True) == 1  # the budget already spent: one account
    assert len(projector.cache) == cached  # the two left are still remembered, not refolded when their turn comes
    assert projector.step_due(limit=10) == 2
    assert projector.step_due(limit=10) == 0


def test_due_accounts_yield_to_waiting_events_once_their_share_is_spent(
    client: httpx.Client, view: ProjectedViews, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New events come first: with a notification waiting, views judged when due stop after their share (the first
    account always), and the notification is left for the follower's wait; with none, they go on within the budget."""
    projector = three_accounts_due(client, view)
    monkeypatch.setattr(following, "DUE_BUDGET", 60.0)  # no time limit in this test, only the share
    monkeypatch.setattr(following, "DUE_SHARE", 0.0)
    channel = f"cx360_test_{unique()}".replace("-", "_")
    follower = Follower(projector, database_url, channel)
    try:
        assert follower.listening() is not None
        assert not follower.events_waiting()
        with psycopg.connect(database_url, autocommit=True) as other:
            other.execute(sql.SQL("NOTIFY {0}").format(sql.Identifier(channel)))
        assert eventually(follower.events_waiting)
        assert follower.judge_due() == (1, False)
        assert follower.events_waiting()  # still there for the wait, which returns at once
        follower.wait(5.0)
        assert not follower.events_waiting()
        assert follower.judge_due() == (2, False)
        with psycopg.connect(database_url, autocommit=True) as other:
            other.execute(sql.SQL("NOTIFY {0}").format(sql.Identifier(channel)))
        assert eventually(follower.events_waiting)
        follower.take_notifications()  # as a turn does before its step, which reads what they tell of
        assert not follower.events_waiting()
    finally:
        follower.close_listener()


def test_a_write_that_fails_leaves_nothing_remembered(client: httpx.Client, view: ProjectedViews) -> None:
    """The batch is taken in again after a failed transaction, and no event counts twice."""
    account = unique()
    touches = [{"id": f"{account}-{n}", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
                "occurredAt": ago(days=1, seconds=n), "data": {"channel": "email", "intent": "renewal"}}
               for n in range(2)]
    ticket = {"id": f"{account}-t", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
              "occurredAt": ago(days=2), "data": {"ticketId": "T-1", "priority": "urgent"}}
    record(client, [ticket, touches[0]])
    projector = Projector(view, batch_size=100_000)
    while projector.step():
        pass
    record(client, [touches[1]])
    refuse = f"""
        CREATE FUNCTION {view.name}_refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON {view.name}_findings FOR EACH ROW EXECUTE FUNCTION {view.name}_refuse();
    """
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(refuse)
    with pytest.raises(Exception, match="refused for the test"):
        projector.step()
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(f"DROP TRIGGER refuse ON {view.name}_findings")
    while projector.step():
        pass
    evidence = [row[3] for row in rows_of(view).values() if row[1] == account]
    assert len(evidence) == 1 and len(evidence[0]) == len(set(evidence[0])) == 3


def test_a_replica_taking_a_batch_in_between_is_noticed_even_after_an_empty_step(
    client: httpx.Client, view: ProjectedViews
) -> None:
    """Two projectors on one view: what one remembers is dropped when the other moved the position."""
    account = unique()
    consent = {"id": f"{account}-c", "source": "hubspot", "type": "marketing.consent.changed", "accountId": account,
               "contactId": "c-1", "occurredAt": ago(days=3), "data": {"channel": "email", "granted": False}}
    campaign = {"id": f"{account}-m", "source": "hubspot", "type": "marketing.campaign.sent", "accountId": account,
                "contactId": "c-1", "occurredAt": ago(days=1),
                "data": {"campaignId": "C-1", "channel": "email", "intent": "nurture"}}
    name = {"id": f"{account}-n", "source": "crm", "type": "sales.account.updated", "accountId": account,
            "occurredAt": ago(days=5), "data": {"name": "Acme"}}
    first, second = Projector(view, batch_size=100_000), Projector(view, batch_size=100_000)
    record(client, [name])
    while first.step():
        pass
    record(client, [consent])
    while second.step():
        pass
    assert first.step() == 0  # nothing new for it: it must still notice the view moved on
    record(client, [campaign])
    while first.step():
        pass
    assert [row[2] for row in rows_of(view).values() if row[1] == account] == ["contact-after-opt-out"]


def test_an_account_that_cannot_be_judged_holds_up_no_other(
    client: httpx.Client, view: ProjectedViews, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A rule that raises on one account's odd data: the others are judged, the position moves, it is retried."""
    import service.projection.projector

    odd, fine = unique(), unique()
    record(client, [{"id": f"{account}-t", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
                     "occurredAt": ago(days=2), "data": {"ticketId": "T-1", "priority": "urgent"}} for account in (odd, fine)]
           + [{"id": f"{account}-o", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
               "occurredAt": ago(days=1), "data": {"channel": "email", "intent": "upsell"}} for account in (odd, fine)])

    def failing(folded: Any, *args: Any, **kwargs: Any) -> Any:
        if folded.state.account_id == odd:
            raise ValueError("a rule met data it did not expect")
        return read_findings(folded, *args, **kwargs)

    monkeypatch.setattr(service.projection.projector, "read_findings", failing)
    now = datetime.now(timezone.utc)
    projector = Projector(view, batch_size=100_000, clock=lambda: now)
    while projector.step():
        pass
    assert {row[1] for row in rows_of(view).values()} >= {fine} and odd not in {row[1] for row in rows_of(view).values()}
    assert f"cannot judge account {odd!r}" in caplog.text
    monkeypatch.setattr(service.projection.projector, "read_findings", read_findings)  # a release with the rule mended
    later = now + service.projection.projector.RETRY
    projector.clock = lambda: later
    while projector.step_due(limit=100_000):
        pass
    assert odd in {row[1] for row in rows_of(view).values()}


def test_batches_grow_while_a_backlog_lasts_and_come_back_to_their_size(client: httpx.Client, view: ProjectedViews) -> None:
    account = unique()
    record(client, [{"id": f"{account}-{n}", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
                     "occurredAt": ago(days=1, seconds=n), "data": {"channel": "email", "intent": "renewal"}}
                    for n in range(400)])
    projector = Projector(view, batch_size=10, clock=lambda: datetime.now(timezone.utc))
    with view.datastore.transaction(commit=False) as curs:
        backlog = projector.view.position(curs)
        # rows, not the last id: a batch rolled back after its ids were drawn leaves ids no row has (other tests'
        # failed appends do), and the projector takes every row once
        curs.execute("SELECT count(*) AS stored FROM cx360_events WHERE notification_id > %s", (backlog,))
        row = curs.fetchone()
    assert row is not None
    sizes = []
    while taken := projector.step():
        sizes.append(taken)
    assert sum(sizes) == row["stored"]
    assert max(sizes) == 160 and sizes[:5] == [10, 20, 40, 80, 160]  # at most 16 times the batch size
    assert projector.next_batch == 10  # the last batch was not full: live traffic takes batches of its size again


def test_a_due_time_that_stays_as_it_is_is_not_written_again(view: ProjectedViews) -> None:
    """A live step sets the due time of every account it took events for; most are due sooner already, and their
    rows are left alone (no new row version) rather than rewritten with the same time."""
    now = datetime.now(timezone.utc)
    soon, later = unique(), unique()

    def write(due: dict[str, datetime | None], keep_earlier_due: bool) -> None:
        with view.datastore.transaction(commit=True) as curs:
            view.write(curs, {}, due, None, keep_earlier_due=keep_earlier_due)

    def rows() -> dict[str, tuple[Any, ...]]:
        with view.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT account_id, due_at, xmin::text AS version FROM {view.name}_schedule"
                         " WHERE account_id = ANY(%s)", ([soon, later],))
            return {row["account_id"]: (row["due_at"], row["version"]) for row in curs.fetchall()}

    write({soon: now, later: None}, keep_earlier_due=False)
    first = rows()
    write({soon: now + timedelta(seconds=2), later: None}, keep_earlier_due=True)  # due sooner already; not due
    assert rows() == first
    write({soon: now - timedelta(seconds=1), later: now}, keep_earlier_due=True)  # sooner: both change
    second = rows()
    assert second[soon][0] == now - timedelta(seconds=1) and second[later][0] == now
    assert all(second[account][1] != first[account][1] for account in (soon, later))
    write({soon: second[soon][0], later: None}, keep_earlier_due=False)  # judged: one the same, one not due
    third = rows()
    assert third[soon] == second[soon] and third[later][0] is None


def test_a_late_event_that_undoes_a_final_finding_removes_its_row(client: httpx.Client, view: ProjectedViews) -> None:
    """A follow-up arriving late, dated within the deadline, means the detractor was never ignored.

    The finding was final (closed by a follow-up after its deadline) and the account's live
    findings are the same before and after the late event (none): its row must go all the
    same, as a rebuild would never have written it.
    """
    account = unique()

    def follow_up(suffix: str, days_ago: float) -> dict[str, object]:
        return {"id": f"{account}-{suffix}", "source": "zendesk", "type": "support.contact.made", "accountId": account,
                "occurredAt": ago(days=days_ago), "data": {"channel": "email", "reason": "check_in"}}

    record(client, [nps(account, "1", days_ago=10), follow_up("late", days_ago=1)])
    projector = Projector(view, batch_size=100_000, view_delay=timedelta(hours=1))  # the store's other accounts wait
    while projector.step():
        pass
    assert [row[2] for row in rows_of(view).values() if row[1] == account] == ["ignored-detractor"]
    record(client, [follow_up("in-time", days_ago=8)])
    while projector.step():
        pass
    assert [row[2] for row in rows_of(view).values() if row[1] == account] == []


def test_a_finding_that_did_not_change_is_not_written_again(client: httpx.Client, view: ProjectedViews) -> None:
    """An account's findings are written by difference: a push that adds evidence to one rewrites that one alone."""
    account = unique()
    ticket = {"id": f"{account}-t", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
              "occurredAt": ago(days=3), "data": {"ticketId": "T-1", "priority": "urgent"}}

    def push(n: int) -> dict[str, object]:
        return {"id": f"{account}-p{n}", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
                "occurredAt": ago(days=2, seconds=-n), "data": {"channel": "email", "intent": "renewal"}}

    def versions() -> dict[str, tuple[str, str]]:
        with view.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT rule, xmin::text AS version, cardinality(evidence)::text AS pieces"
                         f" FROM {view.name}_findings WHERE account_id = %s", (account,))
            return {row["rule"]: (row["version"], row["pieces"]) for row in curs.fetchall()}

    record(client, [ticket, push(1), nps(account, "1", days_ago=10)])
    projector = Projector(view, batch_size=100_000, view_delay=timedelta(hours=1))  # the store's other accounts wait
    while projector.step():
        pass
    before = versions()
    assert set(before) == {"sales-pressure-during-escalation", "ignored-detractor"}
    record(client, [push(2)])
    while projector.step():
        pass
    after = versions()
    assert after["ignored-detractor"] == before["ignored-detractor"]  # the same row version: not written again
    assert after["sales-pressure-during-escalation"][1] == "3" != before["sales-pressure-during-escalation"][1]
    with view.datastore.transaction(commit=False) as curs:
        stored = histories(curs, [account], view.position(curs))[account]
    expected = evaluate(history_of(account, stored), datetime.now(timezone.utc)).findings
    assert sorted((row[2], list(row[3])) for row in rows_of(view).values() if row[1] == account) == sorted(
        (each.rule, [fact.position for fact in each.evidence]) for each in expected)


def test_a_replica_judging_due_accounts_in_between_is_noticed(client: httpx.Client, view: ProjectedViews) -> None:
    """Judging due accounts writes rows and moves no position: another projector must not trust its cache after it.

    B takes the events; A, with a later clock, opens an ignored-detractor finding when its
    deadline passes; then a follow-up dated before that deadline arrives, with a push: the
    finding never held. B, writing the account by difference from what it remembers, left
    A's row behind (found by review); it must see the view was written and replace it whole.
    """
    now = datetime.now(timezone.utc)
    account = unique()

    def event(suffix: str, event_type: str, before: timedelta, **data: object) -> dict[str, object]:
        return {"id": f"{account}-{suffix}", "source": "test", "type": event_type, "accountId": account,
                "occurredAt": (now - before).isoformat(), "data": data}

    record(client, [event("nps", "marketing.nps.responded", timedelta(days=8), score=2),
                    event("t", "support.ticket.opened", timedelta(days=3), ticketId="T-1", priority="urgent"),
                    event("p1", "sales.outreach.sent", timedelta(days=2, hours=12), channel="email", intent="renewal")])
    clock_b = [now - timedelta(days=2)]
    b = Projector(view, batch_size=100_000, clock=lambda: clock_b[0], view_delay=timedelta(hours=1))
    a = Projector(view, batch_size=100_000, clock=lambda: now, view_delay=timedelta(hours=1))
    while b.step():
        pass
    while a.step_due(limit=100_000):
        pass
    assert "ignored-detractor" in {row[2] for row in rows_of(view).values() if row[1] == account}
    record(client, [event("c", "support.contact.made", timedelta(days=1, hours=12), channel="email"),
                    event("p2", "sales.outreach.sent", timedelta(days=1, hours=11), channel="email", intent="renewal")])
    clock_b[0] = now
    while b.step():
        pass
    with view.datastore.transaction(commit=False) as curs:
        stored = histories(curs, [account], view.position(curs))[account]
    expected = evaluate(history_of(account, stored), now).findings
    assert sorted((row[2], list(row[3])) for row in rows_of(view).values() if row[1] == account) == sorted(
        (each.rule, [fact.position for fact in each.evidence]) for each in expected)
