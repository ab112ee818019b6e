"""Attribution over several accounts from their facts: the models differ, currencies stay apart, nothing is dropped."""

from __future__ import annotations

from decimal import Decimal

import pytest

from projections.attribution.accounts import attributions
from projections.attribution.settings import DEFAULT_ATTRIBUTION
from projections.attribution.totals import Total, totals
from projections.facts import Fact
from tests.unit.attribution.builders import WON_AT, campaign, outreach, won
from tests.unit.rules.builders import days

# A: a campaign email 20 days and a sales call 10 days before winning 900.00 USD.
# B: a sales call 5 days before winning 300.00 EUR.
# C: a campaign email 3 days before the end, no conversion.
# D: a win of 50.00 USD that no touch preceded.
ACCOUNTS: list[list[Fact]] = [
    [campaign(20), outreach(10), won("900.00")],
    [outreach(5), won("300.00", "EUR")],
    [campaign(3)],
    [won("50.00")],
]


def credited(model: str) -> list[list[tuple[str, Decimal]]]:
    return [[(each.touch.department, each.amount) for each in attribution.credits]
            for attribution in attributions(ACCOUNTS, model, DEFAULT_ATTRIBUTION, WON_AT)]


def test_the_rules_of_thumb() -> None:
    assert credited("first_touch") == [[("marketing", Decimal("900.00")), ("sales", 0)],
                                       [("sales", Decimal("300.00"))], []]
    assert credited("last_touch") == [[("marketing", 0), ("sales", Decimal("900.00"))],
                                      [("sales", Decimal("300.00"))], []]
    assert credited("linear") == credited("position_based") == [
        [("marketing", Decimal("450.00")), ("sales", Decimal("450.00"))], [("sales", Decimal("300.00"))], []]


def test_the_data_driven_model_learns_from_every_account() -> None:
    # Journeys: A (email, call) converted, B (call) converted, C (email) not, D () converted.
    # Steps: start -> email 2, -> call 1, -> conversion 1; email -> call 1, -> null 1; call -> conversion 2.
    # p(call) = 1, p(email) = 1/2, p(start) = 2/4 x 1/2 + 1/4 x 1 + 1/4 = 3/4.
    # Without email: 1/4 + 1/4 = 1/2, effect 1 - (1/2)/(3/4) = 1/3. Without call: 2/4 x 0 + 1/4 = 1/4, effect 2/3.
    # A's 900.00 by 1/3 : 2/3 = 300.00 and 600.00 (C's email, which did not convert, costs email its credit).
    assert credited("data_driven") == [[("marketing", Decimal("300.00")), ("sales", Decimal("600.00"))],
                                       [("sales", Decimal("300.00"))], []]


def test_totals_by_department_keep_currencies_apart_and_the_unattributed_win() -> None:
    found = totals(attributions(ACCOUNTS, "data_driven", DEFAULT_ATTRIBUTION, WON_AT), "department")
    assert found == [
        Total("EUR", "sales", False, Decimal("300.00"), conversions=1, touches=1),
        Total("USD", "sales", False, Decimal("600.00"), conversions=1, touches=1),
        Total("USD", "marketing", False, Decimal("300.00"), conversions=1, touches=1),
        Total("USD", None, True, Decimal("50.00"), conversions=1, touches=0),
    ]


def test_conversions_after_the_moment_are_not_counted_yet() -> None:
    assert attributions(ACCOUNTS, "linear", DEFAULT_ATTRIBUTION, WON_AT - days(1)) == []


def test_unknown_model_and_grouping_are_named() -> None:
    with pytest.raises(ValueError, match="^model: unknown attribution model 'u_shaped'"):
        attributions(ACCOUNTS, "u_shaped", DEFAULT_ATTRIBUTION, WON_AT)
    with pytest.raises(ValueError, match="^groupBy: unknown grouping 'team'"):
        totals([], "team")
