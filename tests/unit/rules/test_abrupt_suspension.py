"""`abrupt-suspension`: a long-standing customer with a clean record suspended days into arrears."""

from __future__ import annotations

import pytest

from projections.facts import Fact
from tests.unit.rules.builders import at, fact, findings, only, tied

RULE = "abrupt-suspension"


def subscription(when: str, change: str = "start") -> Fact:
    return fact("billing.subscription.changed", when, change=change, plan="pro", mrr="900", currency="EUR")


def failed(when: str, invoice: str = "INV-4") -> Fact:
    return fact("billing.payment.failed", when, invoiceId=invoice, reason="card_declined")


def dunning(when: str, invoice: str = "INV-4") -> Fact:
    return fact("billing.dunning.sent", when, invoiceId=invoice, level=1)


def paid(when: str, invoice: str = "INV-4") -> Fact:
    return fact("billing.payment.received", when, invoiceId=invoice, amount="900", currency="EUR")


def suspended(when: str) -> Fact:
    return fact("billing.service.suspended", when, reason="non_payment")


def restored(when: str) -> Fact:
    return fact("billing.service.restored", when)


def test_a_suspension_days_after_a_first_failure_fires() -> None:
    tenure, failure, suspension = subscription("2025-01-10"), failed("2026-03-01 09:00"), suspended("2026-03-04 10:00")
    found = only(RULE, [tenure, failure, suspension], "2026-03-10")
    assert found.severity == "HIGH"
    assert found.departments == ("sales", "billing")
    assert found.key == f"test/{suspension.event_id}"
    assert found.detected_at == at("2026-03-04 10:00")
    assert found.resolved_at is None
    assert found.evidence == (tenure, failure, suspension)
    assert found.summary == (
        "Billing suspended the service on 4 Mar 2026, 3 days after the failed payment of invoice INV-4 on 1 Mar 2026, "
        "for a customer since 10 Jan 2025 with no failed payment in the 365 days before."
    )


def test_a_dunning_notice_starts_the_episode_and_a_won_deal_the_tenure() -> None:
    deal = fact("sales.opportunity.won", "2024-06-01", opportunityId="O-1", amount="9000", currency="EUR")
    found = only(RULE, [deal, dunning("2026-03-04 08:00"), suspended("2026-03-04 10:00")], "2026-03-10")
    assert deal in found.evidence
    assert "less than a day after the level 1 dunning notice for invoice INV-4 on 4 Mar 2026" in found.summary


@pytest.mark.parametrize(("when", "fires"), [("2026-03-16 08:59", True), ("2026-03-16 09:00", False)])
def test_it_fires_only_less_than_15_days_into_the_episode(when: str, fires: bool) -> None:
    facts = [subscription("2025-01-10"), failed("2026-03-01 09:00"), suspended(when)]
    assert len(findings(RULE, facts, "2026-03-20")) == (1 if fires else 0)


def test_the_episode_starts_at_the_earliest_unpaid_invoice() -> None:
    facts = [subscription("2025-01-10"), dunning("2026-02-10", "INV-3"), failed("2026-03-01"), suspended("2026-03-04")]
    assert findings(RULE, facts, "2026-03-10") == []
    assert len(findings(RULE, [*facts, paid("2026-03-02", "INV-3")], "2026-03-10")) == 1


@pytest.mark.parametrize(("when", "fires"), [("2026-03-04 10:00", False), ("2026-03-04 10:01", True)])
def test_an_invoice_paid_by_the_suspension_is_not_unpaid(when: str, fires: bool) -> None:
    facts = [subscription("2025-01-10"), failed("2026-03-01"), paid(when), suspended("2026-03-04 10:00")]
    assert len(findings(RULE, facts, "2026-03-10")) == (1 if fires else 0)


def test_a_suspension_with_nothing_unpaid_does_not_fire() -> None:
    assert findings(RULE, [subscription("2025-01-10"), suspended("2026-03-04")], "2026-03-10") == []


