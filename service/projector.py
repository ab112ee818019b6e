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
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from psycopg import Cursor
from psycopg.rows import DictRow

from projections.evaluation import Judgement, evaluate
from projections.facts import Fact
from projections.findings import Finding
from projections.history import History, history_of
from projections.thresholds import DEFAULT_THRESHOLDS, Thresholds, thresholds_from, thresholds_table
from service.findings_view import FindingsView, events_after, histories

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Pending:
    """An account to judge: its history with the new facts, and its judgement before them."""

    history: History
    judged: Judgement | None
    new_types: set[str]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Projector:
    def __init__(
        self,
        view: FindingsView,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        *,
        batch_size: int = 1000,
        cache_accounts: int = 10_000,
        clock: Clock = utc_now,
    ) -> None:
        self.view = view
        self.thresholds = self.configured = thresholds
        self.batch_size = batch_size
        self.cache_accounts = cache_accounts
        self.clock = clock
        self.cache: OrderedDict[str, tuple[History, Judgement]] = OrderedDict()
        self.cached_at = -1  # the position the cache is valid for

    def step(self) -> int:
        """Take in the next batch of events, in a transaction of its own; return how many there were."""
        with self.view.datastore.transaction(commit=True) as curs:
            self.view.lock(curs)
            return self.step_in(curs)

    def step_in(self, curs: Cursor[DictRow]) -> int:
        """Take in the next batch of events within a transaction that holds the view's lock."""
        self.adopt_thresholds(curs)
        position = self.view.position(curs)
        batch = events_after(curs, position, self.batch_size)
        if not batch:
            return 0
        new: dict[str, list[Fact]] = {}
        for account_id, fact in batch:
            new.setdefault(account_id, []).append(fact)
        updated = self.updated_histories(curs, position, new)
        self.judge_and_write(curs, updated, batch[-1][1].position)
        self.cached_at = batch[-1][1].position
        return len(batch)

    def step_due(self, limit: int = 1000) -> int:
        """Judge again the accounts whose findings change with time alone; return how many."""
        with self.view.datastore.transaction(commit=True) as curs:
            self.view.lock(curs)
            self.adopt_thresholds(curs)
            position = self.view.position(curs)
            due = self.view.due_accounts(curs, self.clock(), limit)
            if due:
                self.judge_and_write(curs, self.updated_histories(curs, position, {account: [] for account in due}), None)
                self.cached_at = position
            return len(due)

    def adopt_thresholds(self, curs: Cursor[DictRow]) -> None:
        """Judge with the thresholds the view's rows were judged with: a change applies on rebuild.

        A view never written takes this projector's thresholds. A view rebuilt with other
        thresholds (by `cx360 rebuild`) keeps them, so its rows stay consistent.
        """
        mine = thresholds_table(self.thresholds)
        stored = self.view.thresholds(curs)
        if stored is None:
            self.view.set_thresholds(curs, mine)
        elif stored != mine:
            if self.configured is self.thresholds:
                log.warning("the findings view was judged with other rule thresholds than the configured ones;"
                            " they stay in force until `cx360 rebuild`")
            self.thresholds = thresholds_from(stored)
            self.cache.clear()  # judged with the thresholds before

    def next_due(self) -> datetime | None:
        with self.view.datastore.transaction(commit=False) as curs:
            return self.view.next_due(curs)

    def updated_histories(self, curs: Cursor[DictRow], position: int, new: dict[str, list[Fact]]) -> list[Pending]:
        """Each account's history with the new facts, and its last judgement where still valid."""
        if self.cached_at != position:
            self.cache.clear()
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

    def judge_and_write(self, curs: Cursor[DictRow], accounts: Iterable[Pending], position: int | None) -> None:
        """Judge the accounts as of now; write the rows of those whose findings changed, and the position."""
        now = self.clock()
        findings: dict[str, list[Finding]] = {}
        due: dict[str, datetime | None] = {}
        for account in accounts:
            judged = evaluate(account.history, now, self.thresholds, previous=account.judged, new_types=account.new_types)
            if account.judged is None or judged.findings != account.judged.findings:
                findings[account.history.account_id] = judged.findings
            if account.judged is None or judged.next_change != account.judged.next_change:
                due[account.history.account_id] = judged.next_change
            self.remember(account.history, judged)
        self.view.write(curs, findings, due, position)

    def remember(self, history: History, judged: Judgement) -> None:
        self.cache[history.account_id] = (history, judged)
        while len(self.cache) > self.cache_accounts:
            self.cache.popitem(last=False)
