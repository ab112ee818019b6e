"""The projector: follows the event store's log and keeps every account's folded state, findings and view.

Each step runs in one transaction under the view's advisory lock: read the tracking
position, take the next events of the log, fold each into its account's state
(`projections.account_state`), read the findings at now, and write the checkpoints
taken at week boundaries, the finding rows that changed, the due times and the tracking
position together. An account's state is its latest checkpoint with its events after it
(`projections.folding`): that is how it is read back after a restart, so a crash
neither skips an event nor folds one twice. Taking an event costs what the account's
state holds, not its history:

- an event in order is folded onto the state;
- a late event (one that sorts before the account's last) refolds from the checkpoint
  strictly before it, with the account's events since that boundary (at most 64 before
  the late event, and those after it);
- an event dated after the projector's clock is stored but not folded yet (`deferred`):
  the account is due when it happens and folds it then;
- under load, late events past a step's budget (`REFOLD_BUDGET`) leave their accounts due
  instead (`Projector.defer`), and a due step folds each once for all its events since.

Accounts whose findings or view change with time alone (a deadline passing, a window
closing, a deferred event's time coming) are due then; a step also judges the accounts
that have come due. Nothing is judged again on a timer, nor at week boundaries: a trend
point after the view's moment is the view's score, added when the view is read.

States are cached per account, valid for the (view generation, position) this projector
last wrote; when another writer (a replica, a rebuild) moved the position, the cache is
dropped and states are folded again from their checkpoints.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow

from projections.account_state import (
    AccountState,
    Final,
    RuleReads,
    attribution_settings,
    findings_at,
    read_rules,
    start,
    take_credited,
    take_final,
)
from projections.attribution import fold as attribution_fold
from projections.attribution.journeys import READS as ATTRIBUTION_READS
from projections.facts import ORDER, Fact
from projections.findings import Finding, Moment
from projections.folding import fold_recording, score_at
from projections.state_codec import StaleCheckpoint, decode
from projections.thresholds import (
    DEFAULT_THRESHOLDS,
    Thresholds,
    thresholds_from,
    thresholds_table,
)
from projections.view.changes import next_change
from projections.view.fold import view_at
from projections.view.health import DEFAULT_WEIGHTS, HealthWeights
from projections.view.model import AccountView, HealthPoint
from projections.weeks import boundaries_before
from service.projection.attribution_store import AttributionWrites, attribution_writes
from service.projection.view_store import (
    Checkpoint,
    FindingsChanged,
    ProjectedViews,
    TrendPoint,
    account_events_from,
    accounts_events_from,
    changes_between,
    events_after,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Enough = Callable[[], bool]  # whether to begin no more accounts in this step (a time budget spent, events waiting)
VIEW_DELAY = timedelta(seconds=2)  # how long after an event its account's view is judged
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)
RETRY = timedelta(hours=1)  # an account that cannot be judged is tried again this much later
TREND_POINTS = 11  # past points of the health trend, at week boundaries
# Weeks back from now whose boundaries a fold scores as it passes them and stores (`_trend`): the trend points of an
# `asOf` in that span are read, not folded again. Boundaries passed live are always in it; a rebuild or a refold
# scores the trend's 11 and a month more, so that an asOf up to a month back reads all its points. Each week more
# costs a rebuild about 1.5% (26 weeks cost about 20% more than 11 for accounts of 1,000 events a year).
TREND_KEPT = 16
# While batches come full (a backlog after a stop, a bulk load), each is twice the last, up to this many times the
# batch size: an account with events all through the backlog is judged and written once per batch, so fewer, larger
# batches catch up faster; live traffic (batches not full) keeps the batch size and its latency.
BACKLOG_GROWTH = 16
# The data-driven model's month still running is learnt again at most this often (`service.projection.learning`):
# its journeys change with every touch, and learning a month costs a few queries over its rows.
RELEARN_EVERY = timedelta(seconds=60)
# How much folding accounts again from their checkpoints after a late event a step of new events takes on, of the
# accounts it holds, the smallest first: each account counts its events to fold again and REFOLD_ACCOUNT more (reading
# its checkpoint, scoring the week boundaries it passes), and those past the budget are due at once
# (`Projector.defer`); an account not held is folded at once, as are events in time order. A backfill of events dated at random makes every event late, and folding again costs the
# account's events since the checkpoint before it: taken at once, one event at a time, they held up every other
# account's findings by seconds. Left due, they take turns with new events, and an account is folded again once for
# all the events it took meanwhile. Counted in events, not timed: what a step defers does not depend on the machine.
REFOLD_BUDGET = 512
REFOLD_ACCOUNT = 32
# How often the projector looks at its cache's misses (`Projector.note_misses`): each time it has judged this many
# times the accounts the cache holds. With 10,000 held, once per 40,000 accounts judged (20 s at 2,000 events/s).
CACHE_WINDOW = 4
# Accounts to fold again whose checkpoints and events are read in one go, as their turn comes: reading them all at
# once read the events of accounts a step then left to a later one (a due step stops when new events wait).
PREFETCH_ACCOUNTS = 8


@dataclass
class Folded:
    """An account as this projector last wrote it."""

    state: AccountState
    findings: list[Finding] | None  # as the live rows hold them (None: not known here, written again)
    deferred_from: datetime | None = None  # the earliest stored event not folded yet: dated after the clock then
    trend: dict[datetime, int | None] = field(default_factory=dict)  # health at week boundaries, as far as known
    by_rule: RuleReads = field(default_factory=dict)  # each rule's findings as last read, their next change
    live_credits: bool = True  # whether its live credit rows may be there (False: it wrote none last)


@dataclass
class Writes:
    """What one step writes, in its transaction."""

    findings: dict[str, list[Finding]] = field(default_factory=dict)  # an account's live findings, all of them
    changed: dict[str, FindingsChanged] = field(default_factory=dict)  # or their difference from the rows written
    final: dict[str, list[Final]] = field(default_factory=dict)  # findings that became final, written once
    reopened: dict[str, datetime | None] = field(default_factory=dict)  # refolded from: final rows after it go live
    due: dict[str, datetime | None] = field(default_factory=dict)
    views: dict[str, AccountView] = field(default_factory=dict)
    refolded: dict[str, datetime | None] = field(default_factory=dict)  # account -> checkpoints dropped from
    checkpoints: list[Checkpoint] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)  # health at week boundaries the folds passed
    forgotten: list[str] = field(default_factory=list)  # accounts that failed: folded from scratch next time
    attribution: dict[str, AttributionWrites] = field(default_factory=dict)  # credit rows and touches
    folded: dict[str, list[Fact]] = field(default_factory=dict)  # the facts folded, by account

    def forget(self, account_id: str) -> None:
        """Nothing of the account's fold is written; its state goes, so its events are folded again next time."""
        self.refolded.pop(account_id, None)
        self.reopened.pop(account_id, None)
        self.final.pop(account_id, None)
        self.attribution.pop(account_id, None)
        self.folded.pop(account_id, None)
        self.checkpoints = [each for each in self.checkpoints if each[0] != account_id]
        self.trend = [each for each in self.trend if each[0] != account_id]
        self.forgotten.append(account_id)


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
        view_delay: timedelta = VIEW_DELAY,
        refold_budget: int | None = None,
        relearn_every: timedelta = RELEARN_EVERY,
    ) -> None:
        self.relearn_every = relearn_every  # how often the data-driven month still running is learnt again
        self.view_delay = view_delay
        self.view = view
        self.weights = weights
        self.thresholds = self.configured = thresholds
        self.batch_size = batch_size
        self.next_batch = batch_size  # grows while batches come full (a backlog), back to batch_size when one does not
        self.cache_accounts = cache_accounts
        self.clock = clock
        self.cache: OrderedDict[str, Folded] = OrderedDict()
        self.cached_at: tuple[str, int, int] | None = None  # the view's (generation, position, writes) it is valid for
        self.generation = ""  # of the view, as last read: a rebuild gives the view a new one
        self.writes = 0  # the view's count of writes, as last read or reached by this projector's own
        self.stored_thresholds: dict[str, Any] | None = None
        self.refolds = 0  # facts folded again from a checkpoint (what lateness and a cold cache cost)
        self.discarded = 0  # checkpoints that did not decode
        self.refold_budget = refold_budget  # refolds a step of new events takes on (None: no limit; the
        # service's projector has REFOLD_BUDGET, while a test or a rebuild wants every event folded as it is taken)
        self.deferred = 0  # accounts left to a later step to fold again (`defer`)
        self.dirty: set[str] = set()  # those not folded since: their new events wait with them
        self.judged_last = 0  # accounts the last `judge_and_write` judged (with `enough`, maybe not all it was given)
        self.prefetched: dict[str, tuple[datetime, tuple[datetime, bytes] | None, list[Fact]]] = {}
        self.kept_points: tuple[datetime | None, list[datetime]] = None, []  # (now, the boundaries a fold scores)
        self.evicted: OrderedDict[str, None] = OrderedDict()  # the accounts the cache let go of last, as many as it holds
        self.judged_since = self.evicted_since = 0  # accounts judged since the last look (`note_misses`), and of them
        # those the cache had let go of
        self.thrashing = False  # whether the last look found most judged accounts just evicted (and said so)

    def relearn(self, every: timedelta | None = None) -> int:
        """Learn the data-driven months that are due again (`service.projection.learning`): how many changed.

        Each is learnt in a transaction of its own with no lock (the reading: most of the
        time), then its effects stored and its rows credited anew under the view's write lock.
        The follower calls this from a thread of its own, so the projector's turns wait only
        for that last part.
        """
        learning, now = self.view.attribution.learning, self.clock()
        with self.view.datastore.transaction(commit=True) as curs:
            months = learning.due(curs, now, self.relearn_every if every is None else every)
        changed = 0
        for month in months:
            with self.view.datastore.transaction(commit=True) as curs:
                learnt = learning.learn(curs, month, now)
            if learnt is None:
                continue
            with self.view.datastore.transaction(commit=True) as curs:
                self.view.lock(curs)
                changed += learning.store(curs, learnt, now)
        return changed

    def step(self) -> int:
        """Take in the next batch of events, in a transaction of its own; return how many there were.

        At least `batch_size` means there may be more: batches grow while a backlog lasts.
        """
        with self.view.datastore.transaction(commit=True) as curs:
            self.view.lock(curs)
            taken, judged, position = self.step_in(curs)
        self.keep(judged, position)  # only once committed: a rolled-back batch must not be in the cache
        return taken

    def step_in(self, curs: Cursor[DictRow]) -> tuple[int, dict[str, Folded], int]:
        """Take in the next batch within a transaction holding the view's lock.

        Returns how many events, the accounts folded, and the position reached, for the
        caller to `keep` once the transaction has committed.
        """
        settings, position = self.view.settings_and_position(curs)
        self.adopt_thresholds(curs, settings)
        self.check_cache(position)
        batch = events_after(curs, position, self.next_batch)
        self.next_batch = min(self.next_batch * 2, self.batch_size * BACKLOG_GROWTH) if len(batch) == self.next_batch \
            else self.batch_size
        if not batch:
            return 0, {}, position
        new: dict[str, list[Fact]] = {}
        for account_id, fact in batch:
            new.setdefault(account_id, []).append(fact)
        reached = batch[-1][1].position
        return len(batch), self.judge_and_write(curs, new, reached, move_to=reached), reached

    def step_due(self, limit: int = 100, enough: Enough | None = None) -> int:
        """Judge again the accounts whose findings or view change with time alone; return how many.

        With `enough`, no account is begun once it says so but the first: the others stay
        due for the next step, so new events wait at most about one account's view past it.
        """
        with self.view.datastore.transaction(commit=True) as curs:
            self.view.lock(curs)
            count, judged, position = self.step_due_in(curs, limit, enough)
        self.keep(judged, position)
        return count

    def step_due_in(self, curs: Cursor[DictRow], limit: int = 100,
                    enough: Enough | None = None) -> tuple[int, dict[str, Folded], int]:
        settings, position = self.view.settings_and_position(curs)
        self.adopt_thresholds(curs, settings)
        self.check_cache(position)
        due = self.view.due_accounts(curs, self.clock(), limit)
        if not due:
            return 0, {}, position
        judged = self.judge_and_write(curs, {account: [] for account in due}, position, with_views=True, enough=enough)
        return self.judged_last, judged, position

    def check_cache(self, position: int) -> None:
        """Drop what this projector remembers if the view moved on without it.

        Another writer (a replica, a rebuild's swap) may have taken in events or written
        the view since this projector's last commit; its states would then lack facts, and
        the findings it remembers as written (which it writes by difference) would not be
        the rows.
        """
        if self.cached_at != (self.generation, position, self.writes):
            self.cache.clear()
            self.dirty.clear()  # another writer may have folded them (their checkpoints went when they were deferred)
            self.cached_at = None

    def keep(self, judged: Mapping[str, Folded], position: int) -> None:
        """Remember committed states; the cache is then valid for this view and position.

        Accounts the step did not touch kept their entries (their states did not move);
        the touched ones were taken out by `judge_and_write` and come back here.
        """
        for account_id, folded in judged.items():
            self.cache[account_id] = folded
            self.cache.move_to_end(account_id)
        for account_id in judged:
            self.evicted.pop(account_id, None)
        while len(self.cache) > self.cache_accounts:
            self.evicted[self.cache.popitem(last=False)[0]] = None
        while len(self.evicted) > self.cache_accounts:
            self.evicted.popitem(last=False)
        self.cached_at = (self.generation, position, self.writes)

    def adopt_thresholds(self, curs: Cursor[DictRow], settings: tuple[dict[str, Any], str, int] | None) -> None:
        """Judge with the thresholds the view's rows were judged with (`settings`, as the view store read them in
        this transaction): a change applies on rebuild.

        A view never written takes this projector's thresholds. A view rebuilt with other
        thresholds (by `cx360 rebuild`) keeps them, so its rows stay consistent. Stored
        thresholds of rules or keys this release no longer has are ignored.
        """
        if settings is None:
            self.generation = self.view.set_thresholds(curs, thresholds_table(self.thresholds))
            self.stored_thresholds = thresholds_table(self.thresholds)
            self.writes = 0
            return
        stored, self.generation, self.writes = settings
        if stored == self.stored_thresholds:
            return
        self.stored_thresholds = stored
        in_force = thresholds_from(stored, lenient=True)
        if thresholds_table(in_force) != thresholds_table(self.configured):
            log.warning("the views were judged with other rule thresholds than the configured ones;"
                        " they stay in force until `cx360 rebuild`")
        if in_force != self.thresholds:
            self.thresholds = in_force
            self.cached_at = None  # folded with the thresholds before: dropped by check_cache

    def next_due(self) -> datetime | None:
        with self.view.datastore.transaction(commit=False) as curs:
            return self.view.next_due(curs)

    def judge_and_write(
        self, curs: Cursor[DictRow], new: Mapping[str, list[Fact]], up_to: int, *,
        move_to: int | None = None, with_views: bool = False, enough: Enough | None = None,
    ) -> dict[str, Folded]:
        """Fold the accounts' new events, read findings (and views) at now, and write what changed.

        New events are judged for findings at once (that is the lag that matters), and
        their accounts' views are due `view_delay` later: an account taking many events
        has its view judged once per delay, not once per batch. With `enough`, accounts are
        begun until it says so (the first one always); the others are
        left as they were, to be judged by a later step.
        """
        now = self.clock()
        writes = Writes()
        self.judged_last = 0
        before = self.cached_or_stored(curs, list(new))
        refolding = {account_id: instant for account_id, facts in new.items()
                     if (instant := refold_from(before.get(account_id), facts, now)) is not None}
        # Of the refolds, a step of new events takes on within its budget those of a late event on an account it
        # holds; an account it does not hold (new, or no longer cached) is folded at once, as ever.
        late = {account_id: instant for account_id, instant in refolding.items()
                if account_id in before or account_id in self.dirty}
        done: dict[str, Folded] = {}
        accounts = list(new.items())
        sizes: dict[str, int] = {}
        if move_to is not None and refolding and self.refold_budget is not None:
            # The refolds last, those with the fewest events to fold again first (of those, the latest): the ones
            # past the budget wait.
            counted = {account_id: instant for account_id, instant in late.items() if account_id not in self.dirty}
            sizes = self.view.refold_sizes(curs, counted, up_to) if counted else {}
            accounts.sort(key=lambda each: (each[0] in late, sizes.get(each[0], 0),
                                            -late[each[0]].timestamp() if each[0] in late else 0.0))
        waiting = self.past_budget(accounts, late, sizes) if move_to is not None else set()
        order = [account_id for account_id, _ in accounts if account_id in refolding and account_id not in waiting]
        where = {account_id: place for place, account_id in enumerate(order)}
        self.prefetched = {}
        for place, (account_id, facts) in enumerate(accounts):
            if enough is not None and place and enough():  # the rest stay due, and cached as they were
                done |= {later: before[later] for later, _ in accounts[place:] if later in before}
                break
            if account_id in waiting:
                self.defer(account_id, refolding[account_id], now, writes)
                continue
            self.dirty.discard(account_id)
            if account_id in refolding and account_id not in self.prefetched:  # this one and the next few at once
                chunk = order[where[account_id]:where[account_id] + PREFETCH_ACCOUNTS]
                self.prefetched |= self.prefetch(curs, {each: refolding[each] for each in chunk}, up_to)
            self.judged_last += 1
            prior = before[account_id].findings if account_id in before else None
            try:
                folded, touched = self.folded(curs, account_id, before.get(account_id), facts, now, up_to, writes)
                folded.findings, next_change = read_findings(folded, touched, now, self.thresholds)
                final = take_final(folded.state)
                if touched is None or touched & ATTRIBUTION_READS:
                    attribution = self.attribution_of(folded.state, now, writes.folded.pop(account_id, []))
                    attribution.live_before = touched is None or folded.live_credits
                    folded.live_credits = bool(attribution.live)
                    writes.attribution[account_id] = attribution
                both = {each.id for each in folded.findings} & {each.id for _, each in final}
                if both:  # a rule broke the contract of `take_final`: this account alone stops, not the batch
                    raise ValueError(f"findings {sorted(both)} were given up as final and read as live")
                view = self.view_of(curs, folded, now, up_to, writes) if with_views else None
            except Exception:  # one account's odd data must not stop every other account's findings
                log.exception("projector: cannot judge account %r; its findings and view stay as they were "
                              "until its next event, or %s from now", account_id, RETRY)
                writes.forget(account_id)
                writes.due[account_id] = now + RETRY
                continue
            # A refold makes its account's final rows after the checkpoint live again (`reopened`): they
            # are replaced even when the live findings read the same, or one a late event undid would stay.
            if prior is None or final or account_id in writes.reopened:
                writes.findings[account_id] = folded.findings
            elif prior != folded.findings:  # the rows are `prior`: only what differs is written
                writes.changed[account_id] = changes_between(prior, folded.findings)
            if final:
                writes.final[account_id] = final
            changes = [next_change, folded.deferred_from]
            if view is not None:
                writes.views[account_id] = view
                changes.append(view_changes(folded.state, now))
            else:
                changes.append(now + self.view_delay)
            writes.due[account_id] = min((each for each in changes if each is not None), default=None)
            done[account_id] = folded
        self.write(curs, writes, move_to, keep_earlier_due=not with_views)
        return done

    def past_budget(self, accounts: Sequence[tuple[str, list[Fact]]], late: Mapping[str, datetime],
                    sizes: Mapping[str, int]) -> set[str]:
        """The accounts of a late event that a step of new events leaves due (`defer`): those left due already,
        which wait for the step that folds them once for all their events, and those past the budget."""
        if self.refold_budget is None:
            return set()
        waiting, spent = set(), 0
        for account_id, _ in accounts:  # in order: the smallest refolds first
            if account_id not in late:
                continue
            if account_id not in self.dirty:
                spent += sizes.get(account_id, 0) + REFOLD_ACCOUNT
            if account_id in self.dirty or spent > self.refold_budget:
                waiting.add(account_id)
        return waiting

    def defer(self, account_id: str, instant: datetime, now: datetime, writes: Writes) -> None:
        """Leave an account that must be folded again from a checkpoint (a late event, or one left due already) to
        a later step, as due now: its findings and view stay as they were until then.

        Its checkpoints and trend points from the instant on lack the event: they go now, in
        this step's transaction, so that whoever folds it next (this projector, a replica,
        after a restart) folds from a checkpoint before it with every event since. It is
        dropped from the cache, and so folded from its checkpoints when judged: once for all
        the events it took meanwhile.
        """
        earlier = writes.refolded.get(account_id)
        writes.refolded[account_id] = instant if earlier is None else min(earlier, instant)
        writes.due[account_id] = now
        self.deferred += 1
        self.dirty.add(account_id)

    def write(self, curs: Cursor[DictRow], writes: Writes, position: int | None, keep_earlier_due: bool) -> None:
        if writes.forgotten:
            self.view.forget(curs, writes.forgotten)
        self.view.write_checkpoints(curs, writes.refolded, writes.checkpoints, writes.trend)
        self.view.write(curs, writes.findings, writes.due, position, writes.views, keep_earlier_due=keep_earlier_due,
                        final=writes.final, reopened=writes.reopened, attribution=writes.attribution,
                        changed=writes.changed)
        self.writes = self.view.count_write(curs)  # in this transaction: a replica's next step sees the rows moved

    def attribution_of(self, state: AccountState, now: datetime, facts: Sequence[Fact]) -> AttributionWrites:
        """The account's settled conversions since last taken, its conversions not settled, and the touches folded."""
        settings = attribution_settings(self.thresholds)
        live = attribution_fold.not_taken(state.attribution, settings) if state.attribution else []
        return attribution_writes(take_credited(state), live, facts, settings)

    def prefetch(self, curs: Cursor[DictRow], instants: Mapping[str, datetime],
                 up_to: int) -> dict[str, tuple[datetime, tuple[datetime, bytes] | None, list[Fact]]]:
        """For accounts not in the cache: the checkpoint before each instant and the events after it, in two queries.

        Each is (the instant, its checkpoint or None, the events after the checkpoint up
        to `up_to`); `refold` takes it instead of asking for the account alone.
        """
        if not instants:
            return {}
        checkpoints = self.view.checkpoints_before(curs, instants)
        since = {account_id: checkpoints[account_id][0] + timedelta(microseconds=1) if account_id in checkpoints
                 else None for account_id in instants}
        stored = accounts_events_from(curs, since, up_to)
        return {account_id: (instant, checkpoints.get(account_id), stored[account_id])
                for account_id, instant in instants.items()}

    def cached_or_stored(self, curs: Cursor[DictRow], account_ids: Sequence[str]) -> dict[str, Folded]:
        """Each account's state as this projector last wrote it, taken out of the cache.

        An account not in the cache is folded from its checkpoints when judged (`folded`).
        """
        found = {account_id: self.cache.pop(account_id) for account_id in account_ids if account_id in self.cache}
        self.note_misses(len(account_ids), sum(account_id in self.evicted for account_id in account_ids))
        return found

    def note_misses(self, judged: int, evicted: int) -> None:
        """Warn when most accounts judged were let go of by the cache shortly before: each is then folded again from
        its checkpoint. A cache (least recently used) holding fewer accounts than take events in turn misses almost
        every time, and the projector falls behind by seconds where it kept up by milliseconds (`CACHE_WINDOW`)."""
        self.judged_since += judged
        self.evicted_since += evicted
        if self.judged_since < CACHE_WINDOW * max(1, self.cache_accounts):
            return
        judged, evicted = self.judged_since, self.evicted_since
        self.judged_since = self.evicted_since = 0
        thrashing = 2 * evicted > judged
        if thrashing and not self.thrashing:
            log.warning("projector: %d of the last %d accounts judged had just been let go of by its cache of %d"
                        " accounts, and were folded again from their checkpoints: more accounts take events than"
                        " it holds; raise CX360_PROJECTOR_CACHE_ACCOUNTS", evicted, judged, self.cache_accounts)
        elif self.thrashing and not thrashing:
            log.info("projector: its cache holds the accounts taking events again")
        self.thrashing = thrashing

    def folded(self, curs: Cursor[DictRow], account_id: str, before: Folded | None, facts: list[Fact],
               now: datetime, up_to: int, writes: Writes) -> tuple[Folded, set[str] | None]:
        """The account's state with its new facts folded in, and the types folded (None: the state is new).

        Checkpoints taken on the way are noted in `writes`. The state itself is not
        written: it is its latest checkpoint with the events after it, which is how an
        account not in the cache is read back.
        """
        present = sorted((fact for fact in facts if fact.occurred_at <= now), key=ORDER)
        later = [fact.occurred_at for fact in facts if fact.occurred_at > now]
        if before is None:  # not in the cache: from the checkpoint before its new events (or its latest)
            return self.refold(curs, account_id, min((fact.occurred_at for fact in facts), default=None), now,
                               up_to, writes, {}), None
        state, last = before.state, before.state.last
        deferred = min([*later, *([before.deferred_from] if before.deferred_from else [])], default=None)
        late = [fact for fact in present if last is not None and fact.order <= last]
        if late:
            return self.refold(curs, account_id, min(fact.occurred_at for fact in late), now, up_to, writes,
                               before.trend), None
        if deferred is not None and deferred <= now:  # events dated after the clock then: their time has come
            stored = account_events_from(curs, account_id, state.last_at, up_to)
            present = [fact for fact in stored if (last is None or fact.order > last) and fact.occurred_at <= now]
            deferred = min((fact.occurred_at for fact in stored if fact.occurred_at > now), default=None)
        if not present and deferred == before.deferred_from:
            return before, set()
        state = self.fold(account_id, state, present, now, writes, before.trend)
        return Folded(state, before.findings, deferred, before.trend, before.by_rule, before.live_credits), \
            {fact.type for fact in present}

    def refold(self, curs: Cursor[DictRow], account_id: str, before_at: datetime | None, now: datetime, up_to: int,
               writes: Writes, trend: Mapping[datetime, int | None]) -> Folded:
        """Fold the account from its checkpoint strictly before `before_at` (None: its latest) with the events after it.

        Its checkpoints from `before_at` on hold the state without a late event: they go,
        and are taken again as the fold crosses their boundaries. A checkpoint that does
        not decode (another release's) is never used: every checkpoint of the account
        goes, and it is folded from its first event.
        """
        base, boundary = start(account_id, self.thresholds), None
        prefetched = self.prefetched.pop(account_id, None)
        if prefetched is not None and prefetched[0] != (before_at or FAR_FUTURE):
            prefetched = None
        checkpoint = prefetched[1] if prefetched else self.view.checkpoint_before(curs, account_id, before_at or FAR_FUTURE)
        if checkpoint is not None:
            try:
                base, boundary = decode(checkpoint[1]), checkpoint[0]
            except StaleCheckpoint as error:
                self.discarded += 1
                log.warning("projector: a checkpoint of account %r does not decode (%s); folding it again "
                            "from its first event (%d discarded since start)", account_id, error, self.discarded)
                base, boundary, before_at, prefetched = start(account_id, self.thresholds), None, EARLIEST, None
        since = None if boundary is None else boundary + timedelta(microseconds=1)
        stored = prefetched[2] if prefetched else account_events_from(curs, account_id, since, up_to)
        present = [fact for fact in stored if fact.occurred_at <= now]
        deferred = min((fact.occurred_at for fact in stored if fact.occurred_at > now), default=None)
        self.refolds += len(present)
        if before_at is not None:
            writes.refolded[account_id] = before_at
        writes.reopened[account_id] = boundary  # its findings final after the base are found again
        kept = {point: score for point, score in trend.items() if before_at is not None and point < before_at}
        folded = self.fold(account_id, base, present, now, writes, kept)
        return Folded(folded, None, deferred, kept)

    def fold(self, account_id: str, state: AccountState, facts: Sequence[Fact], now: datetime, writes: Writes,
             trend: dict[datetime, int | None]) -> AccountState:
        """Fold facts in order: checkpoints and the trend's points passed noted in `writes`, the points in `trend`.

        A refold notes them too (each read from the small state there), so that the view
        need not fold the account again from a checkpoint. A point `trend` holds at or
        after the first fact was read before it (from the state with no fact after the
        point yet): it goes, and is scored again when passed or read.
        """
        writes.folded.setdefault(account_id, []).extend(facts)
        if self.kept_points[0] != now:
            self.kept_points = now, boundaries_before(now, TREND_KEPT)
        if facts:
            for point in [point for point in trend if point >= facts[0].occurred_at]:
                del trend[point]
        passed: dict[datetime, int | None] = {}
        folded = fold_recording(state, facts, self.thresholds, self.weights, points=self.kept_points[1],
                                scores=passed, taken=lambda boundary, data, facts: writes.checkpoints.append(
                                    (account_id, boundary, data, facts)))
        trend.update(passed)
        writes.trend.extend((account_id, point, score) for point, score in passed.items())
        return folded

    def view_of(self, curs: Cursor[DictRow], folded: Folded, now: datetime, up_to: int, writes: Writes) -> AccountView:
        """The account's view at now, with its trend's past points (each the health score at a week boundary).

        A point is what the folds noted, or read from the state (after the last fact), or
        stored, or, if none of those, scored by folding the account again (and stored).
        """
        points = boundaries_before(now, TREND_POINTS)
        known = {point: folded.trend[point] for point in points if point in folded.trend}
        state = folded.state
        for point in points:
            if point not in known and (state.last_at is None or state.last_at <= point):
                known[point] = score_at(state, point, self.thresholds, self.weights, folded.findings or [])
        missing = [point for point in points if point not in known]
        if missing:  # before the last fact and not passed since this projector has held the account
            known |= self.view.trend_at(curs, state.account_id, missing)
            missing = [point for point in points if point not in known]
        if missing:
            scored = self.scores_by_folding(curs, state.account_id, missing, up_to)
            writes.trend.extend((state.account_id, point, score) for point, score in scored.items())
            known |= scored
        folded.trend = known
        past = [HealthPoint(point, known[point]) for point in points]
        return view_at(state.view, now, folded.findings or [], self.weights, past)

    def scores_by_folding(self, curs: Cursor[DictRow], account_id: str, points: Sequence[datetime],
                          up_to: int) -> dict[datetime, int | None]:
        """The health at past boundaries, folding the account from its checkpoint at or before the first of them.

        At each point the findings are read from the state there: the live ones of now
        would miss those final since, which may have been open then.
        """
        base, boundary = start(account_id, self.thresholds), None
        checkpoint = self.view.checkpoint_before(curs, account_id, min(points) + timedelta(microseconds=1))
        if checkpoint is not None:
            try:
                base, boundary = decode(checkpoint[1]), checkpoint[0]
            except StaleCheckpoint:  # counted and replaced when the account is next refolded
                pass
        since = None if boundary is None else boundary + timedelta(microseconds=1)
        facts = [fact for fact in account_events_from(curs, account_id, since, up_to) if fact.occurred_at <= max(points)]
        scores: dict[datetime, int | None] = {}
        state = fold_recording(base, facts, self.thresholds, self.weights, points=points, scores=scores)
        for point in points:
            if point not in scores:
                scores[point] = score_at(state, point, self.thresholds, self.weights)
        return scores



