"""The projector's folds against real PostgreSQL: late events refold from a checkpoint, early ones wait, bad states heal.

Each case ends with the same check: the account's finding rows and view equal those of a
projector that took in every event at once on fresh tables (the fold from scratch).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import orjson
import pytest
from eventsourcing.postgres import PostgresDatastore

from projections.account_state import findings_at
from projections.evaluation import evaluate, findings_then
from projections.facts import Fact
from projections.findings import Moment
from projections.folding import CHECKPOINT_EVERY
from projections.history import history_of
from projections.thresholds import DEFAULT_THRESHOLDS
from projections.view.account import account_view
from projections.view.health import DEFAULT_WEIGHTS
from projections.weeks import boundaries_before
from service.projection import projector as projector_module
from service.projection.finding_changes import CHANGES_TABLE
from service.projection.projector import TREND_POINTS, Projector
from service.projection.view_store import (
    CHECKPOINTS_TABLE,
    FINDINGS_TABLE,
    TREND_TABLE,
    WRITE_LOCK,
    ProjectedViews,
    account_events_from,
    histories,
    open_view_store,
)
from service.read.findings import FindingReads
from service.read.pool import ReadPool
from service.runtime.health import DatabaseHealth
from service.settings import connection_params
from tests.integration.test_findings import eventually
from tests.support import graphql, record, unique


def fresh_view(database_url: str) -> ProjectedViews:
    params = connection_params(database_url)
    datastore = PostgresDatastore(
        str(params["dbname"]), str(params["host"]), str(params["port"]), str(params["user"] or ""), "", pool_size=2
    )
    view = ProjectedViews(datastore, name=f"test_view_{uuid4().hex[:8]}")
    view.create_table()
    return view


@pytest.fixture
def views(database_url: str) -> Iterator[tuple[ProjectedViews, ProjectedViews]]:
    """Two views of their own: the one under test, and one folded from scratch to compare with."""
    made = fresh_view(database_url), fresh_view(database_url)
    yield made
    for view in made:
        view.datastore.close()


NOW = datetime.now(timezone.utc).replace(microsecond=0)


def at(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def weeks_of(account: str, weeks: int = 12) -> list[dict[str, Any]]:
    """A detractor, an urgent ticket and an upsell push each week: findings of three rules, checkpoints each week."""
    made: list[dict[str, Any]] = []
    for week in range(weeks):
        base = 7 * week + 1
        made += [
            {"id": f"{account}-n{week}", "source": "survey", "type": "marketing.nps.responded", "accountId": account,
             "contactId": "c-1", "occurredAt": at(base + 3), "data": {"score": 3, "surveyId": f"S-{week}"}},
            {"id": f"{account}-t{week}", "source": "desk", "type": "support.ticket.opened", "accountId": account,
             "occurredAt": at(base + 2), "data": {"ticketId": f"T-{week}", "priority": "urgent"}},
            {"id": f"{account}-o{week}", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
             "occurredAt": at(base + 1), "data": {"channel": "email", "intent": "upsell"}},
        ]
    return made


def projected(view: ProjectedViews, now: datetime = NOW) -> Projector:
    projector = Projector(view, batch_size=100_000, clock=lambda: now, view_delay=timedelta(0))
    caught_up(projector)
    return projector


def caught_up(projector: Projector) -> None:
    while projector.step():
        pass
    while projector.step_due(100_000):
        pass


def rows_of(view: ProjectedViews, account: str) -> tuple[list[tuple[Any, ...]], dict[str, Any] | None]:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT id, rule, evidence, detected_at, resolved_at, summary, final_at FROM {view.name}_findings"
                     " WHERE account_id = %s ORDER BY id", (account,))
        findings = [tuple(row.values()) for row in curs.fetchall()]
        curs.execute(f"SELECT view FROM {view.name}_accounts WHERE account_id = %s", (account,))
        row = curs.fetchone()
    return findings, None if row is None else orjson.loads(row["view"])


def same_as_from_scratch(views: tuple[ProjectedViews, ProjectedViews], account: str, now: datetime = NOW) -> None:
    under_test, scratch = views
    projected(scratch, now)
    got, expected = rows_of(under_test, account), rows_of(scratch, account)
    assert got[0] and got == expected


def count_checkpoints(view: ProjectedViews, account: str) -> int:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT count(*) AS n FROM {view.name}_checkpoints WHERE account_id = %s", (account,))
        row = curs.fetchone()
    assert row is not None
    return int(row["n"])


def test_a_late_event_refolds_from_the_checkpoint_before_it_not_from_the_start(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]
) -> None:
    account = unique()
    record(client, weeks_of(account, 60))  # 180 events: a checkpoint every CHECKPOINT_EVERY of them
    projector = projected(views[0])
    assert count_checkpoints(views[0], account) == 180 // CHECKPOINT_EVERY
    record(client, [{"id": f"{account}-late", "source": "desk", "type": "support.ticket.resolved", "accountId": account,
                     "occurredAt": at(17.5), "data": {"ticketId": "T-2"}}])
    before = projector.refolds
    caught_up(projector)
    refolded = projector.refolds - before
    assert 0 < refolded <= CHECKPOINT_EVERY + 3 + 1  # from the checkpoint before it, not the 181 events
    same_as_from_scratch(views, account)


def checkpoint_boundaries(view: ProjectedViews, account: str) -> list[datetime]:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT boundary FROM {view.name}_checkpoints WHERE account_id = %s ORDER BY boundary", (account,))
        return [row["boundary"] for row in curs.fetchall()]


def test_a_refold_past_the_budget_waits_as_due_with_its_stale_checkpoints_gone(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]
) -> None:
    """A step of new events leaves the refolds past its budget to a due step: meanwhile the account's rows stay as
    they were, and its checkpoints from the late event on (which lack it) are gone in the same transaction, so a
    restart folds it from one before; judged, it is as folded from scratch."""
    account = unique()
    record(client, weeks_of(account, 60))
    projector = projected(views[0])
    projector.refold_budget = 0  # every refold waits
    rows, boundaries = rows_of(views[0], account), checkpoint_boundaries(views[0], account)
    assert len(boundaries) >= 2
    late = boundaries[-1] - timedelta(days=3, hours=12)  # before the latest checkpoint: it lacks the event
    record(client, [{"id": f"{account}-late", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
                     "occurredAt": late.isoformat(), "data": {"channel": "call", "intent": "upsell"}}])
    assert projector.step() == 1 and projector.deferred == 1
    assert rows_of(views[0], account) == rows
    assert checkpoint_boundaries(views[0], account) == [boundary for boundary in boundaries if boundary < late]
    with views[0].datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT due_at FROM {views[0].name}_schedule WHERE account_id = %s", (account,))
        row = curs.fetchone()
        assert row is not None and row["due_at"] <= NOW
    restarted = Projector(views[0], batch_size=100_000, clock=lambda: NOW, view_delay=timedelta(0))
    caught_up(restarted)  # as after a crash: the deferred account folds from the checkpoint before the late event
    assert rows_of(views[0], account) != rows
    same_as_from_scratch(views, account)
    assert checkpoint_boundaries(views[0], account) == checkpoint_boundaries(views[1], account)


def test_an_account_left_due_and_folded_by_another_replica_takes_its_next_event_at_once(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]
) -> None:
    """A projector forgets which accounts it left due when another writer moved the view: the other may have folded
    them, and their new events are then folded at once rather than left due again."""
    account = unique()
    record(client, weeks_of(account, 60))
    a = projected(views[0])
    a.refold_budget = 0
    late = checkpoint_boundaries(views[0], account)[-1] - timedelta(days=3, hours=12)
    record(client, [{"id": f"{account}-late", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
                     "occurredAt": late.isoformat(), "data": {"channel": "call", "intent": "upsell"}}])
    assert a.step() == 1 and a.deferred == 1
    projected(views[0])  # a replica judges the account that came due
    record(client, [{"id": f"{account}-next", "source": "survey", "type": "marketing.nps.responded",
                     "accountId": account, "contactId": "c-2", "occurredAt": (NOW - timedelta(hours=1)).isoformat(),
                     "data": {"score": 2, "surveyId": "S-next"}}])
    assert a.step() == 1 and a.deferred == 1
    projected(views[1])
    assert rows_of(views[0], account)[0] == rows_of(views[1], account)[0]  # its findings (its view follows later)


def test_refold_sizes_count_the_events_a_refold_reads(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]
) -> None:
    """A step orders its refolds by these counts (the smallest first): they are what the refold reads."""
    account = unique()
    record(client, weeks_of(account, 60))
    projected(views[0])
    boundaries = checkpoint_boundaries(views[0], account)
    with views[0].datastore.transaction(commit=False) as curs:
        position = views[0].position(curs)
        for instant in (NOW - timedelta(days=500), boundaries[0], boundaries[-1] + timedelta(days=1),
                        datetime.max.replace(tzinfo=timezone.utc)):
            checkpoint = views[0].checkpoint_before(curs, account, instant)
            since = None if checkpoint is None else checkpoint[0] + timedelta(microseconds=1)
            read = account_events_from(curs, account, since, position)
            assert views[0].refold_sizes(curs, {account: instant}, position) == {account: len(read)}, instant


def test_an_event_dated_after_the_clock_waits_for_its_time(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]
) -> None:
    account = unique()
    soon = NOW + timedelta(hours=2)
    record(client, weeks_of(account, 2) + [
        {"id": f"{account}-soon", "source": "survey", "type": "marketing.nps.responded", "accountId": account,
         "occurredAt": soon.isoformat(), "data": {"score": 1, "surveyId": "S-9"}}])
    projector = projected(views[0])
    with views[0].datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT due_at FROM {views[0].name}_schedule WHERE account_id = %s", (account,))
        row = curs.fetchone()
        assert row is not None and row["due_at"] <= soon
    later = soon + timedelta(days=8)  # the response has happened, and its 7 days without a follow-up are over
    projector.clock = lambda: later
    caught_up(projector)
    findings, _ = rows_of(views[0], account)
    assert sum(1 for row in findings if row[1] == "ignored-detractor") == 3
    same_as_from_scratch(views, account, later)
    cold = Projector(views[0], batch_size=100_000, clock=lambda: later, view_delay=timedelta(0))  # a restart
    record(client, [{"id": f"{account}-after", "source": "desk", "type": "support.contact.made", "accountId": account,
                     "occurredAt": (later - timedelta(hours=1)).isoformat(), "data": {"channel": "call"}}])
    caught_up(cold)
    same_as_from_scratch(views, account, later)


def test_a_restarted_projector_reads_states_back_from_checkpoints_that_do_not_decode(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews], caplog: pytest.LogCaptureFixture
) -> None:
    """As a release that changed a rule's state finds the checkpoints of the one before."""
    account = unique()
    events = weeks_of(account, 40)  # the latest week first
    record(client, events[3:])
    projected(views[0])
    with views[0].datastore.transaction(commit=True) as curs:
        curs.execute(f"UPDATE {views[0].name}_checkpoints SET state = '{{\"not\": \"a state\"}}'"
                     " WHERE account_id = %s", (account,))
    record(client, events[:3])
    restarted = projected(views[0])
    assert f"a checkpoint of account {account!r} does not decode" in caplog.text and restarted.discarded >= 1
    same_as_from_scratch(views, account)
    assert count_checkpoints(views[0], account) == count_checkpoints(views[1], account)


