"""Facts for attribution tests: touches of each department, wins and upgrades, at `days` before a conversion."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from projections.attribution.journeys import Conversion, Touch, touch_of
from projections.facts import Fact
from tests.unit.rules.builders import at, days, fact

WON_AT = at("2026-06-01 12:00")


def campaign(before: float, channel: str = "email", campaign_id: str = "C-1", actor: str | None = None) -> Fact:
    return fact("marketing.campaign.sent", WON_AT - days(before), campaignId=campaign_id, channel=channel,
                intent="nurture")._replace(actor=actor)


def outreach(before: float, channel: str = "call", actor: str | None = "rep-1") -> Fact:
    return fact("sales.outreach.sent", WON_AT - days(before), channel=channel, intent="follow_up")._replace(actor=actor)


def contact(before: float, channel: str = "meeting", actor: str | None = "csm-1") -> Fact:
    return fact("support.contact.made", WON_AT - days(before), channel=channel)._replace(actor=actor)


def adopted(before: float) -> Fact:
    return fact("product.feature.adopted", WON_AT - days(before), feature="sso")


def won(amount: str, currency: str = "USD", when: datetime = WON_AT) -> Fact:
    return fact("sales.opportunity.won", when, opportunityId="O-1", amount=amount, currency=currency)


def conversion(amount: str, currency: str = "USD", when: datetime = WON_AT) -> Conversion:
    win = won(amount, currency, when)
    return Conversion(win, "won", Decimal(amount), currency)


def touches(*facts: Fact) -> list[Touch]:
    found = [touch_of(each) for each in facts]
    assert all(found), "every fact here is a touch"
    return [each for each in found if each is not None]