def view_changes(state: AccountState, now: datetime) -> datetime | None:
    """When the view must be read again with no new event: its own next change (None: none comes).

    A week boundary alone is no change: the trend's points after the view's moment are
    its score then, and the reads add them (`service.read.account_view.trend_through`).
    """
    return next_change(state.view, now)


@dataclass
class Judged:
    """An account folded from its first event, as a rebuild writes it."""

    findings: list[Finding]  # live
    final: list[Final]
    view: AccountView
    due: datetime | None
    checkpoints: list[Checkpoint]
    attribution: AttributionWrites
    trend: list[TrendPoint]


def judged_from_start(account_id: str, facts: Sequence[Fact], now: datetime, thresholds: Thresholds,
                      weights: HealthWeights) -> Judged:
    """Fold every fact of an account (any order) with its checkpoints; findings and view at now."""
    ordered = sorted(facts, key=ORDER)
    present = [fact for fact in ordered if fact.occurred_at <= now]
    deferred = min((fact.occurred_at for fact in ordered if fact.occurred_at > now), default=None)
    checkpoints: list[Checkpoint] = []
    scores: dict[datetime, int | None] = {}  # the points passed, stored
    state = fold_recording(start(account_id, thresholds), present, thresholds, weights,
                           points=boundaries_before(now, TREND_KEPT), scores=scores,
                           taken=lambda boundary, data, facts: checkpoints.append((account_id, boundary, data, facts)))
    moment = Moment(now)
    final = take_final(state)
    settings = attribution_settings(thresholds)
    live = attribution_fold.not_taken(state.attribution, settings) if state.attribution else []
    attribution = attribution_writes(take_credited(state), live, present, settings)
    findings = findings_at(state, moment, thresholds)
    past = [HealthPoint(point, scores[point] if point in scores else score_at(state, point, thresholds, weights))
            for point in boundaries_before(now, TREND_POINTS)]
    view = view_at(state.view, now, findings, weights, past)
    due = min((each for each in (moment.next_change, deferred, view_changes(state, now)) if each is not None),
              default=None)
    return Judged(findings, final, view, due, checkpoints, attribution,
                  [(account_id, point, score) for point, score in scores.items()])


def refold_from(before: Folded | None, facts: Sequence[Fact], now: datetime) -> datetime | None:
    """The instant from which `Projector.folded` folds an account again from a checkpoint (None: it folds the new
    facts onto its state): its first new fact's if it is not in the cache, its first late fact's if one is late."""
    if before is None:
        return min((fact.occurred_at for fact in facts), default=FAR_FUTURE)
    last = before.state.last
    return None if last is None else min((fact.occurred_at for fact in facts
                                           if fact.occurred_at <= now and fact.order <= last), default=None)


def read_findings(folded: Folded, touched: set[str] | None, now: datetime,
                  thresholds: Thresholds) -> tuple[list[Finding], datetime | None]:
    """The account's findings at now and their next change, reading again only the rules that may have changed.

    A rule's findings change only with a fact of a type it folds, or when its next
    change comes; the others keep what they read before (`touched` None: read them all).
    """
    results = folded.by_rule = read_rules(folded.state, now, thresholds, folded.by_rule, touched)
    found = sorted((each for found, _, _ in results.values() for each in found), key=lambda each: (each.detected_at, each.id))
    return found, min((change for _, change, _ in results.values() if change is not None), default=None)
