"""The findings view in PostgreSQL: finding rows, each account's next due time, and tracking.

It is the store library's tracking recorder with our tables beside its tracking table,
so the rows of a batch and the position they bring the view to are written in one
transaction: a crash or a restart neither skips an event nor counts one twice. Every
write first takes one advisory lock, so two replicas' projectors (or a rebuild's final
swap) never interleave.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID, uuid4

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from domain.stream import account_stream_id
from projections.account_state import Final
from projections.facts import ORDER, Fact, fact_from_stored
from projections.findings import SEVERITY_RANK, Finding
from projections.folding import KEPT_WHOLE, THINNED_EVERY, kept_checkpoints
from projections.view.model import AccountView
from service.projection import finding_changes
from service.projection.attribution_store import (
    CREDITS,
    DAILY,
    EFFECTS,
    STALE,
    TOUCHES,
    AttributionTables,
    AttributionWrites,
)
from service.projection.attribution_store import create_statements as attribution_create_statements
from service.runtime.database import datastore_of
from service.store.ddl import columns_if_missing, index_on
from service.store.tables import APPLICATION, EVENTS_TABLE

LIVE = "cx360_view"  # the live view's tables are named after it; a rebuild builds another beside it
FINDINGS_TABLE = f"{LIVE}_findings"
ACCOUNT_VIEWS_TABLE = f"{LIVE}_accounts"
SETTINGS_TABLE = f"{LIVE}_settings"
CHECKPOINTS_TABLE = f"{LIVE}_checkpoints"
TREND_TABLE = f"{LIVE}_trend"
TRACKING_TABLE = f"{LIVE}_tracking"
WRITE_LOCK = 3_600_360  # pg_advisory_xact_lock key of the projected views
CREATE_LOCK = 0x6378333630_766977  # serialises processes creating the views' tables, triggers and functions


@dataclass(frozen=True)
class FindingsChanged:
    """An account's live findings as a difference from the rows written last: those new or changed, those gone."""

    written: list[Finding]
    gone: list[str]  # ids

    def ids(self) -> list[str]:
        return [*(each.id for each in self.written), *self.gone]


def changes_between(before: Sequence[Finding], after: Sequence[Finding]) -> FindingsChanged:
    """What turns the live rows of `before` into those of `after`: an account with many open findings of which
    one gained evidence rewrites that one, not all."""
    old = {each.id: each for each in before}
    kept = {each.id for each in after}
    return FindingsChanged([each for each in after if old.get(each.id) != each],
                           [each.id for each in before if each.id not in kept])


