"""The view's parts read from the folded state at a moment: what `view.account` composes from every fact.

Each reading says in words what the reference part says, from what the state kept;
where a reference function reads only facts the state keeps whole (the responses, the
latest engagement, the usage records), it is called on those facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from domain.catalogue import DEPARTMENTS
from projections.facts import Fact
from projections.findings import Finding, day
from projections.history import Timeline
from projections.view import agent as warnings
from projections.view import health as scores
from projections.view import lifecycle as stages
from projections.view.model import AgentContext, DepartmentSummary, HealthComponent, Lifecycle, OpenItem
from projections.view.open_items import SERIOUS_PRIORITIES, counted, is_serious, standing_words
from projections.view.state.items import Items
from projections.view.state.responses import Responses
from projections.view.state.spells import Spell, Spells
from projections.view.state.touches import Touches
from projections.view.state.usage import Usage


@dataclass
class Reading:
    """The state's parts at `as_of` (no earlier than the latest fact taken), each derived once."""

    account_id: str
    as_of: datetime
    touches: Touches
    items: Items
    responses: Responses
    usage: Usage
    spells: Spells  # judged up to `as_of` (`Spells.at`)

    @cached_property
    def tickets(self) -> list[OpenItem]:
        return self.items.open_tickets()

    @cached_property
    def unpaid(self) -> list[OpenItem]:
        return self.items.unpaid_invoices(self.as_of)

    @cached_property
    def plan(self) -> Fact | None:
        return self.items.plan_in_force(self.as_of)

    @cached_property
    def answers(self) -> Timeline:
        return self.responses.timeline(self.account_id)

    def departments(self) -> tuple[DepartmentSummary, ...]:
        return tuple(self.touches.departments[name].summary(name, self.as_of, self.open_items(name))
                     for name in DEPARTMENTS if self.touches.seen(name))

    def open_items(self, department: str) -> list[OpenItem]:
        if department == "marketing":
            return self.items.opt_outs()
        if department == "sales":
            return self.items.open_opportunities()
        if department == "product":
            return self.items.open_incidents()
        return self.tickets if department == "support" else self.unpaid

    # lifecycle

    def lifecycle(self) -> Lifecycle:
        current, ended = self.spells.current, self.spells.ended
        if current is None and ended is None:
            return self.prospect()
        if current is None:
            assert ended is not None
            return churned(ended)
        customer = f"a customer since {day(current.start)} ({start_words(current.started_by)})"
        if current.start > self.as_of - stages.ONBOARDING_DAYS:
            back = f", back after churning on {day(ended.end)}" if ended is not None and ended.end else ""
            return Lifecycle("onboarding", current.start, f"Onboarding: {customer}, less than 90 days ago{back}.")
        signals = self.risk_signals()
        if signals:
            since = max(current.start, min(signal.since for signal in signals))
            words = "; ".join(signal.words for signal in signals)
            return Lifecycle("at_risk", since, f"At risk: {customer}, with {words}.")
        return Lifecycle("active", current.start, f"Active: {customer}, with no risk signal.")

    def prospect(self) -> Lifecycle:
        if self.touches.first is None:
            return Lifecycle("prospect", None, "Prospect: no events yet.")
        at, kind = self.touches.first
        return Lifecycle("prospect", at, "Prospect: never a customer (no subscription and no won deal), "
                                         f"first seen on {day(at)} ({kind}).")

    def risk_signals(self) -> list[stages.Signal]:
        suspended = self.items.suspended_since
        return [*self.serious_ticket_signals(), *self.overdue_signals(),
                *([stages.Signal(suspended, f"the service suspended since {day(suspended)}")] if suspended else []),
                *stages.recent_detractor(self.answers, self.as_of),
                *stages.low_usage(self.usage.run_timeline(self.account_id))]

    def serious_ticket_signals(self) -> list[stages.Signal]:
        signals = []
        for item in filter(is_serious, self.tickets):
            since = item.since
            if item.priority not in SERIOUS_PRIORITIES:
                since = max(since, self.items.tickets[item.id].first_escalated_at or since)
            signals.append(stages.Signal(since, item.summary))
        return signals

    def overdue_signals(self) -> list[stages.Signal]:
        first_day = timedelta(days=stages.OVERDUE_DAYS + 1)
        return [stages.Signal(self.due(item.id) + first_day, item.summary)
                for item in self.unpaid if (item.days_overdue or 0) > stages.OVERDUE_DAYS]

    def due(self, invoice_id: str) -> datetime:
        issued = self.items.invoices[invoice_id].issued
        assert issued is not None
        return issued.instant("dueAt")

    # health

    def components(self, findings: Sequence[Finding], weights: scores.HealthWeights,
                   words: bool = True) -> tuple[HealthComponent, ...]:
        """The health components, counting the findings open at `as_of`; with `words` False, their values alone
        (what a trend point's score needs: `health_at`)."""
        spells = self.spells_read()
        judged = {
            "product_usage": scores.usage_not_judged(spells, words) or scores.product_usage(
                self.usage.seated_timeline(self.account_id), words),
            "support_load": self.support_load(words),
            "satisfaction": scores.satisfaction(self.answers, self.as_of, words),
            "billing_standing": scores.standing_not_judged(spells, words) or self.billing_standing(words),
            "engagement": scores.engagement(Timeline(self.account_id, [self.touches.engagement]
                                                     if self.touches.engagement else []), self.as_of, words),
            "open_findings": scores.findings_component(scores.open_at(findings, self.as_of), words),
        }
        return tuple(HealthComponent(name, value, getattr(weights, name), explanation)
                     for name, (value, explanation) in judged.items())

    def spells_read(self) -> list[stages.Spell]:
        """The spells as health reads them: none (a prospect), or the latest (current or ended)."""
        latest = self.spells.current or self.spells.ended
        return [] if latest is None else [stages.Spell(latest.start, latest.end)]

    def support_load(self, words: bool = True) -> scores.Judged:
        if not self.touches.seen("support"):
            return None, "No support events." if words else ""
        escalations, opened, reopened = (self.items.recent_count(f"support.ticket.{kind}", self.as_of)
                                         for kind in ("escalated", "opened", "reopened"))
        value, rate = scores.support_value(sum(scores.TICKET_PENALTIES.get(priority or "", 5)
                                               for priority in self.items.open_ticket_priorities()),
                                           escalations, opened, reopened)
        if not words:
            return value, ""
        said = (f"{scores.open_ticket_words(self.tickets)}; {counted(escalations, 'escalation')} and "
                f"{counted(reopened, 'reopening')} against {counted(opened, 'ticket')} opened in the last 90 days "
                f"(reopen rate {rate} %).")
        return value, said

    def billing_standing(self, words: bool = True) -> scores.Judged:
        if not self.touches.seen("billing"):
            return None, "No billing events." if words else ""
        suspended = self.items.suspended_since
        failed = self.items.recent_count("billing.payment.failed", self.as_of)
        overdue = sum(20 if days > 30 else 10 for days in self.items.unpaid_days_overdue(self.as_of) if days)
        points = 100 - (40 if suspended else 0) - 10 * failed - overdue + (10 if self.plan else 0)
        if not words:
            return scores.clamped(points), ""
        said = standing_words(suspended, self.unpaid, self.plan) + (
            [f"{counted(failed, 'failed payment')} in the last 90 days"] if failed else [])
        return scores.clamped(points), (scores.capitalized("; ".join(said)) + "." if said else
                                        "In good standing: nothing unpaid and no failed payment in the last 90 days.")

    # the agent

    def agent(self) -> AgentContext:
        tickets = [ticket for ticket in self.tickets if is_serious(ticket)]
        donts = (*warnings.ticket_donts(tickets), *warnings.opt_out_donts(self.items.opt_outs()),
                 *warnings.plan_donts(self.plan, self.unpaid), *warnings.incident_donts(self.items.open_incidents()),
                 *warnings.detractor_donts(self.answers, self.as_of))
        words = standing_words(self.items.suspended_since, self.unpaid, self.plan)
        line = scores.capitalized("; ".join(words)) + "." if words else "In good standing: nothing unpaid."
        return AgentContext(tuple(tickets), line, donts, self.touches.this_week(self.as_of))


def start_words(fact: Fact) -> str:
    """What started a spell: a subscription change, or a win."""
    if fact.type == "billing.subscription.changed":
        change = str(fact.data["change"])
        return f"subscription to plan {fact.data['plan']} {stages.CHANGED.get(change, change)}"
    return f"deal {fact.data['opportunityId']} won"


def churned(spell: Spell) -> Lifecycle:
    """The ended spell: by a cancel at its end, or by the win that aged out then."""
    assert spell.end is not None and spell.ended_by is not None
    words = f"ending a customer spell that began on {day(spell.start)}"
    ender = spell.ended_by
    if ender.type == "billing.subscription.changed":
        reason = f"Churned: the subscription to plan {ender.data['plan']} was cancelled on {day(spell.end)}, {words}."
    else:
        reason = (f"Churned: deal {ender.data['opportunityId']} won on {day(ender.occurred_at)} aged out on "
                  f"{day(spell.end)} with no subscription in force, {words}.")
    return Lifecycle("churned", spell.end, reason)
