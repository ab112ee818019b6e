"""`ignored-detractor`: nobody follows up a poor NPS score within 7 days (MEDIUM, marketing and support).

A detractor response is a `marketing.nps.responded` with score 0-6. A follow-up is a
`support.contact.made` (any reason) or a `sales.outreach.sent` with intent check_in,
happening within 7 days after the response, both ends included (one at the response's
own instant counts). The account is judged as a whole: a follow-up to another contact
counts, and one follow-up answers every detractor response before it. This is a
deadline rule: with no follow-up, the finding is detected at the response + 7 days.
Key: the response. Closes at the first follow-up after the deadline; it then joins the
response as evidence.

As a fold (`Unanswered`), the state keeps the detractor responses no follow-up has
answered yet and the instant of the latest follow-up. A follow-up empties the waiting
list: a response answered in time leaves without a finding, and one answered late is
final at once (`take_final` gives it up): its closing and evidence are that first
follow-up, which no later fact can change. A response past its deadline with no
follow-up yet stays (its finding is open, and will close and gain evidence at the next
follow-up): rules.md gives it no end, so an account that never follows up keeps every
such response.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "ignored-detractor"


@dataclass(frozen=True)
class Thresholds:
    detractor_max_score: int = 6
    follow_up_days: int = 7
    follow_up_intents: tuple[str, ...] = ("check_in",)


def score(fact: Fact) -> int:
    return int(fact.data["score"])


def is_follow_up(fact: Fact, thresholds: Thresholds) -> bool:
    return fact.type == "support.contact.made" or fact.data.get("intent") in thresholds.follow_up_intents


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    follow_ups = [fact for fact in timeline.of("support.contact.made", "sales.outreach.sent")
                  if is_follow_up(fact, thresholds)]
    for response in timeline.of("marketing.nps.responded"):
        if score(response) > thresholds.detractor_max_score:
            continue
        deadline = response.occurred_at + timedelta(days=thresholds.follow_up_days)
        first = next((each for each in follow_ups if each.occurred_at >= response.occurred_at), None)
        if (first is not None and first.occurred_at <= deadline) or not moment.reached(deadline):
            continue
        resolved_at = moment.resolved_at(None if first is None else first.occurred_at)
        yield finding_of(timeline.account_id, response, deadline, first, resolved_at)


@state(version=1)
@dataclass(slots=True)
class Unanswered:
    """Detractor responses no follow-up has answered yet, and the late follow-ups just taken, until given up."""

    account_id: str
    waiting: list[Fact] = field(default_factory=list)  # each open once its deadline passes
    answered_late: list[tuple[Fact, Fact]] = field(default_factory=list)  # (response, late follow-up), until taken
    last_follow_up_at: datetime | None = None


def start(account_id: str, thresholds: Thresholds) -> Unanswered:
    return Unanswered(account_id)


def step(unanswered: Unanswered, fact: Fact, thresholds: Thresholds) -> Unanswered:
    """A response waits for its follow-up; a follow-up answers every response waiting, in time or late."""
    if fact.type == "marketing.nps.responded":
        followed_at_once = unanswered.last_follow_up_at == fact.occurred_at
        if score(fact) <= thresholds.detractor_max_score and not followed_at_once:
            unanswered.waiting.append(fact)
    elif is_follow_up(fact, thresholds):
        window = timedelta(days=thresholds.follow_up_days)
        unanswered.answered_late.extend(
            (response, fact) for response in unanswered.waiting if fact.occurred_at > response.occurred_at + window
        )
        unanswered.waiting.clear()
        unanswered.last_follow_up_at = fact.occurred_at
    return unanswered


def read(unanswered: Unanswered, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    window = timedelta(days=thresholds.follow_up_days)
    for response, late in unanswered.answered_late:
        yield finding_of(unanswered.account_id, response, response.occurred_at + window, late, late.occurred_at)
    for response in unanswered.waiting:
        if moment.reached(response.occurred_at + window):
            yield finding_of(unanswered.account_id, response, response.occurred_at + window, None, None)


def take_final(unanswered: Unanswered, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The responses answered late: closed by their first follow-up, which no later fact can change."""
    window = timedelta(days=thresholds.follow_up_days)
    final = [finding_of(unanswered.account_id, response, response.occurred_at + window, late, late.occurred_at)
             for response, late in unanswered.answered_late]
    unanswered.answered_late.clear()
    return final


def follow_up_words(fact: Fact) -> str:
    if fact.type == "support.contact.made":
        return f"a {fact.data['channel']} from support"
    intent = str(fact.data["intent"]).replace("_", "-")
    return f"{'an' if intent[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {intent} {fact.data['channel']} from sales"


def finding_of(account_id: str, response: Fact, deadline: datetime, late: Fact | None,
               resolved_at: datetime | None) -> Finding:
    who = f"Contact {response.contact_id}" if response.contact_id else "Someone at the account"
    summary = (
        f"{who} gave an NPS score of {score(response)} on {day(response.occurred_at)} "
        f"and nobody from support or sales followed up by {day(deadline)}"
    )
    if late is not None:
        summary += f"; the first follow-up, {follow_up_words(late)}, came on {day(late.occurred_at)}"
    return finding(
        account_id,
        ID,
        f"{response.source}/{response.event_id}",
        severity="MEDIUM",
        departments=("marketing", "support"),
        evidence=[response] if late is None else [response, late],
        detected_at=deadline,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"marketing.nps.responded", "support.contact.made", "sales.outreach.sent"}), start, step, read,
            take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
