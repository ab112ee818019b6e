"""No finding holds once its closing condition has been met, for every rule, over generated accounts.

`rules.md` closes every finding on a condition ("Closes: ..."); a finding whose closing
condition was met at or before the moment it would become true never held, and is not
reported at all. Judged as of many instants, every finding must then have a `resolvedAt`
after its `detectedAt` (or none), and no finding open at an instant may have had its
closing condition met by then.

Each rule's closing condition is read here again from `rules.md`, apart from the rules'
code, in a few plain lines per rule (`CLOSED`). Simultaneous events have no order: an
instant at which a closing event happens is one at which the condition is met.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.evaluation import evaluate
from projections.facts import Fact
from projections.findings import Finding
from projections.history import history_of
from tests.unit.test_findings_laws import DATA, SPREAD, START, accounts, arrived

# Edges: a few days 7, 14 and 30 days apart and the payment plans' `until`s (the end
# of 20 Jan; 10 Feb 12:00), where events fall on the same instant and on each rule's
# closing. Half days over seven weeks, hours over ten days (bursts of touches), a year
# earlier (tenures), and the laws' spread.
EDGES = st.sampled_from([0, 1, 7, 14, 15, 20, 21, 30, 31, 40.5, 44, 45]).map(lambda days: START + timedelta(days=days))
HALF_DAYS = st.integers(0, 2 * 48).map(lambda halves: START + timedelta(hours=12 * halves))
HOURS = st.integers(0, 24 * 10).map(lambda hours: START + timedelta(hours=hours))
A_YEAR_EARLIER = st.integers(-400, -366).map(lambda days: START + timedelta(days=days))
INSTANTS = st.one_of(EDGES, HALF_DAYS, HOURS, A_YEAR_EARLIER, SPREAD)
FAR_FUTURE = START + timedelta(days=800)

PUSHES = ("marketing.campaign.sent", "sales.outreach.sent", "sales.opportunity.opened")
TOUCHES = ("marketing.campaign.sent", "sales.outreach.sent", "support.contact.made", "billing.dunning.sent")
COLLECTIONS = ("billing.dunning.sent", "billing.service.suspended")

# The event types each rule of `rules.md` speaks of (a type named n times is drawn n
# times as often): an account drawn from one of these meets its rule often, where one
# drawn from all 24 types seldom gathers 7 touches in a week, 2 tickets around a
# statement before the incident's resolution, or a year's tenure before a suspension.
THEMES: tuple[tuple[str, ...], ...] = (
    tuple(sorted(DATA)),
    ("support.ticket.opened", "support.ticket.reopened", "support.ticket.escalated", "support.ticket.resolved",
     "sales.outreach.sent", "sales.opportunity.opened"),
    (*["marketing.campaign.sent"] * 3, *COLLECTIONS),
    ("marketing.nps.responded", *PUSHES, "support.contact.made"),
    ("marketing.consent.changed", "marketing.campaign.sent", "sales.outreach.sent"),
    TOUCHES,
    ("billing.payment_plan.granted", *COLLECTIONS),
    ("billing.subscription.changed", "sales.opportunity.won", "marketing.campaign.sent", "sales.outreach.sent"),
)
RECENT = st.one_of(EDGES, HALF_DAYS, HOURS)
RECENT_THEMES: tuple[tuple[str, ...], ...] = (  # drawn over weeks only, as a resolution a year early ends it all
    ("product.incident.started", "product.incident.resolved", *["product.status.published"] * 2,
     *["support.ticket.opened"] * 4),
    ("sales.opportunity.won", "billing.invoice.issued", "billing.credit.issued"),
)
UNPAID = ("billing.service.suspended", "billing.service.restored", "billing.payment.failed", "billing.dunning.sent",
          "billing.payment.received")
TENURE = ("billing.subscription.changed", "sales.opportunity.won")


@st.composite
def suspended_accounts(draw: st.DrawFn) -> list[Fact]:
    """Payments, suspensions and restores over weeks, and the tenure a year earlier (abrupt suspensions)."""
    recent = draw(accounts(RECENT, UNPAID))
    tenure = draw(accounts(A_YEAR_EARLIER, TENURE))
    return [*recent, *(fact._replace(event_id=f"tenure-{fact.event_id}") for fact in tenure)]


ECHOES = (timedelta(0), timedelta(days=7), timedelta(days=14), timedelta(days=30))


@st.composite
def echoing(draw: st.DrawFn, events: st.SearchStrategy[list[Fact]]) -> list[Fact]:
    """The events, some dated at an earlier one's instant or exactly 7, 14 or 30 days after it.

    Drawn apart, two events seldom meet at an instant, or at a window's end; these do,
    without crowding the window with the others.
    """
    facts = draw(events)
    for n in range(1, len(facts)):
        if draw(st.booleans()):
            earlier = facts[draw(st.integers(0, n - 1))]
            facts[n] = facts[n]._replace(occurred_at=earlier.occurred_at + draw(st.sampled_from(ECHOES)))
    return facts


THEMED_ACCOUNTS = st.one_of(*(echoing(accounts(INSTANTS, types)) for types in THEMES),
                            *(echoing(accounts(RECENT, types)) for types in RECENT_THEMES),
                            echoing(suspended_accounts()))

Closed = Callable[[Finding, Sequence[Fact], datetime], bool]


def of_type(facts: Sequence[Fact], *types: str) -> list[Fact]:
    return [fact for fact in facts if fact.type in types]


def keyed(facts: Sequence[Fact], key: str) -> Fact:
    """The event a finding is keyed by (`source/id`)."""
    return next(fact for fact in facts if f"{fact.source}/{fact.event_id}" == key)


def between(fact: Fact, start: datetime, end: datetime) -> bool:
    return start <= fact.occurred_at <= end


def ticket_is_open(facts: Sequence[Fact], ticket_id: str, instant: datetime) -> bool:
    """Open after an instant with more openings than resolutions of it, closed after one with more resolutions."""
    lifecycle = [fact for fact in of_type(facts, "support.ticket.opened", "support.ticket.reopened",
                                          "support.ticket.resolved") if fact.data["ticketId"] == ticket_id]
    is_open = False
    for when in sorted({fact.occurred_at for fact in lifecycle if fact.occurred_at <= instant}):
        resolutions = sum(1 for fact in lifecycle if fact.occurred_at == when and fact.type == "support.ticket.resolved")
        openings = sum(1 for fact in lifecycle if fact.occurred_at == when) - resolutions
        if openings != resolutions:
            is_open = openings > resolutions
    return is_open


def ticket_resolved(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """1. Closes when the ticket is resolved. A finding opened past the reopening horizon is keyed `<ticket>@<push>`."""
    return not ticket_is_open(facts, finding.key.partition("@")[0], instant)


def campaign_window_over(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """2. Closes 14 days after the campaign: each supportive send of it has its own window, 14 days either side.

    Open only while a send with a collections action within 14 days of it is itself within its 14 days. A finding
    opened past the reopening horizon is keyed `<campaign id>@<send>`.
    """
    campaign_id = finding.key.partition("@")[0]
    sends = [fact for fact in of_type(facts, "marketing.campaign.sent")
             if fact.data["campaignId"] == campaign_id and fact.data["intent"] in ("supportive", "retention")]
    actions = of_type(facts, *COLLECTIONS)
    window = timedelta(days=14)
    return not any(instant < send.occurred_at + window
                   and any(between(action, send.occurred_at - window, send.occurred_at + window) for action in actions)
                   for send in sends)


def detractor_answered_or_over(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """3. Closes at the next NPS response of 7 or more, or 30 days after the detractor response."""
    response = keyed(facts, finding.key)
    promoters = [fact for fact in of_type(facts, "marketing.nps.responded")
                 if int(fact.data["score"]) >= 7 and between(fact, response.occurred_at, instant)]
    return bool(promoters) or instant >= response.occurred_at + timedelta(days=30)


def detractor_followed_up(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """4. Closes when a follow-up (a support contact, a check-in outreach) finally happens."""
    response = keyed(facts, finding.key)
    follow_ups = [fact for fact in of_type(facts, "support.contact.made", "sales.outreach.sent")
                  if fact.type == "support.contact.made" or fact.data["intent"] == "check_in"]
    return any(between(fact, response.occurred_at, instant) for fact in follow_ups)


def consent_granted_again(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """5. Closes when consent for that channel (or all) is granted again, to that contact (or the account)."""
    revoke = keyed(facts, finding.key)
    return any(
        fact.data["granted"] and fact.data["channel"] in ("all", revoke.data["channel"])
        and fact.contact_id in (None, revoke.contact_id) and between(fact, revoke.occurred_at, instant)
        for fact in of_type(facts, "marketing.consent.changed")
    )


def touches_fell_back(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """6. Closes when the rolling 7-day count of outbound touches falls back to 6 or fewer."""
    touches = of_type(facts, "marketing.campaign.sent", "sales.outreach.sent", "support.contact.made",
                      "billing.dunning.sent")
    return sum(1 for fact in touches if between(fact, instant - timedelta(days=7), instant)) <= 6


def until_of(plan: Fact) -> datetime:
    """A plain date runs to the end of that day (UTC)."""
    until = str(plan.data["until"])
    if len(until) == 10:
        return datetime.fromisoformat(until).replace(tzinfo=timezone.utc) + timedelta(days=1)
    return datetime.fromisoformat(until)


def plan_ended(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """7. Closes at the plan's `until`."""
    return instant >= until_of(keyed(facts, finding.key))