def test_a_checkpoint_that_does_not_decode_is_never_used(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews], caplog: pytest.LogCaptureFixture
) -> None:
    account = unique()
    record(client, weeks_of(account, 40))
    projector = projected(views[0])
    assert count_checkpoints(views[0], account) >= 1
    with views[0].datastore.transaction(commit=True) as curs:
        curs.execute(f"UPDATE {views[0].name}_checkpoints SET state = 'garbage' WHERE account_id = %s", (account,))
    record(client, [{"id": f"{account}-late", "source": "desk", "type": "support.ticket.resolved", "accountId": account,
                     "occurredAt": at(10.5), "data": {"ticketId": "T-1"}}])
    caught_up(projector)
    assert f"a checkpoint of account {account!r} does not decode" in caplog.text
    same_as_from_scratch(views, account)
    assert count_checkpoints(views[0], account) == count_checkpoints(views[1], account)


AS_OF = """
query($id: ID!, $asOf: DateTime) { account(id: $id, asOf: $asOf) {
  health { score trend { at score } } lifecycle { stage since } satisfaction { responses detractors }
  findings(state: ALL) { rule detectedAt resolvedAt } } }"""


def as_of_answers(client: httpx.Client, account: str, instants: list[datetime]) -> list[dict[str, Any]]:
    answers = []
    for instant in instants:
        body = graphql(client, AS_OF, {"id": account, "asOf": instant.isoformat()})
        assert "errors" not in body, body
        answers.append(body["data"]["account"])
    return answers