class ProjectedViews(PostgresTrackingRecorder):
    """Every account's findings and view, kept at a tracked position in the event log.

    Tables, all named after the view (`cx360_view` live; a rebuild builds `cx360_view_next`):
    `_findings` (a row per finding), `_accounts` (a row per account: its view as JSON and
    the columns lists sort and filter by), `_schedule` (when an account must be judged
    again with no new event), `_tracking` (the library's tracking table), `_settings`
    (the rule thresholds the rows were judged with) and `_checkpoints` (each account's
    folded state at some week boundaries, `projections.folding`; an account's state now
    is its latest checkpoint with the events after it), `_trend` (the health score at
    week boundaries the account's fold has passed: what the trend and `asOf` read instead
    of folding the weeks again), and attribution's `_attribution_credits`
    and `_attribution_touches` (`service.projection.attribution_store`).
    """

    def __init__(self, datastore: PostgresDatastore, *, name: str = LIVE) -> None:
        super().__init__(datastore, tracking_table_name=f"{name}_tracking")
        self.name = name
        self.logs_changes = name == LIVE  # a rebuild's shadow logs its changes once, at the swap
        self.sql_create_statements.insert(0, SQL("SELECT pg_advisory_xact_lock({0})").format(CREATE_LOCK))
        self.sql_create_statements.extend(create_statements(name))
        self.sql_create_statements.extend(attribution_create_statements(name))
        self.sql_create_statements.extend(finding_changes.CREATE)
        self.attribution = AttributionTables(name)
        table, schedule = Identifier(f"{name}_findings"), Identifier(f"{name}_schedule")
        accounts = Identifier(f"{name}_accounts")
        self.delete_accounts = SQL("DELETE FROM {0} WHERE account_id = ANY(%b::text[])").format(accounts)
        self.bump_findings_version = SQL(
            "UPDATE {0} SET findings_version = findings_version + 1 WHERE account_id = ANY(%b::text[])"
        ).format(accounts)
        self.copy_accounts = SQL(
            "COPY {0} (account_id, name, judged_at, health, stage, open_findings, top_severity, view)"
            " FROM STDIN (FORMAT BINARY)"
        ).format(accounts)
        self.delete_findings = SQL("DELETE FROM {0} WHERE " + finding_changes.REPLACED).format(table)
        self.reopen_final = SQL(
            "UPDATE {0} f SET final_at = NULL FROM unnest(%b::text[], %b::timestamptz[]) AS d (account_id, after)"
            " WHERE f.account_id = d.account_id AND f.final_at > d.after"
        ).format(table)
        self.copy_findings = SQL(
            "COPY {0} (id, account_id, rule, key, severity, departments, evidence, detected_at, resolved_at, summary,"
            " final_at) FROM STDIN (FORMAT BINARY)"
        ).format(table)
        # A row whose due time stays as it is is not written again (no new row version): a live step sets
        # every account it took events for, and most are already due sooner (`least`).
        self.upsert_due = SQL(
            "INSERT INTO {0} AS s (account_id, due_at) SELECT * FROM unnest(%b::text[], %b::timestamptz[])"
            " ON CONFLICT (account_id) DO UPDATE SET due_at = excluded.due_at"
            " WHERE s.due_at IS DISTINCT FROM excluded.due_at"
        ).format(schedule)
        self.upsert_earlier_due = SQL(
            "INSERT INTO {0} AS s (account_id, due_at) SELECT * FROM unnest(%b::text[], %b::timestamptz[])"
            " ON CONFLICT (account_id) DO UPDATE SET due_at = least(s.due_at, excluded.due_at)"
            " WHERE s.due_at IS DISTINCT FROM least(s.due_at, excluded.due_at)"
        ).format(schedule)
        self.select_due = SQL("SELECT account_id FROM {0} WHERE due_at <= %s ORDER BY due_at LIMIT %s").format(schedule)
        self.select_next_due = SQL("SELECT min(due_at) AS due_at FROM {0}").format(schedule)
        checkpoints = Identifier(f"{name}_checkpoints")
        self.select_checkpoint_before = SQL(
            "SELECT boundary, state FROM {0} WHERE account_id = %s AND boundary < %s ORDER BY boundary DESC LIMIT 1"
        ).format(checkpoints)
        self.delete_checkpoints_from = SQL(
            "DELETE FROM {0} c USING unnest(%b::text[], %b::timestamptz[]) AS d (account_id, boundary)"
            " WHERE c.account_id = d.account_id AND c.boundary >= d.boundary"
        ).format(checkpoints)
        self.select_checkpoints_before = SQL(  # one index scan per account (as SELECT_ACCOUNTS_FROM)
            "SELECT d.account_id, c.boundary, c.state FROM unnest(%s::text[], %s::timestamptz[]) AS d (account_id,"
            " before_at) CROSS JOIN LATERAL (SELECT boundary, state FROM {0} WHERE account_id = d.account_id"
            " AND boundary < d.before_at ORDER BY boundary DESC LIMIT 1) AS c"
        ).format(checkpoints)
        self.select_refold_sizes = SQL(  # per account, by index (as SELECT_ACCOUNTS_FROM)
            "SELECT d.account_id, n.events"
            " FROM unnest(%s::text[], %s::uuid[], %s::timestamptz[]) AS d (account_id, originator_id, before_at)"
            " LEFT JOIN LATERAL (SELECT c.boundary FROM {0} c WHERE c.account_id = d.account_id"
            " AND c.boundary < d.before_at ORDER BY c.boundary DESC LIMIT 1) AS cp ON true"
            " CROSS JOIN LATERAL (SELECT count(*) AS events FROM {1} e WHERE e.originator_id = d.originator_id"
            " AND e.occurred_at > coalesce(cp.boundary, '-infinity') AND e.notification_id <= %s) AS n"
        ).format(checkpoints, Identifier(EVENTS_TABLE))
        self.upsert_checkpoints = SQL(
            "INSERT INTO {0} (account_id, boundary, state, facts)"
            " SELECT * FROM unnest(%b::text[], %b::timestamptz[], %b::bytea[], %b::int8[])"
            " ON CONFLICT (account_id, boundary) DO UPDATE SET state = excluded.state, facts = excluded.facts"
        ).format(checkpoints)
        # `projections.folding.kept_checkpoints`: of each account's checkpoints older than KEPT_WHOLE before its latest,
        # all but the first of each run of THINNED_EVERY facts go (those written before facts were counted stay)
        self.thin_checkpoints_of = SQL(
            "DELETE FROM {0} c USING ("
            " SELECT account_id, boundary, row_number() OVER (PARTITION BY account_id, facts / %(every)s"
            " ORDER BY boundary) AS n"
            " FROM {0} k WHERE k.account_id = ANY(%(accounts)s) AND k.facts IS NOT NULL"
            " AND k.boundary < (SELECT max(boundary) FROM {0} m WHERE m.account_id = k.account_id)"
            " - make_interval(secs => %(whole)s)"  # seconds: an interval of days is counted in the session's zone
            ") AS d WHERE d.n > 1 AND c.account_id = d.account_id AND c.boundary = d.boundary"
        ).format(checkpoints)
        trend = Identifier(f"{name}_trend")
        self.delete_trend_from = SQL(
            "DELETE FROM {0} t USING unnest(%b::text[], %b::timestamptz[]) AS d (account_id, boundary)"
            " WHERE t.account_id = d.account_id AND t.boundary >= d.boundary"
        ).format(trend)
        self.upsert_trend = SQL(
            "INSERT INTO {0} (account_id, boundary, score)"
            " SELECT * FROM unnest(%b::text[], %b::timestamptz[], %b::int4[])"
            " ON CONFLICT (account_id, boundary) DO UPDATE SET score = excluded.score"
        ).format(trend)
        self.select_trend = SQL(
            "SELECT boundary, score FROM {0} WHERE account_id = %s AND boundary = ANY(%s::timestamptz[])"
        ).format(trend)
        settings = Identifier(f"{name}_settings")
        # the library's own statement for the position, as a scalar subquery (its one parameter: the application)
        self.select_settings_and_position = SQL(
            "SELECT s.thresholds, s.generation, s.writes, ({0}) AS position FROM (SELECT) AS one"
            " LEFT JOIN {1} s ON s.id = 1").format(
            self.max_tracking_id_statement, settings)
        self.count_writes = SQL("UPDATE {0} SET writes = writes + 1 WHERE id = 1 RETURNING writes").format(settings)
        self.upsert_settings = SQL(
            "INSERT INTO {0} (id, thresholds, generation) VALUES (1, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET thresholds = excluded.thresholds, generation = excluded.generation"
        ).format(settings)

    def position(self, curs: Cursor[DictRow]) -> int:
        """The last event the view has taken in (0 before the first)."""
        return self._max_tracking_id(APPLICATION, curs) or 0

    def settings_and_position(self, curs: Cursor[DictRow]) -> tuple[tuple[dict[str, Any], str, int] | None, int]:
        """The view's settings: the rule thresholds the rows were judged with, its generation and its writes (None:
        never written); and its `position`. One statement: a projector's step reads both first, under the lock.

        The generation changes when the view is written from scratch (a rebuild), and the
        count of writes with every projector's write (`count_write`): either tells a
        projector that rows it remembers may no longer be those in the tables. The position
        alone does not: judging accounts that came due writes rows and moves no position.
        """
        curs.execute(self.select_settings_and_position, (APPLICATION,), prepare=True)
        row = curs.fetchone()
        assert row is not None
        settings = None if row["generation"] is None else (
            dict(row["thresholds"]), str(row["generation"]), int(row["writes"]))
        return settings, row["position"] or 0

    def lock(self, curs: Cursor[DictRow]) -> None:
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    def write(
        self,
        curs: Cursor[DictRow],
        findings: Mapping[str, Sequence[Finding]],
        due: Mapping[str, datetime | None],
        position: int | None,
        views: Mapping[str, AccountView] | None = None,
        *,
        keep_earlier_due: bool = False,
        final: Mapping[str, Sequence[Final]] | None = None,
        reopened: Mapping[str, datetime | None] | None = None,
        attribution: Mapping[str, AttributionWrites] | None = None,
        changed: Mapping[str, FindingsChanged] | None = None,
    ) -> None:
        """Replace the findings and views of the given accounts, set their due times, move the tracking.

        An account's rows are its live findings (`final_at` null), replaced whole (or by
        difference: `changed`), and its final ones (`projections.fold`), each written once
        with the instant it became final. `findings` holds every live finding of each account written; `final` the
        findings that became final since. `reopened` names accounts folded again from a
        checkpoint (or from their first event: None): their rows final after it are found
        again, so they become live rows, replaced like the others. With
        `keep_earlier_due`, an account already due sooner keeps that time. `attribution`
        holds the accounts' credit rows and journeys (`attribution_store`), whose rows
        settled after a refold's checkpoint go first. `changed` holds accounts written by
        difference: the live findings that are new or changed, and the ids of those that went
        (the projector knows the rows it wrote last); their other rows stay as they are.
        """
        final = final or {}
        self.attribution.write(curs, attribution or {}, reopened or {})
        if reopened:
            curs.execute(self.reopen_final, (list(reopened), [
                datetime.min.replace(tzinfo=timezone.utc) if after is None else after for after in reopened.values()]))
        changed = changed or {}
        accounts = list({**findings, **final})
        final_ids = [UUID(each.id) for group in final.values() for _, each in group]
        changed_ids = [UUID(each) for difference in changed.values() for each in difference.ids()]
        if views:
            curs.execute(self.delete_accounts, (list(views),))
            with curs.copy(self.copy_accounts) as copy:
                copy.set_types(ACCOUNT_TYPES)
                for view in views.values():
                    copy.write_row(account_row(view))
        if accounts or changed:  # readers that cache an account's answers see that its findings changed
            curs.execute(self.bump_findings_version, ([*accounts, *changed],))
            scope = finding_changes.scope_of(accounts, final_ids, changed_ids)
            if self.logs_changes:  # the rows deleted are kept aside, to be compared with those that replace them
                finding_changes.keep_old_rows(curs, f"{self.name}_findings", accounts, final_ids, changed_ids)
            else:
                curs.execute(self.delete_findings, scope)
            with curs.copy(self.copy_findings) as copy:
                copy.set_types(COPY_TYPES)
                for group in [*findings.values(), *(difference.written for difference in changed.values())]:
                    for each in group:
                        copy.write_row(row_of(each))
                for final_group in final.values():
                    for final_at, each in final_group:
                        copy.write_row(row_of(each, final_at))
            if self.logs_changes:
                finding_changes.record_changes(curs, finding_changes.OLD_ROWS, f"{self.name}_findings", accounts,
                                               final_ids, changed_ids)
        curs.execute(self.upsert_earlier_due if keep_earlier_due else self.upsert_due, (list(due), list(due.values())))
        if position is not None:
            self._insert_tracking(curs, Tracking(APPLICATION, position))

    def write_checkpoints(self, curs: Cursor[DictRow], refolded: Mapping[str, datetime | None],
                          checkpoints: Sequence[Checkpoint],
                          trend: Sequence[TrendPoint] = ()) -> None:
        """Drop each refolded account's checkpoints and trend points from its instant (None: all of them); add the
        new ones, and thin the old ones of their accounts (`projections.folding.kept_checkpoints`).

        A trend point is written only once the account's fold has passed its boundary (a
        fact after it, or its first fact, was folded), so only a late event, which refolds,
        can change it.
        """
        if refolded:
            dropped = (list(refolded), [datetime.min.replace(tzinfo=timezone.utc) if instant is None else instant
                                        for instant in refolded.values()])
            curs.execute(self.delete_checkpoints_from, dropped)
            curs.execute(self.delete_trend_from, dropped)
        if checkpoints:
            checkpoints = thinned(checkpoints)  # those the stored ones would thin at once are not written at all
            columns = list(zip(*checkpoints, strict=True))
            curs.execute(self.upsert_checkpoints, [list(column) for column in columns])
            curs.execute(self.thin_checkpoints_of, {"accounts": list(set(columns[0])), "every": THINNED_EVERY,
                                                    "whole": KEPT_WHOLE.total_seconds()})
        if trend:
            latest = {(account_id, boundary): score for account_id, boundary, score in trend}  # a refold's, last
            curs.execute(self.upsert_trend, ([account_id for account_id, _ in latest],
                                             [boundary for _, boundary in latest], list(latest.values())))

    def trend_at(self, curs: Cursor[DictRow], account_id: str, points: Sequence[datetime]) -> dict[datetime, int | None]:
        """The account's stored health scores at those of `points` its fold has passed."""
        curs.execute(self.select_trend, (account_id, list(points)), prepare=True)
        return {row["boundary"]: row["score"] for row in curs.fetchall()}

    def forget(self, curs: Cursor[DictRow], account_ids: Sequence[str]) -> None:
        """Drop accounts' checkpoints and trend points: they are folded from their first event when next judged."""
        self.write_checkpoints(curs, {account_id: None for account_id in account_ids}, [])

    def checkpoint_before(self, curs: Cursor[DictRow], account_id: str, instant: datetime) -> tuple[datetime, bytes] | None:
        """The account's latest checkpoint strictly before `instant`."""
        curs.execute(self.select_checkpoint_before, (account_id, instant), prepare=True)
        row = curs.fetchone()
        return None if row is None else (row["boundary"], row["state"])

    def checkpoints_before(self, curs: Cursor[DictRow],
                           instants: Mapping[str, datetime]) -> dict[str, tuple[datetime, bytes]]:
        """Each account's latest checkpoint strictly before its instant, in one query (those that have one)."""
        curs.execute(self.select_checkpoints_before, (list(instants), list(instants.values())), prepare=True)
        return {row["account_id"]: (row["boundary"], row["state"]) for row in curs.fetchall()}

    def refold_sizes(self, curs: Cursor[DictRow], instants: Mapping[str, datetime], up_to: int) -> dict[str, int]:
        """How many events folding each account again from its checkpoint before its instant takes (up to a position):
        what `checkpoints_before` and `accounts_events_from` would read, counted."""
        curs.execute(self.select_refold_sizes, (list(instants), [account_stream_id(each) for each in instants],
                                                list(instants.values()), up_to), prepare=True)
        return {row["account_id"]: int(row["events"]) for row in curs.fetchall()}

    def count_write(self, curs: Cursor[DictRow]) -> int:
        """Count a write of the view's rows (in its transaction); return the count it reached."""
        curs.execute(self.count_writes)
        row = curs.fetchone()
        return 0 if row is None else int(row["writes"])

    def set_thresholds(self, curs: Cursor[DictRow], table: Mapping[str, Any]) -> str:
        """Record the thresholds of a view written from scratch; return its new generation."""
        generation = str(uuid4())
        curs.execute(self.upsert_settings, (Jsonb(dict(table)), generation))
        return generation

    def due_accounts(self, curs: Cursor[DictRow], now: datetime, limit: int) -> list[str]:
        curs.execute(self.select_due, (now, limit))
        return [row["account_id"] for row in curs.fetchall()]

    def next_due(self, curs: Cursor[DictRow]) -> datetime | None:
        curs.execute(self.select_next_due)
        row = curs.fetchone()
        return row["due_at"] if row is not None else None


