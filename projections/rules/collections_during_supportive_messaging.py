"""`collections-during-supportive-messaging`: collections around a supportive campaign (MEDIUM, billing and marketing).

A campaign is the `marketing.campaign.sent` events of one `campaignId` whose intent is
supportive or retention (sends of other intents do not count). Each send has its own
window: 14 days before to 14 days after it, both ends included. A send holds the
contradiction when a collections action (`billing.dunning.sent`,
`billing.service.suspended`) is in its window before its end, from the later of the
send and the first such action; an action alone exactly 14 days after a send never
held (the window closed as it came). The account is judged as a whole: the contacts of
the campaign and of the collections need not match.

Key: the campaign: one finding for all its sends. It holds from the first moment a send
holds it, and closes 14 days after the last send that holds it; its evidence is those
sends and the collections actions in their windows (a later action in a window joins
it). A send with no collections action in its window is no part of it.

As a fold (`Campaigns`), the sends whose window is still open gather the actions that
come; a window that closes without holding the finding is forgotten, one that closes
holding it joins its campaign's `Held`: the finding's evidence, each action once (an
action in the windows of several sends is one piece of evidence), and which send and
action opened it. No campaign's finding is ever final (`take_final` has nothing to
give up): a later send of the campaign with collections in its window joins it and opens
it again (`docs/rules.md`, rule 2, Closes), however long after. So the state holds, per
campaign, its evidence so far, which grows with the campaign's sends that hold it;
everything else it holds is within the last 14 days.
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

ID = "collections-during-supportive-messaging"

COLLECTIONS = ("billing.dunning.sent", "billing.service.suspended")


@dataclass(frozen=True)
class Thresholds:
    window_days: int = 14
    supportive_intents: tuple[str, ...] = ("supportive", "retention")


def campaigns_of(timeline: Timeline, thresholds: Thresholds) -> dict[str, list[Fact]]:
    """The sends of every supportive campaign, by campaign id, first send first."""
    campaigns: dict[str, list[Fact]] = {}
    for fact in timeline.of("marketing.campaign.sent"):
        if fact.data.get("intent") in thresholds.supportive_intents:
            campaigns.setdefault(campaign_of(fact), []).append(fact)
    return campaigns


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    actions = timeline.of(*COLLECTIONS)
    window = timedelta(days=thresholds.window_days)
    for campaign_id, sends in campaigns_of(timeline, thresholds).items():
        around = [Around(send, [action for action in actions
                                if send.occurred_at - window <= action.occurred_at <= send.occurred_at + window])
                  for send in sends]
        holding = [each for each in around if each.holds(window)]
        if holding:
            yield finding_of(timeline.account_id, campaign_id, held_by(holding), moment, thresholds)


@state(version=1)
@dataclass(slots=True)
class Around:
    """One send and the collections actions in its window, in order."""

    send: Fact
    actions: list[Fact] = field(default_factory=list)

    def begins(self) -> datetime:
        """When this send holds the contradiction: the later of the send and its window's first action."""
        return max(self.send.occurred_at, self.actions[0].occurred_at)

    def holds(self, window: timedelta) -> bool:
        return bool(self.actions) and held(self.begins(), self.send.occurred_at + window)


@state(version=1)
@dataclass(slots=True)
class Held:
    """A campaign's finding as the sends that hold it make it: its evidence, and which of it opened the finding."""

    sends: list[Fact]  # every send that holds it
    actions: list[Fact]  # the collections actions in their windows, each once
    send: int = 0  # the send that held it first, in `sends`
    first: int = 0  # the first collections action in that send's window, in `actions`

    def begins(self) -> datetime:
        return max(self.sends[self.send].occurred_at, self.actions[self.first].occurred_at)

    def joined(self, around: Around) -> Held:
        """This finding with one more send that holds it."""
        known = {action.order: n for n, action in enumerate(self.actions)}
        opens = not self.sends or (around.begins(), around.send.order) < (self.begins(), self.sends[self.send].order)
        self.sends.append(around.send)
        for action in around.actions:
            if action.order not in known:
                known[action.order] = len(self.actions)
                self.actions.append(action)
        if opens:
            self.send, self.first = len(self.sends) - 1, known[around.actions[0].order]
        return self

    def copy(self) -> Held:
        return Held(list(self.sends), list(self.actions), self.send, self.first)


def held_by(holding: list[Around]) -> Held:
    """The finding of the sends that hold it (at least one)."""
    held = Held([], [])
    for each in holding:
        held.joined(each)
    return held