def prospecting_over(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """8. Closes 30 days after the last such message (the finding's own)."""
    messages = of_type(finding.evidence, "marketing.campaign.sent", "sales.outreach.sent")
    return instant >= max(fact.occurred_at for fact in messages) + timedelta(days=30)


def incident_resolved(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """9. Closes at `product.incident.resolved` for that incident."""
    return any(fact.data["incidentId"] == finding.key for fact in of_type(facts, "product.incident.resolved"))


def excess_credited(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """10. Closes when credits after the invoice, in its currency, add up to at least the difference."""
    invoice = [fact for fact in of_type(facts, "billing.invoice.issued") if fact.data["invoiceId"] == finding.key][-1]
    won = [fact for fact in of_type(facts, "sales.opportunity.won")
           if fact.data["opportunityId"] == invoice.data["opportunityId"]][-1]
    credited = sum((Decimal(fact.data["amount"]) for fact in of_type(facts, "billing.credit.issued")
                    if fact.occurred_at > invoice.occurred_at and fact.data["currency"] == invoice.data["currency"]),
                   Decimal(0))
    return credited >= Decimal(invoice.data["amount"]) - Decimal(won.data["amount"])


def service_restored(finding: Finding, facts: Sequence[Fact], instant: datetime) -> bool:
    """11. Closes at `billing.service.restored` (at or after the suspension)."""
    suspension = keyed(facts, finding.key)
    return any(fact.occurred_at >= suspension.occurred_at for fact in of_type(facts, "billing.service.restored"))


CLOSED: dict[str, Closed] = {
    "sales-pressure-during-escalation": ticket_resolved,
    "collections-during-supportive-messaging": campaign_window_over,
    "upsell-to-detractor": detractor_answered_or_over,
    "ignored-detractor": detractor_followed_up,
    "contact-after-opt-out": consent_granted_again,
    "contact-pressure": touches_fell_back,
    "collections-during-payment-plan": plan_ended,
    "prospecting-a-customer": prospecting_over,
    "incident-denial": incident_resolved,
    "invoice-exceeds-deal": excess_credited,
    "abrupt-suspension": service_restored,
}


def instants_to_judge(facts: Sequence[Fact], findings: Sequence[Finding]) -> list[datetime]:
    """Every event's instant, every detection and closing, and long after."""
    moments = {fact.occurred_at for fact in facts} | {FAR_FUTURE}
    for each in findings:
        moments.add(each.detected_at)
        if each.resolved_at is not None:
            moments.add(each.resolved_at)
    return sorted(moments)


@settings(max_examples=250, deadline=None)
@given(THEMED_ACCOUNTS)
def test_no_finding_is_open_once_its_closing_condition_is_met(generated: list[Fact]) -> None:
    history = history_of("acme", arrived(generated))
    facts = history.facts
    for instant in instants_to_judge(facts, evaluate(history, FAR_FUTURE).findings):
        known = [fact for fact in facts if fact.occurred_at <= instant]
        for each in evaluate(history, instant).findings:
            assert each.resolved_at is None or each.resolved_at > each.detected_at, each
            if each.resolved_at is None:
                assert not CLOSED[each.rule](each, known, instant), (instant, each)


def test_every_rule_has_its_closing_condition_here() -> None:
    from projections.rules import RULES

    assert set(CLOSED) == set(RULES)