def create_statements(name: str) -> list[Composed]:
    table, schedule = Identifier(f"{name}_findings"), Identifier(f"{name}_schedule")
    accounts = Identifier(f"{name}_accounts")
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {0} ("
            " account_id text PRIMARY KEY, name text, judged_at timestamptz NOT NULL, health int, stage text,"
            " open_findings int NOT NULL, top_severity int NOT NULL, view bytea NOT NULL,"
            " findings_version bigint NOT NULL DEFAULT 0)"
        ).format(accounts),
        index_on(f"{name}_accounts_health", accounts, "health, account_id"),
        SQL(
            "CREATE TABLE IF NOT EXISTS {0} ("
            " id uuid PRIMARY KEY, account_id text NOT NULL, rule text NOT NULL, key text NOT NULL,"
            " severity text NOT NULL, departments text[] NOT NULL, evidence bigint[] NOT NULL,"
            " detected_at timestamptz NOT NULL, resolved_at timestamptz, summary text NOT NULL, final_at timestamptz)"
        ).format(table),
        # Views written before final findings left the folded state: every row is live until refolded.
        columns_if_missing(f"{name}_findings", ["final_at"], SQL(
            "ALTER TABLE {0} ADD COLUMN IF NOT EXISTS final_at timestamptz").format(table)),
        index_on(f"{name}_findings_account", table, "account_id"),
        index_on(f"{name}_findings_detected", table, "detected_at DESC, id DESC"),
        SQL("CREATE TABLE IF NOT EXISTS {0} (account_id text PRIMARY KEY, due_at timestamptz)").format(schedule),
        index_on(f"{name}_schedule_due", schedule, "due_at"),
        SQL("CREATE TABLE IF NOT EXISTS {0} (id int PRIMARY KEY, thresholds jsonb NOT NULL, generation text NOT NULL)")
        .format(Identifier(f"{name}_settings")),
        columns_if_missing(f"{name}_settings", ["writes"], SQL(
            "ALTER TABLE {0} ADD COLUMN IF NOT EXISTS writes bigint NOT NULL DEFAULT 0").format(
            Identifier(f"{name}_settings"))),
        SQL("CREATE TABLE IF NOT EXISTS {0} (account_id text NOT NULL, boundary timestamptz NOT NULL,"
            " state bytea NOT NULL, facts bigint, PRIMARY KEY (account_id, boundary))")
        .format(Identifier(f"{name}_checkpoints")),
        # Checkpoints written before their facts were counted: thinning leaves them (`thin_checkpoints_of`).
        columns_if_missing(f"{name}_checkpoints", ["facts"], SQL(
            "ALTER TABLE {0} ADD COLUMN IF NOT EXISTS facts bigint").format(Identifier(f"{name}_checkpoints"))),
        SQL("CREATE TABLE IF NOT EXISTS {0} (account_id text NOT NULL, boundary timestamptz NOT NULL, score int,"
            " PRIMARY KEY (account_id, boundary))")
        .format(Identifier(f"{name}_trend")),
    ]


