"""`collections-during-payment-plan`: billing collects while a payment plan is in force (HIGH, billing).

A `billing.payment_plan.granted` is in force from its `occurredAt` until its `until`,
both ends included; a plain date `until` means the end of that day (UTC). A collections
action (`billing.dunning.sent`, `billing.service.suspended`) in that stretch makes the
contradiction true from the first such action. Key: the plan; a later action while it
is in force joins the finding as evidence. Closes at the plan's `until`: an action at
the `until` itself joins a finding already open, but alone it never held (the plan
ended as it came), and there is no finding. Overlapping plans are judged each on its own.

As a fold (`Plans`), a plan in force gathers the actions that come. Once a fact after its
`until` is taken, no action can join it any more and its closing has come: a plan that
holds a finding gives it up as final (`take_final`), and one that does not is forgotten.
So the state holds the plans still in force and the actions of the last instant only,
whatever the account's age.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "collections-during-payment-plan"

COLLECTIONS = ("billing.dunning.sent", "billing.service.suspended")


@dataclass(frozen=True)
class Thresholds:
    pass


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    actions = timeline.of(*COLLECTIONS)
    for plan in timeline.of("billing.payment_plan.granted"):
        until = plan.instant("until")
        inside = [action for action in actions if plan.occurred_at <= action.occurred_at <= until]
        if inside and held(inside[0].occurred_at, until):
            yield finding_of(timeline.account_id, plan, inside, moment.resolved_at(until))


@state(version=1)
@dataclass(slots=True)
class InForce:
    """A plan, the end of its stretch, and the collections actions in it so far."""

    plan: Fact
    until: datetime
    actions: list[Fact] = field(default_factory=list)

    def holds(self) -> bool:
        return bool(self.actions) and held(self.actions[0].occurred_at, self.until)


@state(version=1)
@dataclass(slots=True)
class Plans:
    """The plans still in force, the plans just ended with a finding, and the actions of the last instant.

    Bounded: `in_force` holds the plans whose `until` has not passed; a plan that ended
    moves to `ended` if it holds a finding and is forgotten if not, and `take_final`
    takes `ended` out at once. `now` keeps the actions at the last fact's instant only,
    which a plan granted at that same instant (ordered after them) still counts.
    """

    account_id: str
    in_force: list[InForce] = field(default_factory=list)
    ended: list[InForce] = field(default_factory=list)  # ended with a finding, until `take_final` takes them
    now: list[Fact] = field(default_factory=list)


def start(account_id: str, thresholds: Thresholds) -> Plans:
    return Plans(account_id)


def step(plans: Plans, fact: Fact, thresholds: Thresholds) -> Plans:
    """A plan starts with the actions of its own instant; an action joins every plan in force."""
    settle(plans, fact.occurred_at)
    if fact.type == "billing.payment_plan.granted":
        until = fact.instant("until")
        plans.in_force.append(InForce(fact, until, [each for each in plans.now if each.occurred_at <= until]))
    else:
        plans.now.append(fact)
        for each in plans.in_force:
            if fact.occurred_at <= each.until:
                each.actions.append(fact)
    return plans


def settle(plans: Plans, now: datetime) -> None:
    """End the plans whose `until` came before `now`; forget the actions of an earlier instant."""
    plans.ended.extend(each for each in plans.in_force if each.until < now and each.holds())
    plans.in_force = [each for each in plans.in_force if each.until >= now]
    plans.now = [each for each in plans.now if each.occurred_at == now]


def read(plans: Plans, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for each in [*plans.ended, *plans.in_force]:
        if each.holds():
            yield finding_of(plans.account_id, each.plan, each.actions, moment.resolved_at(each.until))


def take_final(plans: Plans, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The findings of the plans that ended: an action after a plan's `until` joins it no more, and it has closed."""
    moment = Moment(now)
    final = [finding_of(plans.account_id, each.plan, each.actions, moment.resolved_at(each.until))
             for each in plans.ended]
    plans.ended.clear()
    return final


def action_words(action: Fact) -> str:
    if action.type == "billing.dunning.sent":
        return f"sent a level {action.data['level']} dunning notice for invoice {action.data['invoiceId']}"
    return "suspended the service"


def until_words(plan: Fact) -> str:
    """The plan's last day: a plain date `until` is that day, not the midnight after it."""
    until = str(plan.data["until"])
    return day(plan.instant("until") - timedelta(days=1) if len(until) == 10 else plan.instant("until"))


def finding_of(account_id: str, plan: Fact, actions: list[Fact], resolved_at: datetime | None) -> Finding:
    first = actions[0]
    summary = (
        f"Billing {action_words(first)} on {day(first.occurred_at)} although it had granted a payment plan "
        f"on {day(plan.occurred_at)} running until {until_words(plan)}"
    )
    if len(actions) > 1:
        more = len(actions) - 1
        summary += f"; {more} more collections action{'s' if more > 1 else ''} followed during the plan"
    return finding(
        account_id,
        ID,
        f"{plan.source}/{plan.event_id}",
        severity="HIGH",
        departments=("billing",),
        evidence=[plan, *actions],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"billing.payment_plan.granted", *COLLECTIONS}), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
