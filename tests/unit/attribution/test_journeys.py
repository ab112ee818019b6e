"""Touches and conversions from an account's facts: what counts, its channel and campaign, and the window."""

from __future__ import annotations

from decimal import Decimal

from projections.attribution.journeys import (
    Journey,
    conversions_of,
    in_window,
    journeys_of,
    touch_of,
    touches_of,
)
from projections.attribution.settings import DEFAULT_ATTRIBUTION, attribution_settings_from
from projections.facts import Fact
from tests.unit.attribution.builders import (
    WON_AT,
    adopted,
    campaign,
    contact,
    conversion,
    outreach,
    touches,
    won,
)
from tests.unit.rules.builders import days, fact, tied

UPGRADES = attribution_settings_from({"count_upgrades": True})


def change(kind: str, mrr: str, before: float, currency: str = "USD") -> Fact:
    return fact("billing.subscription.changed", WON_AT - days(before), change=kind, plan="pro", mrr=mrr,
                currency=currency)


def test_each_kind_of_touch_carries_department_channel_campaign_and_actor() -> None:
    facts = [
        campaign(5, channel="webinar", campaign_id="C-9", actor="mkt-bot"),
        fact("marketing.engagement.recorded", WON_AT, campaignId="C-9", channel="webinar", action="attend"),
        outreach(4, channel="linkedin", actor="rep-7"),
        contact(3, channel="chat", actor="csm-2"),
        fact("support.ticket.resolved", WON_AT, ticketId="T-1")._replace(actor="agent-3"),
        adopted(2),
        fact("billing.dunning.sent", WON_AT, invoiceId="I-1", level=1, channel="email"),
        fact("billing.dunning.sent", WON_AT, invoiceId="I-1", level=2),
    ]
    found = [(each.department, each.channel, each.campaign, each.actor) for each in touches(*facts)]
    assert found == [
        ("marketing", "webinar", "C-9", "mkt-bot"),
        ("marketing", "webinar", "C-9", None),
        ("sales", "linkedin", None, "rep-7"),
        ("support", "chat", None, "csm-2"),
        ("support", "ticket", None, "agent-3"),  # no channel of its own: the kind of touch
        ("product", "product", None, None),
        ("billing", "email", None, None),
        ("billing", "unspecified", None, None),  # a dunning letter that names no channel
    ]


def test_other_events_are_no_touches() -> None:
    for each in (won("10"), fact("support.ticket.opened", WON_AT, ticketId="T-1", priority="low"),
                 fact("marketing.nps.responded", WON_AT, score=9), change("upgrade", "10", 0)):
        assert touch_of(each) is None


def test_touches_of_one_instant_are_ordered_by_source_then_id_not_by_arrival() -> None:
    first, second = tied(outreach(1), contact(1))
    assert [each.fact for each in touches_of([second, first])] == [first, second]


def test_a_won_opportunity_converts_its_amount_in_its_currency() -> None:
    assert [(each.kind, each.amount, each.currency) for each in conversions_of([won("1200.50", "EUR")],
                                                                              DEFAULT_ATTRIBUTION)] == [
        ("won", Decimal("1200.50"), "EUR")]


def test_upgrades_convert_only_when_the_setting_says_so() -> None:
    facts = [change("start", "100", 60), change("upgrade", "250", 30)]
    assert conversions_of(facts, DEFAULT_ATTRIBUTION) == []
    (upgrade,) = conversions_of(facts, UPGRADES)
    assert (upgrade.kind, upgrade.amount, upgrade.currency) == ("upgrade", Decimal("1800"), "USD")  # (250 - 100) x 12


def test_an_upgrade_after_a_cancel_or_in_a_new_currency_adds_its_whole_mrr() -> None:
    after_cancel = [change("start", "100", 60), change("cancel", "100", 40), change("upgrade", "120", 30)]
    new_currency = [change("start", "100", 60, "USD"), change("upgrade", "120", 30, "EUR")]
    assert [each.amount for each in conversions_of(after_cancel, UPGRADES)] == [Decimal("1440")]  # 120 x 12
    assert [(each.amount, each.currency) for each in conversions_of(new_currency, UPGRADES)] == [
        (Decimal("1440"), "EUR")]


def test_an_upgrade_to_no_more_mrr_converts_nothing() -> None:
    assert conversions_of([change("start", "100", 60), change("upgrade", "100", 30)], UPGRADES) == []
    assert conversions_of([change("start", "100", 60), change("upgrade", "90", 30)], UPGRADES) == []


def test_the_window_is_the_lookback_before_the_conversion_and_the_conversion_s_own_instant() -> None:
    edge = touches(outreach(90), outreach(89.99999), outreach(0), outreach(-0.00001))
    counted = in_window(edge, conversion("100"), 90)
    assert [each.fact for each in counted] == [edge[1].fact, edge[2].fact]  # 90 days before is out, as is after


def test_journeys_one_per_conversion_then_the_touches_since_the_last() -> None:
    facts = [outreach(10, channel="email"), contact(5), won("100"), campaign(-3), adopted(-4)]
    assert journeys_of(facts, DEFAULT_ATTRIBUTION, WON_AT + days(10)) == [
        Journey((("sales", "email"), ("support", "meeting")), True),
        Journey((("marketing", "email"), ("product", "product")), False),
    ]


def test_journeys_stop_at_until_and_keep_only_the_window_before_it() -> None:
    facts = [outreach(200), outreach(10), won("100", when=WON_AT + days(1))]
    assert journeys_of(facts, DEFAULT_ATTRIBUTION, WON_AT) == [Journey((("sales", "call"),), False)]
    assert journeys_of([], DEFAULT_ATTRIBUTION, WON_AT) == []


def test_a_conversion_with_no_touch_is_a_journey_of_no_touch() -> None:
    assert journeys_of([won("100")], DEFAULT_ATTRIBUTION, WON_AT) == [Journey((), True)]