def reference_answer(facts: list[Fact], account: str, instant: datetime) -> dict[str, Any]:
    history = history_of(account, facts).until(instant)
    findings = evaluate(history, instant).findings
    view = account_view(history, instant, findings, findings_then=findings_then(history))
    assert view.health is not None and view.lifecycle is not None and view.satisfaction is not None
    return {
        "health": {"score": view.health.score, "trend": [(point.at, point.score) for point in view.health.trend]},
        "lifecycle": (view.lifecycle.stage, view.lifecycle.since),
        "satisfaction": (view.satisfaction.responses, view.satisfaction.detractors),
        "findings": sorted((each.rule, each.detected_at, each.resolved_at) for each in findings),
    }


def parsed(answer: dict[str, Any]) -> dict[str, Any]:
    def instant(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text)

    return {
        "health": {"score": answer["health"]["score"],
                   "trend": [(instant(point["at"]), point["score"]) for point in answer["health"]["trend"]]},
        "lifecycle": (answer["lifecycle"]["stage"].lower(), instant(answer["lifecycle"]["since"])),
        "satisfaction": (answer["satisfaction"]["responses"], answer["satisfaction"]["detractors"]),
        "findings": sorted((each["rule"], instant(each["detectedAt"]), instant(each["resolvedAt"]))
                           for each in answer["findings"]),
    }


