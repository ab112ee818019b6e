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

Reopening horizon (the code's choice over the spec, `docs/rules.md`, rule 2): a send
holding it again makes the same finding open again only if it holds from at most 30
days (`reopen_days`) after the finding closed (its moment, the later of the send and the
first action in its window, is at most closing + 30 days). A send that holds it later
opens a new finding of the campaign, keyed `<campaign>@<source>/<id of that send>`, and
the earlier finding is final.

As a fold (`Campaigns`), the sends whose window is still open gather the actions that
come; a window that closes without holding the finding is forgotten, one that closes
holding it joins its campaign's latest `Held` (or opens the next one, past the horizon):
the finding's evidence, each action once (an action in the windows of several sends is
one piece of evidence), and which send and action opened it. A finding is final
(`take_final` gives it up) at the first fact more than 30 days after it closed, unless a
send still open holds it from within those 30 days; the state then keeps only the
campaign's id (a later finding of it takes the `@` key). Everything else it holds is
within the last 14 days, or the findings closed at most 30 days ago.
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
    reopen_days: int = 30


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
        found: list[Held] = []
        for each in sorted((each for each in around if each.holds(window)),
                           key=lambda each: (each.begins(), each.send.order)):
            gathered(found, campaign_id, each, False, thresholds)
        for kept in found:
            yield finding_of(timeline.account_id, kept, moment, thresholds)


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


@state(version=2)
@dataclass(slots=True)
class Held:
    """A campaign's finding as the sends that hold it make it: its key, its evidence, and which of it opened it."""

    key: str  # the campaign id, or `<campaign id>@<source>/<id>` of the send that opened a later finding
    sends: list[Fact]  # every send that holds it
    actions: list[Fact]  # the collections actions in their windows, each once
    send: int = 0  # the send that held it first, in `sends`
    first: int = 0  # the first collections action in that send's window, in `actions`

    def begins(self) -> datetime:
        return max(self.sends[self.send].occurred_at, self.actions[self.first].occurred_at)

    def closes(self, window: timedelta) -> datetime:
        """14 days after the last send that holds it."""
        return max(send.occurred_at for send in self.sends) + window

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
        return Held(self.key, list(self.sends), list(self.actions), self.send, self.first)


def horizon(held: Held, thresholds: Thresholds) -> datetime:
    """The last moment at which a send can hold the finding again: `reopen_days` after it closed."""
    return held.closes(timedelta(days=thresholds.window_days)) + timedelta(days=thresholds.reopen_days)


def gathered(found: list[Held], campaign_id: str, around: Around, earlier: bool, thresholds: Thresholds) -> None:
    """The send, which holds its campaign's finding, joins the latest of `found` or opens the next one.

    It joins the latest if it holds from no later than that finding's horizon (still open,
    or closed at most `reopen_days` before); otherwise its finding is new, keyed after the
    send if the campaign had one before (in `found`, or `earlier` ones no longer kept).
    Sends come in the order they hold from (`Around.begins`, then their own order).
    """
    if found and around.begins() <= horizon(found[-1], thresholds):
        found[-1].joined(around)
        return
    key = f"{campaign_id}@{around.send.source}/{around.send.event_id}" if found or earlier else campaign_id
    found.append(Held(key, [], []).joined(around))


@state(version=3)
@dataclass(slots=True)
class Campaigns:
    """What can still change the findings: recent actions, the sends still open, and findings not yet final.

    `recent` holds the actions of the last 14 days (a send to come reaches no further
    back) and `open` the sends of the last 14 days; a send leaves `open` when its window
    is over, into its campaign's latest `Held` if it holds the finding, else forgotten.
    `held` is the evidence of findings a send may still join, each fact once, no more;
    `over` the findings a later one of their campaign superseded, until `take_final`
    takes them; `past` the campaigns whose findings were given up as final.
    """

    account_id: str
    recent: list[Fact] = field(default_factory=list)  # collections actions a send to come may have in its window
    open: list[Around] = field(default_factory=list)  # supportive sends whose window may still gather actions
    held: dict[str, Held] = field(default_factory=dict)  # by campaign: its latest finding from the closed windows
    over: list[Held] = field(default_factory=list)  # findings past their horizon, until `take_final` takes them
    past: set[str] = field(default_factory=set)  # campaigns with a finding given up: a later one takes an `@` key


def start(account_id: str, thresholds: Thresholds) -> Campaigns:
    return Campaigns(account_id)


