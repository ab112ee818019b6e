"""An account's folded state: every folding rule's state, advanced together one fact at a time.

Findings that became final (`projections.fold`) wait in `final` until the caller takes
them (`take_final`): the projector writes them as final rows. A checkpoint never holds
them (`checkpoint_bytes`): those final at or before its boundary are rows already.
Attribution is one more fold (`projections.attribution.fold`), with its settings under
`ATTRIBUTION` in the thresholds; its settled conversions wait in `credited` the same way
(`take_credited`), to be written once as credit rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any

from projections.attribution import fold as attribution_fold
from projections.attribution.fold import Attributing, Converted
from projections.attribution.journeys import READS as ATTRIBUTION_READS
from projections.attribution.settings import DEFAULT_ATTRIBUTION, AttributionSettings
from projections.facts import ORDER, Fact
from projections.findings import Finding, Moment, Reused, reusing
from projections.fold import Fold
from projections.rules import RULES
from projections.state_codec import encode, state
from projections.thresholds import ATTRIBUTION, Thresholds
from projections.view import fold as view_fold

Order = tuple[datetime, str, str]


@cache
def folds() -> dict[str, Fold[Any]]:
    """Every rule's fold, by id."""
    return {rule_id: rule.fold for rule_id, rule in RULES.items()}


@cache
def folds_taking(fact_type: str) -> tuple[tuple[str, Fold[Any]], ...]:
    """The rules' folds that take facts of a type, by id in `folds()` order: what a fact steps (most take few types)."""
    return tuple((rule_id, fold) for rule_id, fold in folds().items() if fact_type in fold.types)


Final = tuple[datetime, Finding]  # (the instant of the fact at which the finding became final, the finding)
Credited = tuple[datetime, Converted]  # (the instant of the fact at which the conversion settled, it and its touches)



def attribution_settings(thresholds: Thresholds) -> AttributionSettings:
    settings = thresholds.get(ATTRIBUTION, DEFAULT_ATTRIBUTION)
    assert isinstance(settings, AttributionSettings)
    return settings


@state(version=5)
@dataclass(slots=True)
class AccountState:
    account_id: str
    last: Order | None  # the order key of the last fact taken
    facts: int  # how many facts were taken
    rules: dict[str, Any]  # rule id -> that rule's state
    view: view_fold.ViewState  # the account view's parts
    unchecked: int = 0  # facts taken since the last checkpoint (`projections.folding`)
    final: list[Final] = field(default_factory=list)  # findings that became final, not yet taken by the caller
    attribution: Attributing | None = None  # None: not folded (a state started for chosen rules only, an asOf read)
    credited: list[Credited] = field(default_factory=list)  # conversions settled, not yet taken by the caller

    @property
    def last_at(self) -> datetime | None:
        return None if self.last is None else self.last[0]


class OutOfOrder(ValueError):
    """A fact that does not come after the state's last one: refold from a checkpoint before it."""


def start(account_id: str, thresholds: Thresholds, rule_ids: Iterable[str] | None = None) -> AccountState:
    chosen = folds() if rule_ids is None else {rule_id: folds()[rule_id] for rule_id in rule_ids}
    return AccountState(account_id, None, 0, {rule_id: fold.start(account_id, thresholds[rule_id])
                                              for rule_id, fold in chosen.items()},
                        view_fold.start(account_id, thresholds["prospecting-a-customer"].customer_won_days),
                        attribution=attribution_fold.start(account_id) if rule_ids is None else None)


def advance(account: AccountState, fact: Fact, thresholds: Thresholds,
            chosen: Mapping[str, Fold[Any]] | None = None) -> AccountState:
    """The state with one more fact, which must come after every fact taken so far."""
    if account.last is not None and ORDER(fact) <= account.last:
        raise OutOfOrder(f"{fact.order} does not come after {account.last}")
    taking = folds_taking(fact.type) if not chosen else [
        (rule_id, fold) for rule_id, fold in chosen.items() if fact.type in fold.types]
    for rule_id, fold in taking:
        if rule_id in account.rules:
            account.rules[rule_id] = fold.step(account.rules[rule_id], fact, thresholds[rule_id])
            if fold.take_final is not None:
                account.final.extend((fact.occurred_at, each)
                                     for each in fold.take_final(account.rules[rule_id], fact.occurred_at,
                                                                 thresholds[rule_id]))
    if fact.type in view_fold.TYPES:
        account.view = view_fold.step(account.view, fact)
    if fact.type in ATTRIBUTION_READS and account.attribution is not None:
        account.attribution = attribution_fold.step(account.attribution, fact, attribution_settings(thresholds))
        if account.attribution.settled:
            account.credited.extend((fact.occurred_at, each) for each in attribution_fold.take_settled(account.attribution))
    account.last = ORDER(fact)
    account.facts += 1
    account.unchecked += 1
    return account


def check_readable(account: AccountState, instant: datetime) -> None:
    """A state is read at its last fact's instant or later: earlier, it holds facts that had not happened."""
    if account.last is not None and instant < account.last[0]:
        raise ValueError(f"a state folded up to {account.last[0]} cannot be read at {instant}")


RuleRead = tuple[list[Finding], datetime | None, Reused]  # a rule's findings at a moment, their next change, how built
RuleReads = dict[str, RuleRead]  # by rule id


def read_rules(account: AccountState, instant: datetime, thresholds: Thresholds, prior: Mapping[str, Any],
               touched: Set[str] | None) -> RuleReads:
    """Each rule's findings at `instant` (no earlier than the last fact) and when they next change with no new fact.

    A rule's findings change only with a fact of a type it folds, or when their next
    change comes: a rule read before (`prior`, at an earlier instant) keeps that read if
    none of its types is in `touched` (the types folded since; None: not known) and its
    next change has not come. The others are read again, reusing the findings of their
    read before that come out the same (`projections.findings.reusing`).
    """
    check_readable(account, instant)
    reads: RuleReads = {}
    for rule_id, fold in folds().items():
        if rule_id not in account.rules:
            continue
        read = prior.get(rule_id)
        if read is None or touched is None or fold.types & touched or (read[1] is not None and read[1] <= instant):
            moment = Moment(instant)
            with reusing({} if read is None else read[2]) as built:
                found = list(fold.read(account.rules[rule_id], moment, thresholds[rule_id]))
            read = found, moment.next_change, built
        reads[rule_id] = read
    return reads


def findings_at(account: AccountState, moment: Moment, thresholds: Thresholds,
                rule_ids: Iterable[str] | None = None) -> list[Finding]:
    """The findings at the moment (no earlier than the last fact taken): the rules' (or the chosen rules')
    read of their states, and those final but not yet taken out."""
    check_readable(account, moment.instant)
    chosen = folds()
    wanted = set(account.rules) if rule_ids is None else set(rule_ids)
    found = [each for rule_id, rule_state in account.rules.items() if rule_id in wanted
             for each in chosen[rule_id].read(rule_state, moment, thresholds[rule_id])]
    found.extend(each for _, each in account.final if each.rule in wanted)
    found.sort(key=lambda each: (each.detected_at, each.id))
    return found


def take_final(account: AccountState) -> list[Final]:
    """The findings that became final since last taken, taken out of the state."""
    taken, account.final = account.final, []
    return taken


def take_credited(account: AccountState) -> list[Credited]:
    """The conversions settled since last taken, taken out of the state."""
    taken, account.credited = account.credited, []
    return taken


def checkpoint_bytes(account: AccountState) -> bytes:
    """The state as a checkpoint stores it: without the final findings and settled conversions waiting to be taken."""
    return encode(replace(account, final=[], credited=[]) if account.final or account.credited else account)