@pytest.mark.parametrize(("since", "fires"), [("2025-03-04 10:00", True), ("2025-03-04 10:01", False)])
def test_the_customer_must_have_365_days_of_tenure(since: str, fires: bool) -> None:
    facts = [subscription(since), failed("2026-03-01"), suspended("2026-03-04 10:00")]
    assert len(findings(RULE, facts, "2026-03-10")) == (1 if fires else 0)


def test_only_a_subscription_start_or_a_won_deal_starts_the_tenure() -> None:
    facts = [subscription("2024-01-10", "upgrade"), subscription("2025-06-01"), failed("2026-03-01"), suspended("2026-03-04")]
    assert findings(RULE, facts, "2026-03-10") == []


@pytest.mark.parametrize(("when", "fires"), [("2025-03-01 09:00", False), ("2025-03-01 08:59", True)])
def test_a_failure_in_the_365_days_before_the_episode_means_no_clean_record(when: str, fires: bool) -> None:
    facts = [subscription("2024-01-10"), failed(when, "INV-1"), paid("2025-03-05", "INV-1"), failed("2026-03-01 09:00"),
             suspended("2026-03-04")]
    assert len(findings(RULE, facts, "2026-03-10")) == (1 if fires else 0)


def test_it_closes_when_the_service_is_restored() -> None:
    facts = [restored("2026-02-01"), subscription("2025-01-10"), failed("2026-03-01"), suspended("2026-03-04 10:00"),
             restored("2026-03-06 12:00")]
    assert only(RULE, facts, "2026-03-10").resolved_at == at("2026-03-06 12:00")
    assert only(RULE, facts, "2026-03-06 11:59").resolved_at is None
    assert findings(RULE, facts, "2026-03-04 09:59") == []  # as of before the suspension


@pytest.mark.parametrize("restore_first", [True, False])
def test_a_restore_at_the_instant_of_the_suspension_means_it_never_held(restore_first: bool) -> None:
    """Suspended and restored at 4 Mar 10:00, in either order of the tie: never cut off."""
    suspension, restore = suspended("2026-03-04 10:00"), restored("2026-03-04 10:00")
    pair = (restore, suspension) if restore_first else (suspension, restore)
    facts = [subscription("2025-01-10"), failed("2026-03-01"), *tied(*pair)]
    assert findings(RULE, facts, "2026-03-10") == []
    assert findings(RULE, facts, "2026-03-04 10:00") == []


def test_a_late_restore_dated_at_the_suspension_takes_the_finding_back() -> None:
    """Reported open from 4 Mar 10:00; a restore dated 4 Mar 10:00 that arrives afterwards shows it never held."""
    facts = [subscription("2025-01-10"), failed("2026-03-01"), suspended("2026-03-04 10:00")]
    assert only(RULE, facts, "2026-03-10").resolved_at is None
    assert findings(RULE, [*facts, restored("2026-03-04 10:00")], "2026-03-10") == []


def test_each_suspension_is_its_own_finding() -> None:
    facts = [subscription("2025-01-10"), failed("2026-03-01"), suspended("2026-03-04"), restored("2026-03-05"),
             suspended("2026-03-08")]
    first, second = findings(RULE, facts, "2026-03-10")
    assert first.id != second.id and first.resolved_at == at("2026-03-05") and second.resolved_at is None


def test_the_windows_are_thresholds() -> None:
    facts = [subscription("2025-06-01"), failed("2026-02-10"), suspended("2026-03-04")]
    assert findings(RULE, facts, "2026-03-10") == []
    looser = {"grace_days": 30, "min_tenure_days": 200}
    assert len(findings(RULE, facts, "2026-03-10", **looser)) == 1
    facts += [failed("2025-12-01", "INV-1"), paid("2025-12-02", "INV-1")]
    assert findings(RULE, facts, "2026-03-10", **looser) == []
    assert len(findings(RULE, facts, "2026-03-10", **looser, clean_days=60)) == 1
