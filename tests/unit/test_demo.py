"""The demo data: deterministic, stable ids whatever the day, valid, and full of planted contradictions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from domain.catalogue import DEPARTMENTS
from domain.validation import validate_batch
from service.demo import generate_demo_events

END = date(2026, 11, 25)
Event = dict[str, Any]


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return generate_demo_events(end=END)


def at(event: Event) -> datetime:
    return datetime.fromisoformat(event["occurredAt"])


def accounts_where(events: list[Event], holds: Callable[[list[Event]], bool]) -> set[str]:
    """The accounts whose events (in `occurredAt` order) satisfy the check."""
    by_account: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_account[event["accountId"]].append(event)
    return {account for account, history in by_account.items() if holds(history)}


def test_the_same_seed_and_end_give_the_same_events(events: list[Event]) -> None:
    assert generate_demo_events(end=END) == events
    assert generate_demo_events(end=END, seed=7) != events


def test_ids_and_accounts_do_not_depend_on_the_end_day(events: list[Event]) -> None:
    later = generate_demo_events(end=END + timedelta(days=40))
    assert {e["id"] for e in later} == {e["id"] for e in events}
    assert {e["accountId"] for e in later} == {e["accountId"] for e in events}


def test_ids_are_unique_and_events_sorted(events: list[Event]) -> None:
    assert len({(e["source"], e["id"]) for e in events}) == len({e["id"] for e in events}) == len(events)
    assert events == sorted(events, key=lambda e: (at(e), e["id"]))


def test_every_event_is_valid(events: list[Event]) -> None:
    valid, rejections = validate_batch(events)
    assert rejections == [] and len(valid) == len(events)


def test_size_departments_and_accounts(events: list[Event]) -> None:
    assert 3000 <= len(events) <= 8000
    assert {e["type"].split(".")[0] for e in events} == set(DEPARTMENTS)
    assert len({e["accountId"] for e in events}) >= 45


def test_every_event_happens_in_the_year_ending_on_end(events: list[Event]) -> None:
    first = datetime.combine(END - timedelta(days=365), time(), timezone.utc)
    last = datetime.combine(END, time(23, 59, 59), timezone.utc)
    assert all(first <= at(e) <= last for e in events)
    assert all(e["occurredAt"].endswith("Z") for e in events)


def test_every_account_has_a_name(events: list[Event]) -> None:
    named = {e["accountId"] for e in events if e["type"] == "sales.account.updated" and e["data"].get("name")}
    assert named == {e["accountId"] for e in events}


def test_amounts_are_decimal_strings(events: list[Event]) -> None:
    amounts = [e["data"][key] for e in events for key in ("amount", "mrr") if key in e["data"]]
    assert amounts and all(isinstance(amount, str) and amount.count(".") == 1 for amount in amounts)
    assert {e["data"]["currency"] for e in events if "currency" in e["data"]} <= {"EUR", "USD", "GBP"}


def upsell_after_detractor(history: list[Event]) -> bool:
    detractors = [at(e) for e in history if e["type"] == "marketing.nps.responded" and e["data"]["score"] <= 6]
    upsells = [at(e) for e in history if e["type"] in ("marketing.campaign.sent", "sales.outreach.sent")
               and e["data"]["intent"] == "upsell"]
    return any(timedelta(0) < upsell - nps <= timedelta(days=30) for nps in detractors for upsell in upsells)


def dunning_near_help(history: list[Event]) -> bool:
    helps = [at(e) for e in history if e["type"] == "marketing.campaign.sent"
             and e["data"]["intent"] in ("supportive", "retention")]
    dunning = [at(e) for e in history if e["type"] == "billing.dunning.sent"]
    return any(abs(letter - sent) <= timedelta(days=14) for sent in helps for letter in dunning)


def message_after_opt_out(history: list[Event]) -> bool:
    consent_of = {"email": "email", "call": "phone", "sms": "sms"}
    for message in (e for e in history if e["type"] in ("marketing.campaign.sent", "sales.outreach.sent")):
        changes = [e for e in history if e["type"] == "marketing.consent.changed" and at(e) < at(message)
                   and e.get("contactId") in (message.get("contactId"), None)
                   and e["data"]["channel"] in ("all", consent_of.get(message["data"]["channel"]))]
        if changes and not changes[-1]["data"]["granted"]:
            return True
    return False


@pytest.mark.parametrize("contradiction", [upsell_after_detractor, dunning_near_help, message_after_opt_out])
def test_planted_contradictions_are_in_at_least_two_accounts(
    events: list[Event], contradiction: Callable[[list[Event]], bool]
) -> None:
    assert len(accounts_where(events, contradiction)) >= 2
