"""`contact-after-opt-out`: marketing or sales messages a contact after consent was withdrawn."""

from __future__ import annotations

from datetime import datetime

import pytest

from projections.facts import Fact
from projections.thresholds import ThresholdError, thresholds_from
from tests.unit.rules.builders import at, days, fact, findings, only, tied

RULE = "contact-after-opt-out"


def consent(when: str, channel: str = "email", granted: bool = False, contact: str | None = "c-17") -> Fact:
    return fact("marketing.consent.changed", when, contact, channel=channel, granted=granted)


def campaign(when: datetime | str, channel: str = "email", contact: str | None = "c-17") -> Fact:
    return fact("marketing.campaign.sent", when, contact, campaignId="SPRING-26", channel=channel, intent="nurture")


def outreach(when: datetime | str, channel: str = "call", contact: str | None = "c-17") -> Fact:
    return fact("sales.outreach.sent", when, contact, channel=channel, intent="prospecting")


def test_a_campaign_after_an_opt_out_fires() -> None:
    revoke, message = consent("2026-03-02 09:00"), campaign("2026-03-05 10:00")
    found = only(RULE, [revoke, message], "2026-03-10")
    assert found.severity == "HIGH"
    assert found.departments == ("marketing",)
    assert found.key == f"test/{revoke.event_id}"
    assert found.detected_at == at("2026-03-05 10:00")
    assert found.resolved_at is None
    assert found.evidence == (revoke, message)
    assert found.summary == (
        "Marketing sent email campaign SPRING-26 to contact c-17 on 5 Mar 2026 "
        "although contact c-17 had opted out of email on 2 Mar 2026."
    )


def test_a_sales_outreach_after_an_opt_out_names_sales_and_marketing() -> None:
    found = only(RULE, [consent("2026-03-02", "phone"), outreach("2026-03-05")], "2026-03-10")
    assert found.departments == ("marketing", "sales")
    assert found.summary == (
        "Sales sent a prospecting outreach by call to contact c-17 on 5 Mar 2026 "
        "although contact c-17 had opted out of phone calls on 2 Mar 2026."
    )


@pytest.mark.parametrize(
    ("channel", "message", "fires"),
    [
        ("email", campaign("2026-03-05", "email"), True),
        ("email", outreach("2026-03-05", "email"), True),
        ("email", outreach("2026-03-05", "call"), False),
        ("email", campaign("2026-03-05", "webinar"), False),
        ("phone", outreach("2026-03-05", "call"), True),
        ("phone", outreach("2026-03-05", "email"), False),
        ("sms", outreach("2026-03-05", "sms"), True),
        ("sms", outreach("2026-03-05", "call"), False),
        ("all", campaign("2026-03-05", "webinar"), True),
        ("all", outreach("2026-03-05", "linkedin"), True),
    ],
)
def test_the_consent_channel_must_match_the_message_channel(channel: str, message: Fact, fires: bool) -> None:
    assert len(findings(RULE, [consent("2026-03-02", channel), message], "2026-03-10")) == int(fires)


def test_billing_and_support_messages_are_exempt() -> None:
    transactional = [
        fact("billing.dunning.sent", "2026-03-05", "c-17", invoiceId="INV-7", level=1, channel="email"),
        fact("support.contact.made", "2026-03-05", "c-17", channel="email", reason="check_in"),
    ]
    assert findings(RULE, [consent("2026-03-02", "all"), *transactional], "2026-03-10") == []


@pytest.mark.parametrize("contact", ["c-18", None])
def test_a_contacts_opt_out_does_not_cover_another_contact_or_the_account(contact: str | None) -> None:
    assert findings(RULE, [consent("2026-03-02"), campaign("2026-03-05", contact=contact)], "2026-03-10") == []


@pytest.mark.parametrize(("contact", "recipient"), [("c-18", "contact c-18"), (None, "the account")])
def test_an_account_level_opt_out_covers_every_contact(contact: str | None, recipient: str) -> None:
    facts = [consent("2026-03-02", contact=None), campaign("2026-03-05", contact=contact)]
    assert only(RULE, facts, "2026-03-10").summary == (
        f"Marketing sent email campaign SPRING-26 to {recipient} on 5 Mar 2026 "
        "although the account had opted out of email on 2 Mar 2026."
    )