def test_as_of_from_checkpoints_answers_as_the_reference_and_never_serves_a_bad_checkpoint(
    client: httpx.Client, database_url: str
) -> None:
    """The live service: asOf at instants between and on week boundaries, then with its checkpoints spoiled."""
    account = unique()
    record(client, weeks_of(account, 60))
    view = open_view_store(connection_params(database_url))
    try:
        def projected() -> int:
            with view.datastore.transaction(commit=False) as curs:
                curs.execute(f"SELECT count(*) AS n FROM {CHECKPOINTS_TABLE} WHERE account_id = %s", (account,))
                row = curs.fetchone()
            return 0 if row is None else int(row["n"])

        assert eventually(lambda: projected() == 180 // CHECKPOINT_EVERY, timeout=30)
        with view.datastore.transaction(commit=False) as curs:
            facts = histories(curs, [account], view.position(curs))[account]
        monday = datetime.fromisoformat("2026-01-05T00:00:00+00:00")
        boundary = monday + timedelta(weeks=(NOW - timedelta(days=30) - monday) // timedelta(weeks=1))
        instants = [NOW - timedelta(days=3.5), NOW - timedelta(days=10, hours=5), boundary,
                    boundary + timedelta(microseconds=1), NOW - timedelta(days=60)]
        answers = as_of_answers(client, account, instants)
        for instant, answer in zip(instants, answers, strict=True):
            got, expected = parsed(answer), reference_answer(facts, account, instant)
            assert got["findings"] == expected["findings"], (instant, set(got["findings"]) ^ set(expected["findings"]))
            assert got == expected, instant
        with view.datastore.transaction(commit=True) as curs:
            curs.execute(f"UPDATE {CHECKPOINTS_TABLE} SET state = 'garbage' WHERE account_id = %s", (account,))
        assert [parsed(each) for each in as_of_answers(client, account, instants)] == [parsed(each) for each in answers]
    finally:
        view.datastore.close()


def test_a_trend_point_read_before_an_event_dated_before_it_is_scored_again(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]
) -> None:
    """A view read at a week boundary after the account's last event holds that score; an event that arrives next,
    dated before the boundary though after the last event (in order), changes it."""
    account = unique()
    point = boundaries_before(NOW - timedelta(days=1), 1)[0]

    def before_point(days: float) -> str:
        return (point - timedelta(days=days)).isoformat()

    record(client, [
        {"id": f"{account}-n", "source": "survey", "type": "marketing.nps.responded", "accountId": account,
         "contactId": "c-1", "occurredAt": before_point(20), "data": {"score": 9, "surveyId": "S-1"}},
        {"id": f"{account}-t1", "source": "desk", "type": "support.ticket.opened", "accountId": account,
         "occurredAt": before_point(3), "data": {"ticketId": "T-1", "priority": "low"}}])
    projector = projected(views[0])
    trend_before = rows_of(views[0], account)[1]["health"]["trend"]  # type: ignore[index]
    record(client, [{"id": f"{account}-t2", "source": "desk", "type": "support.ticket.opened", "accountId": account,
                     "occurredAt": before_point(1), "data": {"ticketId": "T-2", "priority": "urgent"}}])
    caught_up(projector)
    trend_after = rows_of(views[0], account)[1]["health"]["trend"]  # type: ignore[index]
    at_point = [each["score"] for each in (*trend_before, *trend_after) if each["at"] == point.isoformat()]
    assert len(at_point) == 2 and at_point[0] != at_point[1]
    projected(views[1])
    assert rows_of(views[0], account) == rows_of(views[1], account)


def changing_weeks(account: str, weeks: int) -> list[dict[str, Any]]:
    """Each week an NPS answer and a ticket, the scores and priorities changing and half the tickets resolved: a
    health trend that moves from week to week."""
    made: list[dict[str, Any]] = []
    for week in range(weeks):
        base = 7 * week + 1
        made += [
            {"id": f"{account}-n{week}", "source": "survey", "type": "marketing.nps.responded", "accountId": account,
             "contactId": f"c-{week % 3}", "occurredAt": at(base + 3),
             "data": {"score": (10, 9, 3, 8, 0)[week % 5], "surveyId": f"S-{week}"}},
            {"id": f"{account}-t{week}", "source": "desk", "type": "support.ticket.opened", "accountId": account,
             "occurredAt": at(base + 2), "data": {"ticketId": f"T-{week}", "priority": ("low", "urgent")[week % 2]}},
        ]
        if week % 2 == 0:
            made.append({"id": f"{account}-r{week}", "source": "desk", "type": "support.ticket.resolved",
                         "accountId": account, "occurredAt": at(base + 0.5), "data": {"ticketId": f"T-{week}"}})
    return made


def stored_trend(view: ProjectedViews, account: str) -> dict[datetime, int | None]:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT boundary, score FROM {TREND_TABLE} WHERE account_id = %s", (account,))
        return {row["boundary"]: row["score"] for row in curs.fetchall()}


def test_as_of_reads_stored_trend_points_and_counts_a_late_event_the_projector_has_not_taken_in(
    client: httpx.Client, database_url: str
) -> None:
    """The trend of an asOf is the projector's stored scores where it has them, scored by folding where not; an event
    stored but not yet taken in by the projector counts at once, in the stored points after it too."""
    account = unique()
    record(client, changing_weeks(account, 30))
    view = open_view_store(connection_params(database_url))
    instants = [NOW - timedelta(days=3.5), NOW - timedelta(days=30)]
    points = {point for instant in instants for point in boundaries_before(instant, TREND_POINTS)}
    try:
        assert eventually(lambda: points <= set(stored_trend(view, account)), timeout=30), stored_trend(view, account)
        with view.datastore.transaction(commit=False) as curs:
            facts = histories(curs, [account], view.position(curs))[account]
        answers = [parsed(each) for each in as_of_answers(client, account, instants)]
        assert answers == [reference_answer(facts, account, instant) for instant in instants]
        assert len({score for answer in answers for _, score in answer["health"]["trend"]}) > 3  # a trend that moves
        # Promoters' answers 45 and 100 days ago, recorded while the projector is held: asOf counts them at once, the
        # first in the stored points after it, the second though the latest checkpoint before T is after it.
        late = {"id": f"{account}-late", "source": "survey", "type": "marketing.nps.responded", "accountId": account,
                "contactId": "c-9", "occurredAt": at(45), "data": {"score": 10, "surveyId": "S-late"}}
        with view.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))  # the projector waits for it
            record(client, [late, {**late, "id": f"{account}-later", "contactId": "c-8", "occurredAt": at(100)}])
            held = [parsed(each) for each in as_of_answers(client, account, instants)]
            curs.execute(f"SELECT count(*) AS n FROM {TREND_TABLE} WHERE account_id = %s AND boundary > %s",
                         (account, NOW - timedelta(days=45)))
            row = curs.fetchone()
            assert row is not None and row["n"] >= 5  # the stored points after it, from before it was taken in
        with view.datastore.transaction(commit=False) as curs:
            facts = histories(curs, [account], view.position(curs) + 2)[account]
        assert len(facts) == 77
        expected = [reference_answer(facts, account, instant) for instant in instants]
        assert expected != answers and held == expected
        # Once taken in, the points from its instant are scored again and stored: the same answers.
        assert eventually(lambda: points <= set(stored_trend(view, account))
                          and stored_trend(view, account) != {}, timeout=30)
        assert eventually(lambda: [parsed(each) for each in as_of_answers(client, account, instants)] == expected,
                          timeout=30)
        # One the day before a checkpoint's boundary, asked as of that boundary while held: the checkpoint there
        # lacks it, so the read folds from the one before.
        with view.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT max(boundary) AS at FROM {CHECKPOINTS_TABLE} WHERE account_id = %s", (account,))
            row = curs.fetchone()
        assert row is not None and row["at"] is not None
        boundary: datetime = row["at"]
        with view.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            record(client, [{**late, "id": f"{account}-eve", "contactId": "c-7",
                             "occurredAt": (boundary - timedelta(days=1)).isoformat()}])
            got = parsed(as_of_answers(client, account, [boundary])[0])
        with view.datastore.transaction(commit=False) as curs:
            facts = histories(curs, [account], view.position(curs) + 1)[account]
        assert len(facts) == 78 and got == reference_answer(facts, account, boundary)
        expected = [reference_answer(facts, account, instant) for instant in instants]
        assert eventually(lambda: [parsed(each) for each in as_of_answers(client, account, instants)] == expected,
                          timeout=30)
        # Points no longer stored are scored by folding from the checkpoint at or before them: the same answers.
        with view.datastore.transaction(commit=True) as curs:
            curs.execute(f"DELETE FROM {TREND_TABLE} WHERE account_id = %s AND boundary < %s",
                         (account, NOW - timedelta(days=60)))
        assert [parsed(each) for each in as_of_answers(client, account, instants)] == expected
        # A point stored when it was recent, older than a refold scores again, goes with a late event before it.
        old = boundaries_before(NOW - timedelta(weeks=27), 1)[0]
        with view.datastore.transaction(commit=True) as curs:
            curs.execute(f"INSERT INTO {TREND_TABLE} (account_id, boundary, score) VALUES (%s, %s, 1)", (account, old))
        record(client, [{**late, "id": f"{account}-older", "occurredAt": at(7 * 28 + 3)}])
        assert eventually(lambda: old not in stored_trend(view, account), timeout=30)
    finally:
        view.datastore.close()


