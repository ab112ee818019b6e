"""The demo data: deterministic, stable ids whatever the day, valid, and full of planted contradictions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from domain.catalogue import DEPARTMENTS
from domain.validation import validate_batch
from projections.evaluation import evaluate
from projections.facts import Fact
from projections.history import history_of
from projections.rules import RULES
from service.demo import generate_demo_events

END = date(2026, 11, 25)
Event = dict[str, Any]


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return generate_demo_events(end=END)


def at(event: Event) -> datetime:
    return datetime.fromisoformat(event["occurredAt"])


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


def test_every_rule_fires_in_at_least_two_accounts(events: list[Event]) -> None:
    """The planted contradictions, judged by the real rules as of the end of the last day."""
    valid, _ = validate_batch(events)
    facts: dict[str, list[Fact]] = {}
    for position, (_, event) in enumerate(valid, 1):
        facts.setdefault(event.account_id, []).append(
            Fact(position, event.type, event.occurred_at, event.source, event.id, event.contact_id, event.data)
        )
    end = datetime.combine(END, time(23, 59, 59), timezone.utc)
    accounts_by_rule: dict[str, set[str]] = {rule: set() for rule in RULES}
    for account_id, account_facts in facts.items():
        for finding in evaluate(history_of(account_id, account_facts), end).findings:
            accounts_by_rule[finding.rule].add(account_id)
    assert {rule: len(accounts) for rule, accounts in accounts_by_rule.items() if len(accounts) < 2} == {}
