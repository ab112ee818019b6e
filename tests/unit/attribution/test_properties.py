"""Properties of every model over generated touches and conversions.

Credits add up exactly to each conversion's amount; linear does not care in which order
touches of one instant come; no touch outside the window, or after the conversion, gets
anything; totals never add amounts of different currencies.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.currencies import MINOR_UNITS, NO_MINOR_UNIT, minor_unit
from projections.attribution.allocation import split, unit_exponent
from projections.attribution.journeys import Conversion, Touch, journeys_of, touches_of
from projections.attribution.markov import removal_effects
from projections.attribution.models import MODELS, Attribution, attribute
from projections.attribution.settings import AttributionSettings
from projections.attribution.totals import GROUPS, totals
from projections.facts import Fact
from tests.unit.attribution.builders import WON_AT

KINDS = {
    "marketing.campaign.sent": {"campaignId": "C-1", "channel": "email", "intent": "nurture"},
    "marketing.engagement.recorded": {"campaignId": "C-2", "channel": "ads", "action": "click"},
    "sales.outreach.sent": {"channel": "call", "intent": "follow_up"},
    "support.contact.made": {"channel": "meeting"},
    "support.ticket.resolved": {"ticketId": "T-1"},
    "product.feature.adopted": {"feature": "sso"},
    "billing.dunning.sent": {"invoiceId": "I-1", "level": 1},
}
# Touches on whole half days around a conversion, so that many share an instant and some fall on the window's edges.
HALF_DAYS = st.integers(-2 * 100, 2 * 5).map(lambda halves: timedelta(hours=12 * halves))
AMOUNTS = st.decimals(min_value=0, max_value=10**9, places=2) | st.decimals(min_value=0, max_value=10**6, places=8)
SETTINGS = st.builds(AttributionSettings, lookback_days=st.sampled_from([1, 7, 30, 90]),
                     half_life_days=st.sampled_from([0.5, 7.0, 30.0]), count_upgrades=st.just(False))


@st.composite
def touch_facts(draw: st.DrawFn) -> list[Fact]:
    facts = []
    for n in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(sorted(KINDS)))
        facts.append(Fact(n, kind, WON_AT + draw(HALF_DAYS), draw(st.sampled_from(["hubspot", "zendesk"])), f"t-{n}",
                          None, KINDS[kind], draw(st.sampled_from([None, "rep-1", "csm-2"]))))
    return facts


@st.composite
def conversions(draw: st.DrawFn, number: int = 0) -> Conversion:
    amount, currency = draw(AMOUNTS), draw(st.sampled_from(["USD", "EUR", "JPY"]))
    fact = Fact(1000 + number, "sales.opportunity.won", WON_AT + draw(HALF_DAYS), "salesforce", f"w-{number}", None,
                {"opportunityId": "O-1", "amount": str(amount), "currency": currency})
    return Conversion(fact, "won", amount, currency)


def every_model(conversion: Conversion, touches: list[Touch], chosen: AttributionSettings) -> list[Attribution]:
    effects = removal_effects(journeys_of([each.fact for each in touches] + [conversion.fact], chosen,
                                          conversion.at))
    return [attribute(conversion, touches, model, chosen, effects) for model in MODELS]


@settings(max_examples=300, deadline=None)
@given(touch_facts(), conversions(), SETTINGS)
def test_credits_add_up_exactly_to_the_amount_for_every_model(facts: list[Fact], conversion: Conversion,
                                                               chosen: AttributionSettings) -> None:
    for attribution in every_model(conversion, touches_of(facts), chosen):
        total = sum((each.amount for each in attribution.credits), Decimal(0))
        assert total + attribution.unattributed == conversion.amount
        assert total == (conversion.amount if attribution.credits else 0), attribution.model
        assert all(each.amount >= 0 for each in attribution.credits)


@settings(max_examples=300, deadline=None)
@given(touch_facts(), conversions(), SETTINGS)
def test_no_credit_outside_the_window_or_after_the_conversion(facts: list[Fact], conversion: Conversion,
                                                             chosen: AttributionSettings) -> None:
    window = timedelta(days=chosen.lookback_days)
    counted = [each for each in touches_of(facts) if conversion.at - window < each.at <= conversion.at]
    for attribution in every_model(conversion, touches_of(facts), chosen):
        assert all(conversion.at - window < each.touch.at <= conversion.at for each in attribution.credits)
        assert [each.touch for each in attribution.credits] == counted  # every touch in it is credited, zero or more


@settings(max_examples=300, deadline=None)
@given(touch_facts(), conversions(), SETTINGS, st.randoms(use_true_random=False))
def test_linear_is_symmetric_under_permutation_of_same_time_touches(
        facts: list[Fact], conversion: Conversion, chosen: AttributionSettings, shuffler: random.Random) -> None:
    by_instant: dict[object, list[Fact]] = defaultdict(list)
    for each in facts:
        by_instant[each.occurred_at].append(each)
    permuted = []  # the same instants, each instant's touches given in another order and with their contents shuffled
    for instant, group in by_instant.items():
        contents = [(each.type, each.data, each.actor) for each in group]
        shuffler.shuffle(contents)
        shuffler.shuffle(group)
        permuted += [each._replace(type=kind, data=data, actor=actor) for each, (kind, data, actor) in zip(group, contents)]
    before = attribute(conversion, touches_of(facts), "linear", chosen)
    after = attribute(conversion, touches_of(permuted), "linear", chosen)
    assert [each.amount for each in before.credits] == [each.amount for each in after.credits]
    unit = Decimal(1).scaleb(unit_exponent(conversion.amount, conversion.currency))
    amounts = [each.amount for each in before.credits]
    assert not amounts or max(amounts) - min(amounts) <= unit  # equal shares, but for one unit of the remainder


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(touch_facts(), conversions()), max_size=6), SETTINGS, st.sampled_from(sorted(GROUPS)))
def test_totals_never_add_currencies_together(accounts: list[tuple[list[Fact], Conversion]],
                                              chosen: AttributionSettings, group_by: str) -> None:
    attributions = [attribute(conversion, touches_of(facts), "linear", chosen) for facts, conversion in accounts]
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for _, conversion in accounts:
        expected[conversion.currency] += conversion.amount
    found: dict[str, Decimal] = defaultdict(Decimal)
    for row in totals(attributions, group_by):
        found[row.currency] += row.amount
    assert found == expected  # each currency's rows hold exactly its conversions' amounts
    rows: dict[tuple[str, str | None, bool], Decimal] = defaultdict(Decimal)
    for attribution in attributions:
        for credit in attribution.credits:
            rows[(attribution.conversion.currency, GROUPS[group_by](credit.touch), False)] += credit.amount
        if not attribution.credits:
            rows[(attribution.conversion.currency, None, True)] += attribution.unattributed
    assert {(row.currency, row.group, row.unattributed): row.amount for row in totals(attributions, group_by)} == rows


CURRENCIES = st.sampled_from(sorted({*MINOR_UNITS, *NO_MINOR_UNIT, "USD", "EUR", "GBP"}))


@settings(max_examples=300, deadline=None)
@given(CURRENCIES, st.integers(0, 10**12), st.integers(0, 8),
       st.lists(st.fractions(min_value=0, max_value=10), min_size=1, max_size=8).filter(lambda ws: sum(ws) > 0))
def test_credits_never_have_more_decimals_than_the_unit(currency: str, units: int, decimals: int,
                                                        weights: list[Fraction]) -> None:
    """Counted in the currency's minor unit (or the amount's own finer one), and adding up to the amount exactly."""
    amount = Decimal(units).scaleb(-decimals)
    credits = split(amount, currency, weights)
    exponent = unit_exponent(amount, currency)
    assert exponent == min(-(minor_unit(currency) or 0), -decimals)
    assert all(credit == credit.quantize(Decimal(1).scaleb(exponent)) for credit in credits)
    assert sum(credits) == amount