def bursts_of(account: str, weeks: int) -> list[dict[str, Any]]:
    """Seven touches from marketing and sales on one day every ten days: a contact-pressure finding each time, each
    final once the next first touch shows its burst is over."""
    return [{"id": f"{account}-b{week}-{n}", "source": "crm", "accountId": account, "occurredAt": at(10 * week + 1 + n / 24),
             **({"type": "marketing.campaign.sent", "data": {"campaignId": f"C-{week}", "channel": "email",
                                                             "intent": "nurture"}}
                if n < 4 else {"type": "sales.outreach.sent", "data": {"channel": "call", "intent": "check_in"}})}
            for week in range(weeks) for n in range(7)]


def test_final_findings_are_written_once_kept_across_refolds_and_found_again_when_a_late_event_changes_them(
    client: httpx.Client, database_url: str, views: tuple[ProjectedViews, ProjectedViews]
) -> None:
    """Findings that became final leave the state as rows of their own: a late event reopens those after the
    checkpoint it refolds from, they are found again the same (no change logged), and asOf still counts them."""
    account = unique()
    record(client, bursts_of(account, 30))  # 210 touches: 30 bursts, 29 of them over
    view = open_view_store(connection_params(database_url))
    try:
        def final_rows() -> list[tuple[Any, ...]]:
            with view.datastore.transaction(commit=False) as curs:
                curs.execute(f"SELECT id, evidence, resolved_at, final_at FROM {FINDINGS_TABLE}"
                             " WHERE account_id = %s AND final_at IS NOT NULL ORDER BY id", (account,))
                return [tuple(row.values()) for row in curs.fetchall()]

        def changes() -> list[tuple[str, str]]:
            with view.datastore.transaction(commit=False) as curs:
                curs.execute(f"SELECT finding_id::text AS id, change FROM {CHANGES_TABLE} WHERE account_id = %s"
                             " ORDER BY position", (account,))
                return [(row["id"], row["change"]) for row in curs.fetchall()]

        assert eventually(lambda: len(final_rows()) == 29, timeout=30), final_rows()
        logged = changes()
        assert len({finding for finding, _ in logged}) == 30
        assert all(sum(1 for each in logged if each[0] == finding) <= 2 for finding, _ in logged), logged
        # A late touch in a recent burst: refolded from the checkpoint before it, the bursts after it are
        # found again as they were, and that one gains the touch as evidence.
        late = {"id": f"{account}-late", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
                "occurredAt": at(10 * 5 + 1 + 3.5 / 24), "data": {"channel": "call", "intent": "check_in"}}
        before = final_rows()
        record(client, [late])
        assert eventually(lambda: final_rows() != before, timeout=30)
        after = final_rows()
        assert len(after) == 29
        grown = [row for row in after if row not in before]
        assert len(grown) == 1 and len(grown[0][1]) == 8, grown
        assert changes()[len(logged):] == [(str(grown[0][0]), "EVIDENCE_ADDED")]
        # asOf counts the findings that were final before its checkpoint, from their rows.
        with view.datastore.transaction(commit=False) as curs:
            facts = histories(curs, [account], view.position(curs))[account]
        for instant in (NOW - timedelta(days=3), NOW - timedelta(days=100)):
            got, expected = parsed(as_of_answers(client, account, [instant])[0]), reference_answer(facts, account, instant)
            assert got["findings"] == expected["findings"] and len(got["findings"]) > 10, instant
    finally:
        view.datastore.close()
    # A projector of its own, and one from scratch: the same rows, final instants included.
    projected(views[0])
    same_as_from_scratch(views, account)
    with views[0].datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT count(*) AS n FROM {views[0].name}_findings WHERE account_id = %s AND final_at IS NOT NULL",
                     (account,))
        row = curs.fetchone()
    assert row is not None and row["n"] == 29