def step(campaigns: Campaigns, fact: Fact, thresholds: Thresholds) -> Campaigns:
    """A send opens its window with the recent actions in it; an action joins every window still open."""
    window = timedelta(days=thresholds.window_days)
    settle(campaigns, fact.occurred_at, thresholds)
    if fact.type in COLLECTIONS:
        campaigns.recent.append(fact)
        for each in campaigns.open:
            each.actions.append(fact)
    elif fact.data.get("intent") in thresholds.supportive_intents:
        since = fact.occurred_at - window
        campaigns.open.append(Around(fact, [action for action in campaigns.recent if action.occurred_at >= since]))
    return campaigns


def settle(campaigns: Campaigns, now: datetime, thresholds: Thresholds) -> None:
    """Close the windows that ended before `now`, and forget the actions no send to come can reach."""
    window = timedelta(days=thresholds.window_days)
    for each in campaigns.open:
        if each.send.occurred_at + window < now and each.holds(window):
            joined(campaigns, each, thresholds)
    campaigns.open = [each for each in campaigns.open if each.send.occurred_at + window >= now]
    campaigns.recent = [action for action in campaigns.recent if action.occurred_at >= now - window]


def joined(campaigns: Campaigns, around: Around, thresholds: Thresholds) -> None:
    """The send, which holds its campaign's finding, joins its latest finding or opens the next one."""
    campaign_id = campaign_of(around.send)
    found = [campaigns.held[campaign_id]] if campaign_id in campaigns.held else []
    gathered(found, campaign_id, around, campaign_id in campaigns.past, thresholds)
    campaigns.over.extend(found[:-1])
    campaigns.held[campaign_id] = found[-1]


def read(campaigns: Campaigns, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    window = timedelta(days=thresholds.window_days)
    opened: dict[str, list[Around]] = {}
    for each in campaigns.open:
        if each.holds(window):
            opened.setdefault(campaign_of(each.send), []).append(each)
    for kept in campaigns.over:
        yield finding_of(campaigns.account_id, kept, moment, thresholds)
    for campaign_id in {**campaigns.held, **opened}:
        for kept in with_open(campaigns, campaign_id, opened.get(campaign_id, []), thresholds):
            yield finding_of(campaigns.account_id, kept, moment, thresholds)


def with_open(campaigns: Campaigns, campaign_id: str, opened: list[Around], thresholds: Thresholds) -> list[Held]:
    """A campaign's findings as of now: its latest from closed windows (left as it is) and its open ones that hold."""
    closed = campaigns.held.get(campaign_id)
    found = [] if closed is None else [closed.copy() if opened else closed]
    for each in opened:
        gathered(found, campaign_id, each, campaign_id in campaigns.past, thresholds)
    return found


def take_final(campaigns: Campaigns, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The findings past their horizon at `now`: no send to come can hold them again, nor join their evidence.

    A campaign's latest finding is final once `now` is after its horizon, unless a send
    still open holds it from no later than the horizon (that send will join it). Its
    campaign is remembered, so that its next finding takes an `@` key.
    """
    window = timedelta(days=thresholds.window_days)
    final, campaigns.over = campaigns.over, []
    for campaign_id, kept in list(campaigns.held.items()):
        last = horizon(kept, thresholds)
        if now > last and not any(campaign_of(each.send) == campaign_id and each.holds(window)
                                  and each.begins() <= last for each in campaigns.open):
            final.append(campaigns.held.pop(campaign_id))
            campaigns.past.add(campaign_id)
    moment = Moment(now)
    return [finding_of(campaigns.account_id, kept, moment, thresholds) for kept in final]


def campaign_of(send: Fact) -> str:
    return str(send.data["campaignId"])


def campaign_words(campaign_id: str, send: Fact) -> str:
    return f"the {send.data['intent']} {send.data['channel']} campaign {campaign_id}"


def action_words(action: Fact) -> str:
    if action.type == "billing.dunning.sent":
        return f"sent a level {action.data['level']} dunning notice for invoice {action.data['invoiceId']}"
    return "suspended the service"


def finding_of(account_id: str, held: Held, moment: Moment, thresholds: Thresholds) -> Finding:
    """The campaign's finding from the sends that hold it: from the first to hold it to 14 days after the last."""
    window = timedelta(days=thresholds.window_days)
    campaign, first, actions = held.sends[held.send], held.actions[held.first], held.actions
    campaign_id = campaign_of(campaign)
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
        held.key,
        severity="MEDIUM",
        departments=("billing", "marketing"),
        evidence=[*held.sends, *actions],
        detected_at=held.begins(),
        resolved_at=moment.resolved_at(held.closes(window)),
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"marketing.campaign.sent", *COLLECTIONS}), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