@pytest.mark.parametrize(("when", "fires"), [("2026-03-02 09:00", False), ("2026-03-02 09:01", True)])
def test_only_a_change_strictly_before_the_message_counts(when: str, fires: bool) -> None:
    assert len(findings(RULE, [consent("2026-03-02 09:00"), campaign(when)], "2026-03-10")) == int(fires)


def test_a_message_after_consent_is_granted_again_does_not_fire() -> None:
    facts = [consent("2026-03-02"), consent("2026-03-03", granted=True), campaign("2026-03-05")]
    assert findings(RULE, facts, "2026-03-10") == []


@pytest.mark.parametrize("grant_first", [True, False])
def test_a_grant_at_the_instant_of_the_withdrawal_answers_it(grant_first: bool) -> None:
    """Withdrawn and granted again both at 2 Mar 09:00, in either order of the tie; a campaign on 5 Mar."""
    revoke, grant = consent("2026-03-02 09:00"), consent("2026-03-02 09:00", granted=True)
    pair = (grant, revoke) if grant_first else (revoke, grant)
    assert findings(RULE, [*tied(*pair), campaign("2026-03-05")], "2026-03-10") == []


@pytest.mark.parametrize("grant_first", [True, False])
def test_a_grant_at_the_instant_of_the_first_message_means_it_never_held(grant_first: bool) -> None:
    """Withdrawn 2 Mar; a campaign and a grant both at 5 Mar 09:00, in either order of the tie."""
    message, grant = campaign("2026-03-05 09:00"), consent("2026-03-05 09:00", granted=True)
    pair = (grant, message) if grant_first else (message, grant)
    facts = [consent("2026-03-02"), *tied(*pair)]
    assert findings(RULE, facts, "2026-03-10") == []
    assert findings(RULE, facts, "2026-03-05 09:00") == []


def test_a_late_grant_dated_at_the_first_message_takes_the_finding_back() -> None:
    """Reported open from the campaign of 5 Mar 09:00; a grant dated 5 Mar 09:00 arrives afterwards."""
    facts = [consent("2026-03-02"), campaign("2026-03-05 09:00")]
    assert only(RULE, facts, "2026-03-10").resolved_at is None
    assert findings(RULE, [*facts, consent("2026-03-05 09:00", granted=True)], "2026-03-10") == []


def test_the_latest_covering_change_decides_and_is_the_key() -> None:
    email = consent("2026-03-02")
    everything = consent("2026-03-04", "all")
    facts = [email, campaign("2026-03-03"), everything, campaign("2026-03-05"), outreach("2026-03-06")]
    found = findings(RULE, facts, "2026-03-10")
    assert sorted(each.key for each in found) == sorted([f"test/{email.event_id}", f"test/{everything.event_id}"])
    assert {len(each.evidence) for each in found} == {2, 3}


def test_it_closes_when_consent_is_granted_again_and_later_messages_join_until_then() -> None:
    facts = [consent("2026-03-02"), campaign("2026-03-05"), outreach("2026-03-06", "email"),
             consent("2026-03-09", granted=True), campaign("2026-03-12")]
    found = only(RULE, facts, "2026-03-20")
    assert found.resolved_at == at("2026-03-09")
    assert len(found.evidence) == 3
    assert found.departments == ("marketing", "sales")
    assert found.summary.endswith("; 1 more message followed without consent.")


@pytest.mark.parametrize("grant_first", [True, False])
def test_a_message_at_the_instant_of_the_grant_still_joins(grant_first: bool) -> None:
    """Withdrawn 2 Mar, mailed 5 Mar; a campaign and a grant both at 9 Mar 09:00, in either order of the tie."""
    message, grant = campaign("2026-03-09 09:00"), consent("2026-03-09 09:00", granted=True)
    pair = (grant, message) if grant_first else (message, grant)
    facts = [consent("2026-03-02"), campaign("2026-03-05"), *tied(*pair), campaign("2026-03-12")]
    found = only(RULE, facts, "2026-03-20")
    assert found.resolved_at == at("2026-03-09 09:00")
    assert len(found.evidence) == 3