def test_a_rule_that_gives_up_a_live_finding_as_final_stops_its_account_alone(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Both rows would have one id, and the batch's write would fail for every account: the account is set aside."""
    broken, sound = unique(), unique()
    record(client, weeks_of(broken, 2) + weeks_of(sound, 2))
    real = projector_module.take_final

    def contract_broken(state: Any) -> Any:
        final = real(state)
        live = findings_at(state, Moment(NOW), DEFAULT_THRESHOLDS)
        return final + [(NOW, each) for each in live[:1]] if state.account_id == broken else final

    monkeypatch.setattr(projector_module, "take_final", contract_broken)
    projected(views[0])
    assert f"cannot judge account {broken!r}" in caplog.text and "given up as final and read as live" in caplog.text
    assert rows_of(views[0], broken)[0] == [] and rows_of(views[0], sound)[0]  # the other account's rows are written


async def test_as_of_reads_the_final_findings_on_a_connection_that_never_read_anything(
    client: httpx.Client, database_url: str
) -> None:
    """asyncpg decodes an array inside an anonymous record only once its connection has met that array type: the
    final findings (their evidence is an array) must come in another form, or a fresh connection fails the read."""
    account = unique()
    record(client, bursts_of(account, 30))
    view = open_view_store(connection_params(database_url))
    try:
        def final_ids() -> set[str]:
            with view.datastore.transaction(commit=False) as curs:
                curs.execute(f"SELECT id::text AS id FROM {FINDINGS_TABLE} WHERE account_id = %s AND final_at IS NOT NULL",
                             (account,))
                return {row["id"] for row in curs.fetchall()}

        assert eventually(lambda: len(final_ids()) == 29, timeout=30)
        stored = final_ids()
    finally:
        view.datastore.close()
    async with asyncpg.create_pool(database_url, min_size=1, max_size=1) as pool:  # a connection new to every type
        judged = await FindingReads(ReadPool(pool, DatabaseHealth()), DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS).judged_as_of(
            account, NOW - timedelta(days=3))
    final = judged.final
    assert len(final) > 10 and {each.id for each in final} <= stored
    assert all(each.evidence and all(isinstance(position, int) for position in each.evidence) for each in final)
    assert all(each.resolved_at is not None and each.resolved_at.tzinfo is not None for each in final)
