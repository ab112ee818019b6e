"""`collections-during-supportive-messaging`: collections around a supportive campaign (MEDIUM, billing and marketing).

A campaign is the `marketing.campaign.sent` events of one `campaignId` whose intent is
supportive or retention (sends of other intents do not count). A campaign sent more
than once (to several contacts, say) is timed by its first send, and every send is
evidence. A collections action (`billing.dunning.sent`, `billing.service.suspended`)
within 14 days before or after that time, both ends included, makes the contradiction
true from the later of the campaign and the first such action. The account is judged
as a whole: the contacts of the campaign and of the collections need not match.
Key: the campaign. Closes 14 days after the campaign; a later action in the window
joins the finding as evidence. An action alone exactly 14 days after the campaign
never held (the window closed as it came): there is no finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.history import Timeline
from projections.rules.rule import Rule

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
            campaigns.setdefault(str(fact.data["campaignId"]), []).append(fact)
    return campaigns


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    actions = timeline.of(*COLLECTIONS)
    window = timedelta(days=thresholds.window_days)
    for campaign_id, sends in campaigns_of(timeline, thresholds).items():
        sent = sends[0].occurred_at
        inside = [action for action in actions if sent - window <= action.occurred_at <= sent + window]
        if inside and held(max(sent, inside[0].occurred_at), sent + window):
            yield finding_of(timeline.account_id, campaign_id, sends, inside, moment.resolved_at(sent + window),
                             thresholds)


def campaign_words(campaign_id: str, send: Fact) -> str:
    return f"the {send.data['intent']} {send.data['channel']} campaign {campaign_id}"


def action_words(action: Fact) -> str:
    if action.type == "billing.dunning.sent":
        return f"sent a level {action.data['level']} dunning notice for invoice {action.data['invoiceId']}"
    return "suspended the service"


def finding_of(account_id: str, campaign_id: str, sends: list[Fact], actions: list[Fact],
               resolved_at: datetime | None, thresholds: Thresholds) -> Finding:
    campaign, first = sends[0], actions[0]
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
        evidence=[*sends, *actions],
        detected_at=max(campaign.occurred_at, first.occurred_at),
        resolved_at=resolved_at,
        summary=summary + ".",
    )


RULE = Rule(ID, Thresholds(), detect)
