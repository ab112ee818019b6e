"""`upsell-to-detractor`: an upsell push soon after a poor NPS score (MEDIUM, the pushing department and marketing).

A detractor response is a `marketing.nps.responded` with score 0-6. An upsell push is a
`marketing.campaign.sent` or `sales.outreach.sent` with intent upsell, or a
`sales.opportunity.opened` of kind expansion. A push counts for a detractor response
when it happens within 30 days after it (both ends included, a push at the response's
own instant counts) and before the account's next NPS response of 7 or more (one at or
after the detractor response's instant; a push at the instant of that response no
longer counts). The account is judged as a whole: the contacts of the response and of
the push need not match. Key: the detractor response; every detractor response is its
own finding, so one push can be evidence in two. Detected at the first push; closes at
the next response of 7 or more, or 30 days after the detractor response, whichever
comes first. A push alone exactly 30 days after the response never held (the window
closed as it came), and a response of 7 or more at the detractor response's own
instant answers it at once: neither gives a finding.

As a fold (`Detractors`), a detractor response is watched for its 30 days with the pushes
that joined it; it leaves the watch when a fact comes after its window's end or a
response of 7 or more comes. Its finding, if it held, is then final (`take_final` gives
it up): pushes after the window or after the recovery no longer count, and its closing
has come. So the state holds at most a window's worth of responses and pushes whatever
the account's age.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, article, day, finding, held
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "upsell-to-detractor"

PUSH_TYPES = ("marketing.campaign.sent", "sales.outreach.sent", "sales.opportunity.opened")


@dataclass(frozen=True)
class Thresholds:
    detractor_max_score: int = 6
    window_days: int = 30
    upsell_campaign_intents: tuple[str, ...] = ("upsell",)
    upsell_outreach_intents: tuple[str, ...] = ("upsell",)
    upsell_opportunity_kinds: tuple[str, ...] = ("expansion",)


def score(fact: Fact) -> int:
    return int(fact.data["score"])


def is_push(fact: Fact, thresholds: Thresholds) -> bool:
    if fact.type == "marketing.campaign.sent":
        return fact.data.get("intent") in thresholds.upsell_campaign_intents
    if fact.type == "sales.outreach.sent":
        return fact.data.get("intent") in thresholds.upsell_outreach_intents
    return fact.data.get("kind") in thresholds.upsell_opportunity_kinds


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    responses = timeline.of("marketing.nps.responded")
    pushes = [fact for fact in timeline.of(*PUSH_TYPES) if is_push(fact, thresholds)]
    window = timedelta(days=thresholds.window_days)
    for response in responses:
        if score(response) > thresholds.detractor_max_score:
            continue
        start, end = response.occurred_at, response.occurred_at + window
        recovery = next((later.occurred_at for later in responses
                         if later.occurred_at >= start and score(later) > thresholds.detractor_max_score), None)
        inside = [push for push in pushes
                  if start <= push.occurred_at <= end and (recovery is None or push.occurred_at < recovery)]
        closes = end if recovery is None else min(recovery, end)
        if inside and held(inside[0].occurred_at, closes):
            yield finding_of(timeline.account_id, response, inside, moment.resolved_at(closes), thresholds)


@state(version=1)
@dataclass(slots=True)
class Detractors:
    """Detractor responses still in their window, the findings just final, and the current instant.

    `watching` holds the detractor responses of the last `window_days` that no response
    of 7 or more has answered yet, each with the pushes in its window so far: at most a
    window's worth of facts. A response leaves it once a fact comes after its window's end
    or a response of 7 or more comes; it moves to `final` (response, pushes, closing) if
    it held, until `take_final` takes it, and is dropped otherwise. `pushes_now` and
    `recovered_now` remember the current instant only: a response at that instant takes
    the pushes made then, and a response of 7 or more then answers it at once.
    """

    account_id: str
    watching: list[tuple[Fact, list[Fact]]] = field(default_factory=list)  # (detractor response, its pushes)
    final: list[tuple[Fact, list[Fact], datetime]] = field(default_factory=list)  # (response, pushes, closed at)
    now: datetime | None = None  # the instant of the last fact taken
    pushes_now: list[Fact] = field(default_factory=list)  # upsell pushes at `now`
    recovered_now: bool = False  # a response of 7 or more at `now`


def start(account_id: str, thresholds: Thresholds) -> Detractors:
    return Detractors(account_id)


def step(detractors: Detractors, fact: Fact, thresholds: Thresholds) -> Detractors:
    """A detractor response is watched, a push joins every response watched, a response of 7 or more ends them."""
    if detractors.now != fact.occurred_at:
        expire(detractors, fact.occurred_at, thresholds)
        detractors.now, detractors.pushes_now, detractors.recovered_now = fact.occurred_at, [], False
    if fact.type != "marketing.nps.responded":
        if is_push(fact, thresholds):
            detractors.pushes_now.append(fact)
            for _, pushes in detractors.watching:
                pushes.append(fact)
    elif score(fact) > thresholds.detractor_max_score:
        recover(detractors, fact.occurred_at)
    elif not detractors.recovered_now:
        detractors.watching.append((fact, list(detractors.pushes_now)))
    return detractors


def expire(detractors: Detractors, instant: datetime, thresholds: Thresholds) -> None:
    """Close the responses whose window ended before `instant`."""
    window = timedelta(days=thresholds.window_days)
    still = [(response, pushes) for response, pushes in detractors.watching if response.occurred_at + window >= instant]
    if len(still) < len(detractors.watching):
        for response, pushes in detractors.watching:
            end = response.occurred_at + window
            if end < instant and pushes and held(pushes[0].occurred_at, end):
                detractors.final.append((response, pushes, end))
        detractors.watching = still


def recover(detractors: Detractors, instant: datetime) -> None:
    """A response of 7 or more at `instant` closes every response watched; pushes at that instant no longer count."""
    for response, pushes in detractors.watching:
        before = [push for push in pushes if push.occurred_at < instant]
        if before:
            detractors.final.append((response, before, instant))
    detractors.watching = []
    detractors.recovered_now = True


def read(detractors: Detractors, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    window = timedelta(days=thresholds.window_days)
    for response, pushes, closes in detractors.final:
        yield finding_of(detractors.account_id, response, pushes, moment.resolved_at(closes), thresholds)
    for response, pushes in detractors.watching:
        end = response.occurred_at + window
        if pushes and held(pushes[0].occurred_at, end):
            yield finding_of(detractors.account_id, response, pushes, moment.resolved_at(end), thresholds)


def take_final(detractors: Detractors, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The findings of the responses whose watch ended: closed at or before `now`, no later push counts."""
    final = [finding_of(detractors.account_id, response, pushes, closes, thresholds)
             for response, pushes, closes in detractors.final]
    detractors.final.clear()
    return final


