"""`contact-after-opt-out`: marketing or sales messages a contact who opted out (HIGH, the sender and marketing).

Only `marketing.campaign.sent` and `sales.outreach.sent` are judged: billing and support
messages are transactional and exempt. A `marketing.consent.changed` covers a message
when its channel matches (email to email, phone to call, sms to sms, `all` to any
channel; campaign channels such as ads or webinar match `all` only) and its scope does:
a change with a `contactId` applies to that contact only, one without to every contact
of the account, and a message without a `contactId` is judged by account-level changes
only. A message is judged by the latest covering change strictly before it; if that
change withdrew consent, the message is a violation. Key: that consent change; every
message it is the latest covering change for joins the finding, which is true from the
first of them. Closes at the first change granting consent for the same channel (or
`all`) and the same contact (or the whole account) at or after the withdrawal's
instant: a grant at that same instant answers the withdrawal at once, and a grant at
the instant of the first message closes the finding as it would begin. Either way the
finding never held, and there is none.

Evidence (this project's choice over the spec's "the consent change and the messages
after it", `docs/rules.md`): the consent change, its first `evidence_first` messages and
its latest `evidence_latest` (20 and 80), which is every message of a finding of up to
100; the summary counts them all and `departments` names the sender of every one. A
contact who opted out and is never granted consent again, but stays on a list, would
otherwise give a finding that takes every later message for the account's life, and
with it the fold's state.

As a fold (`Consents`), the latest change per contact (or the account) and channel
judges each message, and each withdrawal is followed until consent is granted again.
Once a fact after its regrant's instant is taken, no message can join it (the regrant,
or a later change, is the latest covering change for every message it covered), and
its closing has come: a withdrawal that held gives up its finding as final
(`take_final`), one that never held is forgotten, as is one superseded for its contact
and channel before any message came. What stays is one latest change per contact (or
the account) and channel, and the withdrawals with messages not granted again yet, each with its
first and latest messages, how many there were and their departments: the state grows
with the contacts, channels and withdrawals still open, not with the messages sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.capped_evidence import Kept, first_and_latest, shown_words
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "contact-after-opt-out"

MESSAGES = ("marketing.campaign.sent", "sales.outreach.sent")

# consent channel -> the message channel it governs (`all` governs every channel)
MESSAGE_CHANNEL = {"email": "email", "phone": "call", "sms": "sms"}

CHANNEL_WORDS = {"email": "email", "phone": "phone calls", "sms": "SMS", "all": "all contact"}


@dataclass(frozen=True)
class Thresholds:
    evidence_first: int = 20  # the finding's first messages kept as evidence (its first one always)
    evidence_latest: int = 80  # and its latest


def covers(change: Fact, message: Fact) -> bool:
    channel = change.data["channel"]
    in_channel = channel == "all" or MESSAGE_CHANNEL.get(channel) == message.data.get("channel")
    return in_channel and change.contact_id in (None, message.contact_id)


def regrants(change: Fact, revoke: Fact) -> bool:
    """Whether a change grants consent again for all that `revoke` withdrew, at or after it."""
    return (
        change.data["granted"] is True
        and change.occurred_at >= revoke.occurred_at
        and change.data["channel"] in ("all", revoke.data["channel"])
        and change.contact_id in (None, revoke.contact_id)
    )


def violations_of(timeline: Timeline) -> dict[int, list[Fact]]:
    """The messages sent against a withdrawal, by the index of that withdrawal among the changes."""
    changes = timeline.of("marketing.consent.changed")
    violations: dict[int, list[Fact]] = {}
    for message in timeline.of(*MESSAGES):
        before = [index for index, change in enumerate(changes)
                  if change.occurred_at < message.occurred_at and covers(change, message)]
        if before and changes[before[-1]].data["granted"] is False:
            violations.setdefault(before[-1], []).append(message)
    return violations


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    changes = timeline.of("marketing.consent.changed")
    for index, messages in violations_of(timeline).items():
        revoke = changes[index]
        regrant = next((change.occurred_at for change in changes if regrants(change, revoke)), None)
        if held(messages[0].occurred_at, regrant):
            shown = first_and_latest(messages, thresholds.evidence_first, thresholds.evidence_latest)
            yield finding_of(timeline.account_id, revoke, shown, len(messages),
                             {message.department for message in messages}, moment.resolved_at(regrant))


@state(version=2)
@dataclass(slots=True)
class Withdrawal:
    """A change that withdrew consent, the messages it is the latest covering change for (the first and the
    latest, how many, from which departments), and its regrant."""

    revoke: Fact
    messages: Kept | None = None  # None before the first message
    departments: set[str] = field(default_factory=set)  # of every message, shown or not
    closes: datetime | None = None  # the first regrant's instant

    def take(self, message: Fact, thresholds: Thresholds) -> None:
        if self.messages is None:
            self.messages = Kept()
        self.messages.take(message, thresholds.evidence_first, thresholds.evidence_latest)
        self.departments.add(message.department)

    def finding(self, account_id: str, resolved_at: datetime | None) -> Finding:
        assert self.messages is not None  # a withdrawal without messages gives no finding (`ever_held`)
        return finding_of(account_id, self.revoke, self.messages.shown, self.messages.count, self.departments,
                          resolved_at)

    def ever_held(self) -> bool:
        return self.messages is not None and held(self.messages.first[0].occurred_at, self.closes)


@state(version=1)
@dataclass(slots=True)
class Consents:
    """What still judges messages: the latest consent per (contact or account, channel), and open withdrawals.

    `latest` keeps one change per (contact, channel): the latest settled one, before the
    current instant (a change judges only messages after it). `pending` holds the changes
    at the current instant, settled once a later one comes. `open` holds the withdrawals
    that are still the latest of their (contact, channel), or whose finding is not closed
    yet; one superseded with no message, or closed with its messages final, leaves it (to
    `final` if it held, which `take_final` empties at once). So the state grows with the
    contacts and the findings still open, and each open finding's evidence stops at its
    first and latest messages: never with the account's messages or age.
    """

    account_id: str
    latest: dict[str | None, dict[str, Fact]] = field(default_factory=dict)  # contact -> channel -> change
    now: datetime | None = None  # the instant of the last fact taken
    pending: list[Fact] = field(default_factory=list)  # changes at `now`, not in `latest` yet
    open: dict[str, Withdrawal] = field(default_factory=dict)  # by the withdrawal's key
    final: list[Withdrawal] = field(default_factory=list)  # closed for good, until `take_final` takes them


def start(account_id: str, thresholds: Thresholds) -> Consents:
    return Consents(account_id)


def key_of(change: Fact) -> str:
    return f"{change.source}/{change.event_id}"


def step(consents: Consents, fact: Fact, thresholds: Thresholds) -> Consents:
    """A change waits for the next instant to judge messages; a message joins its latest covering withdrawal."""
    if consents.now != fact.occurred_at:
        settle(consents)
        consents.now = fact.occurred_at
    if fact.type == "marketing.consent.changed":
        change(consents, fact)
    else:
        judge(consents, fact, thresholds)
    return consents


def change(consents: Consents, fact: Fact) -> None:
    if fact.data["granted"] is True:
        for withdrawal in consents.open.values():
            if withdrawal.closes is None and regrants(fact, withdrawal.revoke):
                withdrawal.closes = fact.occurred_at
    elif fact.data["granted"] is False:
        answered = any(regrants(earlier, fact) for earlier in consents.pending)
        consents.open[key_of(fact)] = Withdrawal(fact, closes=fact.occurred_at if answered else None)
    consents.pending.append(fact)


def judge(consents: Consents, message: Fact, thresholds: Thresholds) -> None:
    covering = [change for contact in {None, message.contact_id} for change in consents.latest.get(contact, {}).values()
                if covers(change, message)]
    if not covering:
        return
    latest = max(covering, key=lambda change: change.order)
    withdrawal = consents.open.get(key_of(latest)) if latest.data["granted"] is False else None
    if withdrawal is not None:
        withdrawal.take(message, thresholds)


def settle(consents: Consents) -> None:
    """The changes of the instant now past judge the messages to come; withdrawals done with leave `open`.

    A withdrawal superseded for its (contact, channel) gets no more messages: with none
    it never held. One granted again gets none after the regrant's instant: it is final.
    """
    for fact in consents.pending:
        channels = consents.latest.setdefault(fact.contact_id, {})
        superseded = channels.get(fact.data["channel"])
        channels[fact.data["channel"]] = fact
        gone = None if superseded is None else key_of(superseded)
        if gone in consents.open and consents.open[gone].messages is None:
            del consents.open[gone]
    consents.pending = []
    for key, withdrawal in list(consents.open.items()):
        if withdrawal.closes is not None:
            del consents.open[key]
            if withdrawal.ever_held():
                consents.final.append(withdrawal)


def read(consents: Consents, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for withdrawal in [*consents.final, *consents.open.values()]:
        if withdrawal.ever_held():
            yield withdrawal.finding(consents.account_id, moment.resolved_at(withdrawal.closes))


def take_final(consents: Consents, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The findings of the withdrawals granted again before now: no message can join them, and they have closed."""
    moment = Moment(now)
    final = [withdrawal.finding(consents.account_id, moment.resolved_at(withdrawal.closes))
             for withdrawal in consents.final]
    consents.final.clear()
    return final


