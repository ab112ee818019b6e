"""The NPS and CSAT summary of an account over the last 365 days.

- Each contact counts once for the NPS: by its latest `marketing.nps.responded` within the
  last 365 days (`as_of - 365 days < occurredAt <= as_of`). Responses without a contact
  count together as one more respondent (contact None), by the latest of them.
- A promoter scores 9-10, a passive 7-8, a detractor 0-6. NPS = round(100 x (promoters -
  detractors) / respondents), Python's `round` (half to even: 12.5 gives 12); None when
  nobody responded.
- `responses` counts every NPS response of the last 365 days, not only the latest ones.
- The CSAT average is the mean `support.csat.recorded` score of the last 365 days,
  rounded half to even to 2 decimals; None without scores.
- A detractor response of the last 365 days (every one, not only a contact's latest) is
  followed up when a `support.contact.made` (any reason) or a `sales.outreach.sent` with
  intent check_in happened at or after it, to any contact of the account. Unlike the
  `ignored-detractor` rule there is no 7-day grace: a detractor not yet followed up counts
  from the moment of the response.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from projections.facts import Fact, within
from projections.history import Timeline
from projections.view.model import ContactScore, Satisfaction

WINDOW_DAYS = 365
PROMOTER_MIN, DETRACTOR_MAX = 9, 6
FOLLOW_UP_INTENTS = ("check_in",)


def score(fact: Fact) -> int:
    return int(fact.data["score"])


def satisfaction(timeline: Timeline, as_of: datetime) -> Satisfaction:
    responses = within_year(timeline.of("marketing.nps.responded"), as_of)
    latest = latest_per_contact(responses)
    scores = [each.score for each in latest]
    promoters = sum(1 for value in scores if value >= PROMOTER_MIN)
    detractors = sum(1 for value in scores if value <= DETRACTOR_MAX)
    csat = [score(fact) for fact in within_year(timeline.of("support.csat.recorded"), as_of)]
    return Satisfaction(
        latest_nps=latest,
        nps=round(100 * (promoters - detractors) / len(scores)) if scores else None,
        responses=len(responses),
        promoters=promoters,
        passives=len(scores) - promoters - detractors,
        detractors=detractors,
        csat_average=mean_of(csat),
        csat_responses=len(csat),
        detractors_not_followed_up=detractors_not_followed_up(timeline, responses, as_of),
    )


def within_year(facts: list[Fact], as_of: datetime) -> list[Fact]:
    return [fact for fact in facts if within(fact, as_of, WINDOW_DAYS)]


def latest_per_contact(responses: list[Fact]) -> tuple[ContactScore, ...]:
    """Each contact's latest response, newest first (`responses` come in `occurredAt` order)."""
    latest = {fact.contact_id: fact for fact in responses}
    ordered = sorted(latest.values(), key=lambda fact: fact.order, reverse=True)
    return tuple(ContactScore(fact.contact_id, score(fact), fact.occurred_at) for fact in ordered)


def mean_of(scores: list[int]) -> float | None:
    """The mean rounded half to even to 2 decimals, computed in decimal so that 4.125 is a tie."""
    if not scores:
        return None
    return float((Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.01"), ROUND_HALF_EVEN))


def detractors_not_followed_up(timeline: Timeline, responses: list[Fact], as_of: datetime) -> int:
    """Detractor responses with no follow-up at or after them, up to `as_of`."""
    follow_ups = [fact for fact in timeline.of("support.contact.made", "sales.outreach.sent")
                  if fact.occurred_at <= as_of
                  and (fact.type == "support.contact.made" or fact.data.get("intent") in FOLLOW_UP_INTENTS)]
    last_follow_up = follow_ups[-1].occurred_at if follow_ups else None
    return sum(
        1 for response in responses
        if score(response) <= DETRACTOR_MAX and (last_follow_up is None or last_follow_up < response.occurred_at)
    )