def push_words(fact: Fact) -> str:
    if fact.type == "marketing.campaign.sent":
        return f"Marketing sent the {fact.data['intent']} {fact.data['channel']} campaign {fact.data['campaignId']}"
    if fact.type == "sales.outreach.sent":
        intent = str(fact.data["intent"]).replace("_", "-")
        return f"Sales sent {article(intent)} {intent} outreach"
    kind = str(fact.data["kind"])
    return f"Sales opened {article(kind)} {kind} opportunity of {fact.data['amount']} {fact.data['currency']}"


def finding_of(account_id: str, response: Fact, pushes: list[Fact], resolved_at: datetime | None,
               thresholds: Thresholds) -> Finding:
    first = pushes[0]
    who = f"contact {response.contact_id}" if response.contact_id else "someone at the account"
    summary = (
        f"{push_words(first)} on {day(first.occurred_at)} after {who} gave an NPS score of {score(response)} "
        f"on {day(response.occurred_at)}"
    )
    if len(pushes) > 1:
        more = len(pushes) - 1
        summary += (f"; {more} more upsell push{'es' if more > 1 else ''} followed within "
                    f"{thresholds.window_days} days of that response")
    return finding(
        account_id,
        ID,
        f"{response.source}/{response.event_id}",
        severity="MEDIUM",
        departments=("marketing", *(push.department for push in pushes)),
        evidence=[response, *pushes],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"marketing.nps.responded", *PUSH_TYPES}), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
