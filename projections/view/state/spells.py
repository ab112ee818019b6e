"""The account's customer spells, as far as the lifecycle and health read them.

Being a customer at T reads only the latest subscription change and the latest win
before T (`projections.customers`), so those two are kept. The status changes just
after a change or a win, or when the latest win turns `won_days` days old; an instant
is judged once no later fact can share it (at the next change or win after it, or when
read), so facts at one instant count together. Of the spells, only the current one
(its start and the fact that started it) and the last one ended (its start, its end,
and the cancel or the win that ended it) are ever read: a churned account's `since`
and reason, and an onboarding account that came back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from projections.customers import CHANGES, WINS, WON_DAYS, reason
from projections.facts import Fact
from projections.state_codec import state
from projections.view.lifecycle import RESOLUTION


@state(version=1)
@dataclass(frozen=True, slots=True)
class Spell:
    start: datetime
    started_by: Fact  # the subscription change or the win at `start`
    end: datetime | None = None
    ended_by: Fact | None = None  # the cancel at `end`, or the win that aged out then


@state(version=1)
@dataclass(slots=True)
class Spells:
    won_days: int = WON_DAYS
    change: Fact | None = None  # the latest subscription change taken
    win: Fact | None = None  # the latest win taken
    unjudged: datetime | None = None  # the instant of the latest change or win, while not judged
    current: Spell | None = None  # the spell the account is in
    ended: Spell | None = None  # the latest spell that ended

    def take(self, fact: Fact) -> None:
        if fact.type not in (CHANGES, WINS):
            return
        self.judge_before(fact.occurred_at)
        if fact.type == CHANGES:
            self.change = fact
        else:
            self.win = fact
        self.unjudged = fact.occurred_at

    def at(self, instant: datetime) -> Spells:
        """A copy judged up to `instant` (no earlier than the latest fact taken): read it, not this one."""
        judged = replace(self)
        judged.judge_before(instant)
        return judged

    def judge_before(self, instant: datetime) -> None:
        """Judge the status just after each moment before `instant`: the unjudged instant, then the win's expiry."""
        if self.unjudged is not None and self.unjudged < instant:
            self.judge(self.unjudged)
            self.unjudged = None
        if self.unjudged is None and self.current is not None and self.win is not None and not self.subscribed():
            expiry = self.win.occurred_at + timedelta(days=self.won_days)
            if expiry < instant:
                self.end(expiry, self.win)

    def judge(self, moment: datetime) -> None:
        customer = reason(self.change, self.win, moment + RESOLUTION, self.won_days) is not None
        if customer and self.current is None:
            self.current = Spell(moment, self.starter(moment))
        elif not customer and self.current is not None:
            cancel = self.change if self.change is not None and self.change.occurred_at == moment else None
            ender = cancel if cancel is not None and not self.subscribed() else self.win
            assert ender is not None
            self.end(moment, ender)

    def end(self, moment: datetime, ender: Fact) -> None:
        current = self.current
        assert current is not None
        self.current, self.ended = None, replace(current, end=moment, ended_by=ender)

    def subscribed(self) -> bool:
        return self.change is not None and self.change.data.get("change") != "cancel"

    def starter(self, moment: datetime) -> Fact:
        """What made the account a customer at `moment`: the subscription change there, else the win."""
        if self.change is not None and self.change.occurred_at == moment and self.subscribed():
            return self.change
        assert self.win is not None
        return self.win

    @property
    def ever(self) -> bool:
        return self.current is not None or self.ended is not None