TABLE_SUFFIXES = ("_findings", "_accounts", "_schedule", "_tracking", "_settings", "_checkpoints", "_trend", CREDITS,
                  TOUCHES, DAILY, EFFECTS, STALE)

TrendPoint = tuple[str, datetime, int | None]  # (account id, week boundary, the health score there)
Checkpoint = tuple[str, datetime, bytes, int]  # (account id, week boundary, the state there, how many facts it holds)


def thinned(checkpoints: Sequence[Checkpoint]) -> list[Checkpoint]:
    """The checkpoints `kept_checkpoints` keeps among each account's of these: a rebuild's, from an account's first
    event, would otherwise be written whole and then mostly deleted. Each one it drops the stored ones would drop as
    well (an earlier one of its run is among these, and the latest stored is no earlier than the latest of these)."""
    by_account: dict[str, list[tuple[datetime, int]]] = {}
    for account_id, boundary, _, facts in checkpoints:
        by_account.setdefault(account_id, []).append((boundary, facts))
    kept = {account_id: kept_checkpoints(taken) for account_id, taken in by_account.items()}
    return [each for each in checkpoints if each[1] in kept[each[0]]]


def drop_view(curs: Cursor[DictRow], name: str) -> None:
    for suffix in TABLE_SUFFIXES:
        curs.execute(SQL("DROP TABLE IF EXISTS {0}").format(Identifier(f"{name}{suffix}")))


