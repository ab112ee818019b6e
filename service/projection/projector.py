"""The projector: follows the event store's log and keeps the findings view up to date.

Each step runs in one transaction under the view's advisory lock: read the tracking
position, take the next events of the log, judge every account they touch as of now,
replace those accounts' finding rows and move the tracking position. Accounts whose
findings change with time alone (a deadline passing, an event dated in the future)
have a due time; a step also judges the accounts that have come due.

Histories are cached per account, valid for the position this projector last wrote;
when another writer (a replica, a rebuild) moved the position, the cache is dropped.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow

from projections.customers import WON_DAYS
from projections.evaluation import Judgement, evaluate
from projections.facts import Fact
from projections.findings import Finding
from projections.history import History, history_of
from projections.thresholds import (
    DEFAULT_THRESHOLDS,
    Thresholds,
    thresholds_from,
    thresholds_table,
)
from projections.view.account import account_view
from projections.view.health import DEFAULT_WEIGHTS, HealthWeights
from projections.view.model import AccountView
from service.projection.view_store import ProjectedViews, events_after, histories

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
VIEW_REFRESH = timedelta(hours=1)  # views hold counts over the last days: judged again at least this often
VIEW_DELAY = timedelta(seconds=2)  # how long after an event its account's view is judged


@dataclass(frozen=True)
class Pending:
    """An account to judge: its history with the new facts, and its judgement before them."""

    history: History
    judged: Judgement | None
    new_types: set[str]


def view_and_due(
    history: History, judged: Judgement, weights: HealthWeights, refresh: timedelta,
    known_trend: Mapping[datetime, int | None] | None = None, customer_won_days: int = WON_DAYS,
) -> tuple[AccountView, datetime]:
    """The account's view at the judgement's moment, and when to judge it again at the latest."""
    view = account_view(history, judged.as_of, judged.findings, weights, known_trend=known_trend,
                        customer_won_days=customer_won_days)
    latest = judged.as_of + refresh
    return view, min(judged.next_change or latest, latest)


@dataclass(frozen=True)
class TrendMemo:
    """The past points of an account's health trend, and what they were judged from.

    A past point depends on the facts up to it and on the findings open at it; the
    points stay valid while no fact dated up to the latest of them has been added and
    those findings are the same. Judging the trend afresh costs several times the rest
    of the view, and an account taking events is judged many times an hour.
    """

    points: Mapping[datetime, int | None]
    judged_at: datetime  # when the points were last judged (or found still valid)
    facts_before: int  # facts dated up to the latest point
    findings: tuple[tuple[str, datetime, datetime | None], ...]

    @staticmethod
    def of(view: AccountView, history: History, findings: Sequence[Finding], judged_at: datetime) -> TrendMemo | None:
        past = view.health.trend[:-1] if view.health else ()
        if not past:
            return None
        latest = past[-1].at
        return TrendMemo({point.at: point.score for point in past}, judged_at, facts_up_to(history, latest),
                         findings_up_to(findings, latest))

    def known(self, history: History, findings: Sequence[Finding]) -> Mapping[datetime, int | None] | None:
        latest = max(self.points)
        if facts_up_to(history, latest) != self.facts_before or findings_up_to(findings, latest) != self.findings:
            return None
        return self.points


def facts_up_to(history: History, moment: datetime) -> int:
    return bisect_right([fact.occurred_at for fact in history.facts], moment)


def findings_up_to(findings: Sequence[Finding], moment: datetime) -> tuple[tuple[str, datetime, datetime | None], ...]:
    return tuple((each.id, each.detected_at, each.resolved_at) for each in findings if each.detected_at <= moment)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Projector:
    def __init__(
        self,
        view: ProjectedViews,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        *,
        batch_size: int = 1000,
        cache_accounts: int = 10_000,
        clock: Clock = utc_now,
        weights: HealthWeights = DEFAULT_WEIGHTS,
        view_refresh: timedelta = VIEW_REFRESH,
        view_delay: timedelta = VIEW_DELAY,
    ) -> None:
        self.view_delay = view_delay
        self.view = view
        self.weights = weights
        self.view_refresh = view_refresh
        self.thresholds = self.configured = thresholds
        self.batch_size = batch_size
        self.cache_accounts = cache_accounts
        self.clock = clock
        self.cache: OrderedDict[str, tuple[History, Judgement]] = OrderedDict()
        self.trends: dict[str, TrendMemo | None] = {}  # checked against the history on use, see TrendMemo
        self.cached_at: tuple[str, int] | None = None  # the (view generation, position) the cache is valid for
        self.generation = ""  # of the view, as last read: a rebuild gives the view a new one
        self.stored_thresholds: dict[str, Any] | None = None

    def step(self) -> int:
        """Take in the next batch of events, in a transaction of its own; return how many there were."""
        with self.view.datastore.transaction(commit=True) as curs:
            self.view.lock(curs)
            taken, judged, position = self.step_in(curs)
        self.keep(judged, position)  # only once committed: a rolled-back batch must not be in the cache
        return taken

    def step_in(self, curs: Cursor[DictRow]) -> tuple[int, list[tuple[History, Judgement]], int]:
        """Take in the next batch within a transaction holding the view's lock.

        Returns how many events, the accounts judged, and the position reached, for the
        caller to `keep` once the transaction has committed.
        """
        self.adopt_thresholds(curs)
        position = self.view.position(curs)
        self.check_cache(position)
        batch = events_after(curs, position, self.batch_size)
        if not batch:
            return 0, [], position
        new: dict[str, list[Fact]] = {}
        for account_id, fact in batch:
            new.setdefault(account_id, []).append(fact)
        updated = self.updated_histories(curs, position, new)
        reached = batch[-1][1].position
        return len(batch), self.judge_and_write(curs, updated, reached), reached

    def step_due(self, limit: int = 100) -> int:
        """Judge again the accounts whose findings change with time alone; return how many."""
        with self.view.datastore.transaction(commit=True) as curs:
            self.view.lock(curs)
            count, judged, position = self.step_due_in(curs, limit)
        self.keep(judged, position)
        return count

    def step_due_in(self, curs: Cursor[DictRow], limit: int = 100) -> tuple[int, list[tuple[History, Judgement]], int]:
        self.adopt_thresholds(curs)
        position = self.view.position(curs)
        self.check_cache(position)
        due = self.view.due_accounts(curs, self.clock(), limit)
        if not due:
            return 0, [], position
        updated = self.updated_histories(curs, position, {account: [] for account in due})
        return len(due), self.judge_and_write(curs, updated, None, with_views=True), position

    def check_cache(self, position: int) -> None:
        """Drop what this projector remembers if the view moved on without it.

        Another writer (a replica, a rebuild's swap) may have taken in events or written
        the view since this projector's last commit; its histories would then lack facts.
        """
        if self.cached_at != (self.generation, position):
            self.cache.clear()
            self.trends.clear()
            self.cached_at = None

    def keep(self, judged: list[tuple[History, Judgement]], position: int) -> None:
        """Remember committed judgements; the cache is then valid for this view and position.

        Accounts the batch did not touch kept their entries (their histories did not move);
        the touched ones were taken out by `updated_histories` and come back here.
        """
        for history, judgement in judged:
            self.remember(history, judgement)
        self.cached_at = (self.generation, position)

    def adopt_thresholds(self, curs: Cursor[DictRow]) -> None:
        """Judge with the thresholds the view's rows were judged with: a change applies on rebuild.

        A view never written takes this projector's thresholds. A view rebuilt with other
        thresholds (by `cx360 rebuild`) keeps them, so its rows stay consistent. Stored
        thresholds of rules or keys this release no longer has are ignored.
        """
        settings = self.view.settings(curs)
        if settings is None:
            self.generation = self.view.set_thresholds(curs, thresholds_table(self.thresholds))
            self.stored_thresholds = thresholds_table(self.thresholds)
            return
        stored, self.generation = settings
        if stored == self.stored_thresholds:
            return
        self.stored_thresholds = stored
        in_force = thresholds_from(stored, lenient=True)
        if thresholds_table(in_force) != thresholds_table(self.configured):
            log.warning("the views were judged with other rule thresholds than the configured ones;"
                        " they stay in force until `cx360 rebuild`")
        if in_force != self.thresholds:
            self.thresholds = in_force
            self.cached_at = None  # judged with the thresholds before: dropped by check_cache

    def next_due(self) -> datetime | None:
        with self.view.datastore.transaction(commit=False) as curs:
            return self.view.next_due(curs)

    def updated_histories(self, curs: Cursor[DictRow], position: int, new: dict[str, list[Fact]]) -> list[Pending]:
        """Each account's history with the new facts, and its last judgement where still valid.

        The cache holds what this projector committed; if the view moved on without it (a
        replica, a rebuild's swap, a failed write), it is dropped and histories are read.
        """
        missing = [account_id for account_id in new if account_id not in self.cache]
        loaded = histories(curs, missing, position) if missing else {}
        pending = []
        for account_id, facts in new.items():
            if account_id in self.cache:
                history, judged = self.cache.pop(account_id)
            else:
                history, judged = History(account_id, tuple(loaded[account_id])), None
            if facts:
                history = history_of(account_id, [*history.facts, *facts])
            pending.append(Pending(history, judged, {fact.type for fact in facts}))
        return pending

    def judge_and_write(
        self, curs: Cursor[DictRow], accounts: Iterable[Pending], position: int | None, with_views: bool = False
    ) -> list[tuple[History, Judgement]]:
        """Judge the accounts as of now; write the findings that changed, views, due times and the position.

        New events are judged for findings at once (that is the lag that matters), and
        their accounts' views are due `view_delay` later: an account taking many events
        has its view judged once per delay, not once per batch. A view holds counts over
        the last days and days overdue, which change with time alone, so each account is
        also judged again at least every `view_refresh`.
        """
        now = self.clock()
        findings: dict[str, list[Finding]] = {}
        due: dict[str, datetime | None] = {}
        views: dict[str, AccountView] = {}
        done: list[tuple[History, Judgement]] = []
        for account in accounts:
            account_id = account.history.account_id
            try:
                judged = evaluate(account.history, now, self.thresholds, previous=account.judged,
                                  new_types=account.new_types)
                view = self.view_of(account.history, judged) if with_views else None
            except Exception:  # one account's odd data must not stop every other account's findings
                log.exception("projector: cannot judge account %r; its findings and view stay as they were "
                              "until its next event, or %s from now", account_id, self.view_refresh)
                due[account_id] = now + self.view_refresh
                continue
            if account.judged is None or judged.findings != account.judged.findings:
                findings[account_id] = judged.findings
            if view is not None:
                views[account_id], due[account_id] = view
            else:
                soon = now + self.view_delay
                due[account_id] = min(judged.next_change or soon, soon)
            done.append((account.history, judged))
        self.view.write(curs, findings, due, position, views, keep_earlier_due=not with_views)
        return done

    def view_of(self, history: History, judged: Judgement) -> tuple[AccountView, datetime]:
        """The account's view and its next due time, reusing the past points of its health trend.

        The trend's past points cost several times the rest of the view: they are judged
        again once per `view_refresh` (and only if a fact or finding before them changed);
        in between, a late event may leave them behind by that much at most.
        """
        memo = self.trends.get(history.account_id)
        known: Mapping[datetime, int | None] | None = None
        judged_at = judged.as_of
        if memo is not None and judged.as_of - memo.judged_at < self.view_refresh:
            known, judged_at = memo.points, memo.judged_at
        elif memo is not None:
            known = memo.known(history, judged.findings)
        won_days = self.thresholds["prospecting-a-customer"].customer_won_days
        view, due = view_and_due(history, judged, self.weights, self.view_refresh, known, won_days)
        self.trends[history.account_id] = TrendMemo.of(view, history, judged.findings, judged_at)
        return view, due

    def remember(self, history: History, judged: Judgement) -> None:
        self.cache[history.account_id] = (history, judged)
        while len(self.cache) > self.cache_accounts:
            forgotten, _ = self.cache.popitem(last=False)
            self.trends.pop(forgotten, None)
