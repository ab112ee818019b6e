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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.history import Timeline
from projections.rules.rule import Rule

ID = "contact-after-opt-out"

MESSAGES = ("marketing.campaign.sent", "sales.outreach.sent")

# consent channel -> the message channel it governs (`all` governs every channel)
MESSAGE_CHANNEL = {"email": "email", "phone": "call", "sms": "sms"}

CHANNEL_WORDS = {"email": "email", "phone": "phone calls", "sms": "SMS", "all": "all contact"}


@dataclass(frozen=True)
class Thresholds:
    pass


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
            yield finding_of(timeline.account_id, revoke, messages, moment.resolved_at(regrant))


def message_words(message: Fact) -> str:
    recipient = f"contact {message.contact_id}" if message.contact_id else "the account"
    if message.type == "marketing.campaign.sent":
        what = f"Marketing sent {message.data['channel']} campaign {message.data['campaignId']}"
    else:
        what = f"Sales sent a {message.data['intent']} outreach by {message.data['channel']}"
    return f"{what} to {recipient} on {day(message.occurred_at)}"


def finding_of(account_id: str, revoke: Fact, messages: list[Fact], resolved_at: datetime | None) -> Finding:
    first = messages[0]
    who = f"contact {revoke.contact_id}" if revoke.contact_id else "the account"
    summary = (
        f"{message_words(first)} although {who} had opted out of "
        f"{CHANNEL_WORDS[revoke.data['channel']]} on {day(revoke.occurred_at)}"
    )
    if len(messages) > 1:
        more = len(messages) - 1
        summary += f"; {more} more message{'s' if more > 1 else ''} followed without consent"
    return finding(
        account_id,
        ID,
        f"{revoke.source}/{revoke.event_id}",
        severity="HIGH",
        departments=("marketing", *(message.department for message in messages)),
        evidence=[revoke, *messages],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


RULE = Rule(ID, Thresholds(), detect)