def analyze_view(curs: Cursor[DictRow], name: str) -> None:
    """Gather the planner's statistics of a view's tables: a rebuilt view is read at once, autovacuum or not."""
    for suffix in TABLE_SUFFIXES:
        curs.execute(SQL("ANALYZE {0}").format(Identifier(f"{name}{suffix}")))


def rename_view(curs: Cursor[DictRow], name: str, new_name: str) -> None:
    """Rename a view's tables and their indexes (transactional, like all DDL in PostgreSQL)."""
    for suffix in TABLE_SUFFIXES:
        curs.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
                     (f"{name}{suffix}",))
        for index in [row["indexname"] for row in curs.fetchall()]:
            renamed = new_name + index[len(name):] if index.startswith(name) else f"{new_name}_{index}"
            curs.execute(SQL("ALTER INDEX {0} RENAME TO {1}").format(Identifier(index), Identifier(renamed)))
        curs.execute(SQL("ALTER TABLE IF EXISTS {0} RENAME TO {1}").format(
            Identifier(f"{name}{suffix}"), Identifier(f"{new_name}{suffix}")))


ACCOUNT_TYPES = ["text", "text", "timestamptz", "int4", "text", "int4", "int4", "bytea"]


def account_row(view: AccountView) -> tuple[Any, ...]:
    return (
        view.account_id,
        view.name,
        view.as_of,
        view.health.score if view.health else None,
        view.lifecycle.stage if view.lifecycle else None,
        view.open_findings,
        SEVERITY_RANK.get(view.top_severity or "", 0),
        orjson.dumps(view),  # as `view.to_json()` would give, without copying it first
    )


