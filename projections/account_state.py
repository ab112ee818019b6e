"""An account's folded state: every folding rule's state, advanced together one fact at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.fold import Fold
from projections.rules import RULES
from projections.state_codec import state
from projections.thresholds import Thresholds
from projections.view import fold as view_fold

Order = tuple[datetime, str, str]


@cache
def folds() -> dict[str, Fold[Any]]:
    """Every rule's fold, by id."""
    return {rule_id: rule.fold for rule_id, rule in RULES.items()}


@state(version=3)
@dataclass(slots=True)
class AccountState:
    account_id: str
    last: Order | None  # the order key of the last fact taken
    facts: int  # how many facts were taken
    rules: dict[str, Any]  # rule id -> that rule's state
    view: view_fold.ViewState  # the account view's parts
    unchecked: int = 0  # facts taken since the last checkpoint (`projections.folding`)

    @property
    def last_at(self) -> datetime | None:
        return None if self.last is None else self.last[0]


class OutOfOrder(ValueError):
    """A fact that does not come after the state's last one: refold from a checkpoint before it."""


def start(account_id: str, thresholds: Thresholds, rule_ids: Iterable[str] | None = None) -> AccountState:
    chosen = folds() if rule_ids is None else {rule_id: folds()[rule_id] for rule_id in rule_ids}
    return AccountState(account_id, None, 0, {rule_id: fold.start(account_id, thresholds[rule_id])
                                              for rule_id, fold in chosen.items()},
                        view_fold.start(account_id, thresholds["prospecting-a-customer"].customer_won_days))


def advance(account: AccountState, fact: Fact, thresholds: Thresholds,
            chosen: Mapping[str, Fold[Any]] | None = None) -> AccountState:
    """The state with one more fact, which must come after every fact taken so far."""
    if account.last is not None and fact.order <= account.last:
        raise OutOfOrder(f"{fact.order} does not come after {account.last}")
    for rule_id, fold in (chosen or folds()).items():
        if rule_id in account.rules and fact.type in fold.types:
            account.rules[rule_id] = fold.step(account.rules[rule_id], fact, thresholds[rule_id])
    if fact.type in view_fold.TYPES:
        account.view = view_fold.step(account.view, fact)
    account.last = fact.order
    account.facts += 1
    account.unchecked += 1
    return account


def findings_at(account: AccountState, moment: Moment, thresholds: Thresholds) -> list[Finding]:
    """The findings of the folding rules at the moment (no earlier than the last fact taken)."""
    if account.last is not None and moment.instant < account.last[0]:
        raise ValueError(f"a state folded up to {account.last[0]} cannot be read at {moment.instant}")
    chosen = folds()
    found = [each for rule_id, rule_state in account.rules.items()
             for each in chosen[rule_id].read(rule_state, moment, thresholds[rule_id])]
    found.sort(key=lambda each: (each.detected_at, each.id))
    return found