def message_words(message: Fact) -> str:
    recipient = f"contact {message.contact_id}" if message.contact_id else "the account"
    if message.type == "marketing.campaign.sent":
        what = f"Marketing sent {message.data['channel']} campaign {message.data['campaignId']}"
    else:
        what = f"Sales sent a {message.data['intent']} outreach by {message.data['channel']}"
    return f"{what} to {recipient} on {day(message.occurred_at)}"


def finding_of(account_id: str, revoke: Fact, messages: list[Fact], count: int, departments: set[str],
               resolved_at: datetime | None) -> Finding:
    """`messages`: the first and latest messages; `count`, `departments`: of all of them."""
    first = messages[0]
    who = f"contact {revoke.contact_id}" if revoke.contact_id else "the account"
    summary = (
        f"{message_words(first)} although {who} had opted out of "
        f"{CHANNEL_WORDS[revoke.data['channel']]} on {day(revoke.occurred_at)}"
    )
    if count > 1:
        more = count - 1
        summary += f"; {more} more message{'s' if more > 1 else ''} followed without consent"
        summary += shown_words(count, len(messages), "messages")
    return finding(
        account_id,
        ID,
        f"{revoke.source}/{revoke.event_id}",
        severity="HIGH",
        departments=("marketing", *departments),
        evidence=[revoke, *messages],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"marketing.consent.changed", *MESSAGES}), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
