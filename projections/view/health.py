"""The health score: six components, each 0-100 with its weight and a sentence, and their weighted mean.

A component with nothing to judge it by (no usage record, no support event...) has no value
and is left out of the mean, so an account is not marked down for what it never did. Nor is
it scored on what no longer says anything, or cannot yet: a prospect (never a customer) or a
churned account is not scored on product usage, and a prospect has no billing standing (the
lifecycle's customer spells, `lifecycle.customer_spells`).
Arithmetic is exact (fractions) and halves round away from zero, so a score never depends
on float error. The trend judges the same facts as they stood at each weekly point.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any

from domain.catalogue import CATALOGUE
from projections.customers import WON_DAYS
from projections.facts import Fact, within
from projections.findings import Finding, day
from projections.history import Timeline
from projections.view.lifecycle import Spell, customer_spells
from projections.view.model import Health, HealthComponent, HealthPoint, OpenItem
from projections.view.open_items import (
    counted,
    open_tickets,
    plan_in_force,
    standing_words,
    suspended_since,
    unpaid_invoices,
)
from projections.view.satisfaction import latest_per_contact, within_year
from projections.weeks import boundaries_before

SUPPORT = tuple(name for name in CATALOGUE if name.startswith("support."))
BILLING = tuple(name for name in CATALOGUE if name.startswith("billing."))
READS = ("product.usage.recorded", "marketing.nps.responded", "marketing.engagement.recorded", *SUPPORT, *BILLING,
         "sales.opportunity.won")  # with billing's subscription changes: whether the account is a customer
TICKET_PENALTIES = {"urgent": 25, "high": 15}  # any other open ticket: 5
FINDING_PENALTIES = {"HIGH": 30, "MEDIUM": 15, "LOW": 5}
ENGAGEMENT_STEPS = ((14, 100), (30, 75), (90, 40))  # (within days, value); older: 10

Judged = tuple[int | None, str]


@dataclass(frozen=True)
class HealthWeights:
    """How much each component counts in the score: operator settings, these are the defaults."""

    product_usage: float = 25.0
    support_load: float = 20.0
    satisfaction: float = 20.0
    billing_standing: float = 20.0
    engagement: float = 10.0
    open_findings: float = 5.0


DEFAULT_WEIGHTS = HealthWeights()


class HealthWeightError(ValueError):
    """A health weight setting that cannot be used; the message names the key."""


def weights_from(table: Mapping[str, Any]) -> HealthWeights:
    """The default weights with the table's overriding them; a typo or a negative weight is refused."""
    names = [each.name for each in fields(HealthWeights)]
    chosen: dict[str, float] = {}
    for key, value in table.items():
        if key not in names:
            raise HealthWeightError(f"{key}: unknown health weight; the weights are {', '.join(names)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                isinstance(value, float) and not math.isfinite(value)):
            raise HealthWeightError(f"{key}: must be a number, not {value!r}")
        if value < 0:
            raise HealthWeightError(f"{key}: must not be negative (got {value})")
        chosen[key] = float(value)
    weights = replace(DEFAULT_WEIGHTS, **chosen)
    if not any(getattr(weights, name) for name in names):
        raise HealthWeightError(f"{', '.join(names)}: all health weights are zero; at least one must be positive")
    return weights


def health(timeline: Timeline, as_of: datetime, findings: Sequence[Finding],
           weights: HealthWeights = DEFAULT_WEIGHTS, trend_weeks: int = 12,
           known: Mapping[datetime, int | None] | None = None, won_days: int = WON_DAYS,
           findings_then: Callable[[datetime], Sequence[Finding]] | None = None) -> Health:
    """The score as of `as_of` and weekly points ending there, each judged from the facts up to it.

    `findings` are all the account's findings; at each point those open then count, or
    with `findings_then` (a point -> the findings judged at it) the findings open as of
    the point. They differ for a finding closed at the point and reopened since, which
    was not open then (`projections.evaluation.findings_then`).
    Past points fall on the `trend_weeks` - 1 latest week boundaries before `as_of`
    (Mondays, 00:00 UTC), where the projector keeps checkpoints of each account's state:
    a caller that knows the scores of some points passes them in `known` instead of
    judging them again. `won_days`: how long a won deal keeps a customer (`projections.customers`).
    """
    components = components_at(timeline, as_of, open_at(findings, as_of), weights, won_days)
    score = score_of(components)
    facts = timeline.of(*READS)
    times = [fact.occurred_at for fact in facts]
    trend = []
    for point in trend_points(as_of, trend_weeks):
        if known is not None and point in known:
            trend.append(HealthPoint(point, known[point]))
            continue
        past = Timeline(timeline.account_id, facts[:bisect_right(times, point)])
        then = findings if findings_then is None else findings_then(point)
        judged = components_at(past, point, open_at(then, point), weights, won_days)
        trend.append(HealthPoint(point, score_of(judged)))
    return Health(score, components, tuple(trend) + ((HealthPoint(as_of, score),) if trend_weeks > 0 else ()))


def trend_points(as_of: datetime, weeks: int) -> list[datetime]:
    """The past points of a trend, oldest first: the `weeks` - 1 latest week boundaries before `as_of`."""
    return boundaries_before(as_of, weeks - 1) if weeks > 1 else []


def components_at(timeline: Timeline, as_of: datetime, findings: Sequence[Finding],
                  weights: HealthWeights, won_days: int = WON_DAYS) -> tuple[HealthComponent, ...]:
    spells = customer_spells(timeline, as_of, won_days)
    judged = {
        "product_usage": usage_not_judged(spells) or product_usage(timeline),
        "support_load": support_load(timeline, as_of),
        "satisfaction": satisfaction(timeline, as_of),
        "billing_standing": standing_not_judged(spells) or billing_standing(timeline, as_of),
        "engagement": engagement(timeline, as_of),
        "open_findings": findings_component(findings),
    }
    return tuple(HealthComponent(name, value, getattr(weights, name), words) for name, (value, words) in judged.items())


def score_of(components: Sequence[HealthComponent]) -> int | None:
    """The weighted mean of the components that have a value; None if they weigh nothing.

    Exact, in whole numbers: each weight is the fraction its float is, brought over the
    valued weights' common denominator (a `Fraction` sum costs more than the rest of a
    score, and a rebuild scores every account at every week boundary of its trend)."""
    valued = [(exact(each.weight), each.value) for each in components if each.value is not None]
    common = math.lcm(*(weight.denominator for weight, _ in valued)) if valued else 1
    scaled = [(weight.numerator * (common // weight.denominator), value) for weight, value in valued]
    total = sum(weight for weight, _ in scaled)
    if not total:
        return None
    return rounded_ratio(sum(weight * value for weight, value in scaled), total)


def open_at(findings: Sequence[Finding], point: datetime) -> list[Finding]:
    """The findings detected by `point` and not resolved by then."""
    return [each for each in findings
            if each.detected_at <= point and (each.resolved_at is None or each.resolved_at > point)]


# `words=False`: a component's value alone, its explanation "" (a trend point's score needs no more: a rebuild
# scores every account at every week boundary of its trend, and the words cost more than the values).


def usage_not_judged(spells: Sequence[Spell], words: bool = True) -> Judged | None:
    """A prospect or a churned account is not scored on usage: its last usage no longer says anything."""
    if not spells:
        return None, "Not scored: a prospect (never a customer) is not judged by product usage." if words else ""
    if spells[-1].end is not None:
        return None, (f"Not scored: the account churned on {day(spells[-1].end)}, so its last product usage "
                      "no longer says anything.") if words else ""
    return None


def standing_not_judged(spells: Sequence[Spell], words: bool = True) -> Judged | None:
    if not spells:
        return None, "Not scored: a prospect (never a customer) has no billing standing." if words else ""
    return None


def product_usage(timeline: Timeline, words: bool = True) -> Judged:
    records = [record for record in timeline.of("product.usage.recorded") if int(record.data["seats"])]
    if not records:
        return None, "No product usage recorded with seats." if words else ""
    latest = records[-1]
    ratio = usage_ratio(latest)
    assert ratio is not None  # (it has seats)
    if not words:
        return usage_value(ratio), ""
    said = (f"{latest.data['activeUsers']} of {latest.data['seats']} seats active ({rounded(100 * ratio)} %) "
             f"on {day(latest.occurred_at)}")
    since = latest.occurred_at - timedelta(days=28)
    before = next((record for record in reversed(records) if record.occurred_at <= since), None)
    if before is None:
        return usage_value(ratio), f"{said}; no usage record 28 days or more earlier to compare with."
    then = usage_ratio(before)
    assert then is not None
    now_percent, then_percent = rounded(100 * ratio), rounded(100 * then)
    direction = "down" if now_percent < then_percent else "up" if now_percent > then_percent else "steady"
    return usage_value(ratio), f"{said}, {direction} from {then_percent} % on {day(before.occurred_at)}."


def usage_ratio(record: Fact) -> Fraction | None:
    """Active users per seat; None for a record with no seats (nothing to judge by)."""
    seats = int(record.data["seats"])
    return Fraction(int(record.data["activeUsers"]), seats) if seats else None


def usage_value(ratio: Fraction) -> int:
    """Full marks from 80 % of the seats active."""
    return rounded(100 * min(Fraction(1), ratio / Fraction(4, 5)))


def support_load(timeline: Timeline, as_of: datetime) -> Judged:
    if not any(timeline.of(kind) for kind in SUPPORT):
        return None, "No support events."
    tickets = open_tickets(timeline)
    escalations, opened, reopened = (sum(within(fact, as_of, 90) for fact in timeline.of(f"support.ticket.{kind}"))
                                     for kind in ("escalated", "opened", "reopened"))
    value, rate = support_value(sum(TICKET_PENALTIES.get(ticket.priority or "", 5) for ticket in tickets),
                                escalations, opened, reopened)
    words = (f"{open_ticket_words(tickets)}; {counted(escalations, 'escalation')} and {counted(reopened, 'reopening')} "
             f"against {counted(opened, 'ticket')} opened in the last 90 days (reopen rate {rate} %).")
    return value, words


def support_value(ticket_penalties: int, escalations: int, opened: int, reopened: int) -> tuple[int, int]:
    """The support load's value and the reopen rate in whole percent: 100 less the open tickets' penalties, 10 per
    escalation and 30 times the reopen rate (reopenings per ticket opened, at most 1), exactly, in whole numbers."""
    rate, per = (min(reopened, opened), opened) if opened else (min(reopened, 1), 1)
    return clamped_ratio((100 - ticket_penalties - 10 * escalations) * per - 30 * rate, per), rounded_ratio(100 * rate, per)


def open_ticket_words(tickets: list[OpenItem]) -> str:
    if not tickets:
        return "No open ticket"
    kinds = {kind: sum((ticket.priority if ticket.priority in TICKET_PENALTIES else "other") == kind for ticket in tickets)
             for kind in ("urgent", "high", "other")}
    return f"{counted(len(tickets), 'open ticket')} ({', '.join(f'{n} {kind}' for kind, n in kinds.items() if n)})"


def satisfaction(timeline: Timeline, as_of: datetime, words: bool = True) -> Judged:
    """The value from the exact NPS and CSAT mean; the sentence shows them as the NPS summary does (half to even)."""
    latest = latest_per_contact(within_year(timeline.of("marketing.nps.responded"), as_of))
    csat = [int(fact.data["score"]) for fact in within_year(timeline.of("support.csat.recorded"), as_of)]
    if not latest and not csat:
        return None, "No NPS or CSAT response in the last 365 days." if words else ""
    values: list[tuple[int, int]] = []  # each a numerator over a denominator: whole-number arithmetic, exact
    net = 0
    if latest:
        scores = [each.score for each in latest]
        net = 100 * (sum(score >= 9 for score in scores) - sum(score <= 6 for score in scores))
        values.append((net + 100 * len(scores), 2 * len(scores)))  # (NPS + 100) / 2
    if csat:
        values.append((25 * (sum(csat) - len(csat)), len(csat)))  # (mean - 1) / 4 * 100
    denominator = math.prod(each for _, each in values)
    numerator = sum(top * (denominator // bottom) for top, bottom in values)
    value = rounded_ratio(numerator, denominator * len(values))
    if not words:
        return value, ""
    said = [f"NPS {round(Fraction(net, len(latest)))} from the latest responses of {counted(len(latest), 'contact')}"
            if latest else "no NPS response",
            f"CSAT average {float(round(Fraction(sum(csat), len(csat)), 2))} from {counted(len(csat), 'response')}"
            if csat else "no CSAT response"]
    return value, capitalized(" and ".join(said)) + " in the last 365 days."




def billing_standing(timeline: Timeline, as_of: datetime) -> Judged:
    if not any(timeline.of(kind) for kind in BILLING):
        return None, "No billing events."
    suspended = suspended_since(timeline)
    failed = sum(within(fact, as_of, 90) for fact in timeline.of("billing.payment.failed"))
    unpaid = unpaid_invoices(timeline, as_of)
    plan = plan_in_force(timeline, as_of)
    overdue = sum(20 if (item.days_overdue or 0) > 30 else 10 for item in unpaid if item.days_overdue)
    points = 100 - (40 if suspended else 0) - 10 * failed - overdue + (10 if plan else 0)
    words = standing_words(suspended, unpaid, plan) + ([f"{counted(failed, 'failed payment')} in the last 90 days"]
                                                       if failed else [])
    return clamped(points), (capitalized("; ".join(words)) + "." if words else
                                       "In good standing: nothing unpaid and no failed payment in the last 90 days.")








def engagement(timeline: Timeline, as_of: datetime, words: bool = True) -> Judged:
    events = timeline.of("marketing.engagement.recorded")
    if not events:
        return None, "No marketing engagement recorded." if words else ""
    latest = events[-1]
    elapsed = as_of - latest.occurred_at
    within_days = next((limit for limit, _ in ENGAGEMENT_STEPS if elapsed <= timedelta(days=limit)), None)
    value = dict(ENGAGEMENT_STEPS).get(within_days or 0, 10)
    if not words:
        return value, ""
    # Worded by the step, not by days elapsed: a sentence that changed every day would have
    # the view judged again every day for every account, with nothing else changed.
    when = f"within the last {within_days} days" if within_days else f"more than {ENGAGEMENT_STEPS[-1][0]} days ago"
    return value, (f"Latest marketing engagement on {day(latest.occurred_at)} ({latest.data['action']} on campaign "
                   f"{latest.data['campaignId']}), {when}.")


def findings_component(findings: Sequence[Finding], words: bool = True) -> Judged:
    counts = {severity: sum(each.severity == severity for each in findings) for severity in FINDING_PENALTIES}
    value = clamped(int(100 - sum(FINDING_PENALTIES[severity] * n for severity, n in counts.items())))
    if not words:
        return value, ""
    if not findings:
        return value, "No open finding."
    return value, f"{counted(len(findings), 'open finding')}: {', '.join(f'{n} {s}' for s, n in counts.items() if n)}."




def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=64)
def exact(weight: float) -> Fraction:
    return Fraction(weight)


def rounded(value: Fraction | int) -> int:
    """The nearest whole number, halves away from zero (Python's `round` takes halves to even)."""
    return value if isinstance(value, int) else rounded_ratio(value.numerator, value.denominator)


def clamped(value: Fraction | int) -> int:
    return max(0, min(100, rounded(value)))


def rounded_ratio(numerator: int, denominator: int) -> int:
    """`rounded(Fraction(numerator, denominator))` in whole numbers (a positive denominator)."""
    whole = (2 * abs(numerator) + denominator) // (2 * denominator)
    return whole if numerator >= 0 else -whole


def clamped_ratio(numerator: int, denominator: int) -> int:
    return max(0, min(100, rounded_ratio(numerator, denominator)))