COPY_TYPES = ["uuid", "text", "text", "text", "text", "text[]", "int8[]", "timestamptz", "timestamptz", "text",
              "timestamptz"]


def row_of(each: Finding, final_at: datetime | None = None) -> tuple[Any, ...]:
    return (
        UUID(each.id),
        each.account_id,
        each.rule,
        each.key,
        each.severity,
        list(each.departments),
        [fact.position for fact in each.evidence],
        each.detected_at,
        each.resolved_at,
        each.summary,
        final_at,
    )


SELECT_AFTER = SQL(
    "SELECT notification_id, topic, state, occurred_at FROM {0} WHERE notification_id > %s"
    " ORDER BY notification_id LIMIT %s"
).format(Identifier(EVENTS_TABLE))
# Each account's events by the timeline index, one index scan per account: as a join, the planner hashed the whole
# events table for a handful of accounts (22 ms against 0.9 ms for 8 accounts at 80,000 events, and growing with
# the table). The subquery's OFFSET 0 keeps it from being flattened into that join.
SELECT_ACCOUNTS_FROM = SQL(
    "SELECT e.notification_id, e.topic, e.state, e.occurred_at"
    " FROM unnest(%s::uuid[], %s::timestamptz[]) AS d (originator_id, since) CROSS JOIN LATERAL"
    " (SELECT notification_id, topic, state, occurred_at FROM {0} WHERE originator_id = d.originator_id"
    " AND occurred_at >= d.since AND notification_id <= %s OFFSET 0) AS e"
).format(Identifier(EVENTS_TABLE))
SELECT_HISTORIES = SQL(
    "SELECT notification_id, topic, state, occurred_at FROM {0}"
    " WHERE originator_id = ANY(%s) AND notification_id <= %s"
).format(Identifier(EVENTS_TABLE))