def test_as_of_before_the_message_nothing_and_before_the_grant_open() -> None:
    facts = [consent("2026-03-02"), campaign("2026-03-05"), consent("2026-03-09", granted=True)]
    assert findings(RULE, facts, "2026-03-04") == []
    assert only(RULE, facts, "2026-03-08").resolved_at is None


@pytest.mark.parametrize(
    ("grant", "closes"),
    [
        (consent("2026-03-09", "all", True), True),
        (consent("2026-03-09", "email", True, contact=None), True),
        (consent("2026-03-09", "sms", True), False),
        (consent("2026-03-09", "email", True, contact="c-18"), False),
    ],
)
def test_only_a_grant_for_the_same_channel_and_contact_closes_it(grant: Fact, closes: bool) -> None:
    found = only(RULE, [consent("2026-03-02"), campaign("2026-03-05"), grant], "2026-03-20")
    assert found.resolved_at == (at("2026-03-09") if closes else None)


def test_a_contacts_grant_does_not_close_an_account_level_opt_out() -> None:
    revoke = consent("2026-03-02", contact=None)
    facts = [revoke, campaign("2026-03-05"), consent("2026-03-09", granted=True), campaign("2026-03-10", contact="c-18"),
             campaign("2026-03-11")]
    found = only(RULE, facts, "2026-03-20")
    assert found.resolved_at is None
    assert [each.contact_id for each in found.evidence] == [None, "c-17", "c-18"]


def test_a_withdrawal_never_granted_again_keeps_its_first_and_latest_messages_and_counts_them_all() -> None:
    """Differs from the spec (every message): 150 days of mail after one opt-out; one sales call among them."""
    revoke = consent("2026-01-05 09:00", "all")
    messages = [campaign(at("2026-01-06 10:00") + days(n)) for n in range(150)]
    messages[60] = outreach(messages[60].occurred_at)
    found = only(RULE, [revoke, *messages], "2026-07-01")
    assert found.resolved_at is None and found.detected_at == at("2026-01-06 10:00")
    assert found.evidence == (revoke, *messages[:20], *messages[-80:])
    assert messages[60] not in found.evidence and found.departments == ("marketing", "sales")
    assert found.summary == (
        "Marketing sent email campaign SPRING-26 to contact c-17 on 6 Jan 2026 although contact c-17 had opted out "
        "of all contact on 5 Jan 2026; 149 more messages followed without consent (the evidence shows 100 of the 150 "
        "messages: the first and the latest)."
    )
    few = only(RULE, [revoke, *messages], "2026-07-01", evidence_first=0, evidence_latest=2)
    assert few.evidence == (revoke, messages[0], *messages[-2:])  # the first message, which it names, always
    assert few.summary.endswith("(the evidence shows 3 of the 150 messages: the first and the latest).")


def test_a_withdrawal_with_as_many_messages_as_its_evidence_shows_says_nothing_of_a_cut() -> None:
    revoke = consent("2026-01-05 09:00")
    messages = [campaign(at("2026-01-06 10:00") + days(n)) for n in range(100)]
    found = only(RULE, [revoke, *messages], "2026-07-01")
    assert found.evidence == (revoke, *messages)
    assert found.summary.endswith("; 99 more messages followed without consent.")


@pytest.mark.parametrize(("key", "value", "message"), [("evidence_first", -1, "must not be negative"),
                                                       ("evidence_latest", 2.5, "must be a whole number")])
def test_a_bad_evidence_limit_is_refused_naming_it(key: str, value: object, message: str) -> None:
    with pytest.raises(ThresholdError, match=f"^{RULE}.{key}: {message}"):
        thresholds_from({RULE: {key: value}})