@state(version=2)
@dataclass(slots=True)
class Campaigns:
    """What can still change the findings: recent actions, the sends still open, and the evidence of findings.

    `recent` holds the actions of the last 14 days (a send to come reaches no further
    back) and `open` the sends of the last 14 days; a send leaves `open` when its window
    is over, into its campaign's `Held` if it holds the finding, else forgotten. `held`
    is the evidence of findings, each fact once, no more.
    """

    account_id: str
    recent: list[Fact] = field(default_factory=list)  # collections actions a send to come may have in its window
    open: list[Around] = field(default_factory=list)  # supportive sends whose window may still gather actions
    held: dict[str, Held] = field(default_factory=dict)  # by campaign: its finding from the closed windows


def start(account_id: str, thresholds: Thresholds) -> Campaigns:
    return Campaigns(account_id)


def step(campaigns: Campaigns, fact: Fact, thresholds: Thresholds) -> Campaigns:
    """A send opens its window with the recent actions in it; an action joins every window still open."""
    window = timedelta(days=thresholds.window_days)
    settle(campaigns, fact.occurred_at, window)
    if fact.type in COLLECTIONS:
        campaigns.recent.append(fact)
        for each in campaigns.open:
            each.actions.append(fact)
    elif fact.data.get("intent") in thresholds.supportive_intents:
        since = fact.occurred_at - window
        campaigns.open.append(Around(fact, [action for action in campaigns.recent if action.occurred_at >= since]))
    return campaigns


def settle(campaigns: Campaigns, now: datetime, window: timedelta) -> None:
    """Close the windows that ended before `now`, and forget the actions no send to come can reach."""
    for each in campaigns.open:
        if each.send.occurred_at + window < now and each.holds(window):
            joined(campaigns.held, each)
    campaigns.open = [each for each in campaigns.open if each.send.occurred_at + window >= now]
    campaigns.recent = [action for action in campaigns.recent if action.occurred_at >= now - window]


def joined(held: dict[str, Held], around: Around) -> None:
    """The send, which holds its campaign's finding, joins it."""
    campaign_id = campaign_of(around.send)
    held[campaign_id] = held[campaign_id].joined(around) if campaign_id in held else held_by([around])


def read(campaigns: Campaigns, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    window = timedelta(days=thresholds.window_days)
    opened: dict[str, list[Around]] = {}
    for each in campaigns.open:
        if each.holds(window):
            opened.setdefault(campaign_of(each.send), []).append(each)
    for campaign_id in {**campaigns.held, **opened}:
        held = with_open(campaigns.held.get(campaign_id), opened.get(campaign_id, []))
        yield finding_of(campaigns.account_id, campaign_id, held, moment, thresholds)


def with_open(closed: Held | None, opened: list[Around]) -> Held:
    """A campaign's finding as of now: its closed windows' (left as they are) and its open ones that hold it."""
    if closed is None:
        return held_by(opened)
    held = closed.copy() if opened else closed
    for each in opened:
        held.joined(each)
    return held


def campaign_of(send: Fact) -> str:
    return str(send.data["campaignId"])


def campaign_words(campaign_id: str, send: Fact) -> str:
    return f"the {send.data['intent']} {send.data['channel']} campaign {campaign_id}"


def action_words(action: Fact) -> str:
    if action.type == "billing.dunning.sent":
        return f"sent a level {action.data['level']} dunning notice for invoice {action.data['invoiceId']}"
    return "suspended the service"


def finding_of(account_id: str, campaign_id: str, held: Held, moment: Moment, thresholds: Thresholds) -> Finding:
    """The campaign's finding from the sends that hold it: from the first to hold it to 14 days after the last."""
    window = timedelta(days=thresholds.window_days)
    campaign, first, actions = held.sends[held.send], held.actions[held.first], held.actions
    marketing = f"marketing sent {campaign_words(campaign_id, campaign)} on {day(campaign.occurred_at)}"
    billing = f"billing {action_words(first)} on {day(first.occurred_at)}"
    clauses = (billing, marketing) if first.occurred_at < campaign.occurred_at else (marketing, billing)
    summary = f"{clauses[0][0].upper()}{clauses[0][1:]}, and {clauses[1]}"
    if len(actions) > 1:
        more = len(actions) - 1
        summary += (f"; {more} more collections action{'s' if more > 1 else ''} fell within "
                    f"{thresholds.window_days} days of the campaign")
    return finding(
        account_id,
        ID,
        campaign_id,
        severity="MEDIUM",
        departments=("billing", "marketing"),
        evidence=[*held.sends, *actions],
        detected_at=held.begins(),
        resolved_at=moment.resolved_at(max(send.occurred_at for send in held.sends) + window),
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"marketing.campaign.sent", *COLLECTIONS}), start, step, read)
RULE = Rule(ID, Thresholds(), detect, FOLD)