def events_after(curs: Cursor[DictRow], position: int, limit: int) -> list[tuple[str, Fact]]:
    """The next events of the log after a position, with their account ids."""
    curs.execute(SELECT_AFTER, (position, limit), prepare=True, binary=True)
    return [account_fact(row) for row in curs.fetchall()]


def histories(curs: Cursor[DictRow], account_ids: Iterable[str], up_to: int) -> dict[str, list[Fact]]:
    """Every event of the given accounts up to a position, by account."""
    streams = [account_stream_id(account_id) for account_id in account_ids]
    curs.execute(SELECT_HISTORIES, (streams, up_to), prepare=True, binary=True)
    found: dict[str, list[Fact]] = {account_id: [] for account_id in account_ids}
    for row in curs.fetchall():
        account_id, fact = account_fact(row)
        found[account_id].append(fact)
    return found


def account_events_from(curs: Cursor[DictRow], account_id: str, instant: datetime | None, up_to: int) -> list[Fact]:
    """The account's events with `occurredAt >= instant` (None: all) up to a position, in order (timeline index)."""
    return accounts_events_from(curs, {account_id: instant}, up_to)[account_id]


def accounts_events_from(curs: Cursor[DictRow], since: Mapping[str, datetime | None],
                         up_to: int) -> dict[str, list[Fact]]:
    """`account_events_from` for many accounts in one query (by the timeline index)."""
    earliest = datetime.min.replace(tzinfo=timezone.utc)
    curs.execute(SELECT_ACCOUNTS_FROM, ([account_stream_id(account_id) for account_id in since],
                                        [earliest if instant is None else instant for instant in since.values()],
                                        up_to), prepare=True, binary=True)
    found: dict[str, list[Fact]] = {account_id: [] for account_id in since}
    for row in curs.fetchall():
        account_id, fact = account_fact(row)
        found[account_id].append(fact)
    for facts in found.values():
        facts.sort(key=ORDER)
    return found


def account_fact(row: DictRow) -> tuple[str, Fact]:
    fact, account_id = fact_from_stored(row["notification_id"], row["topic"], row["state"], row["occurred_at"])
    return account_id, fact


def open_view_store(params: dict[str, str | int | None], wait: float = 5.0) -> ProjectedViews:
    """The live view on a small pool of its own (waiting `wait` seconds at most for a connection),
    its tables created if missing."""
    view = ProjectedViews(datastore_of(params, pool_size=3, wait=wait))  # the projector's, and its learning's
    view.create_table()
    return view
