"""Validation of events against the catalogue: one failing case for every required field, enum and range."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domain.catalogue import CATALOGUE
from domain.fields import NUL_REFUSED, Amount, Choice, Integer
from domain.validation import (
    Limits,
    Rejection,
    ValidEvent,
    validate_batch,
    validate_event,
)
from tests.support import event, minimal_data

REQUIRED = [(name, field) for name, kind in CATALOGUE.items() for field in kind.required]
CHOICES = [(name, field, spec) for name, kind in CATALOGUE.items() for field, spec in kind.fields.items() if isinstance(spec, Choice)]
RANGES = [(name, field, spec) for name, kind in CATALOGUE.items() for field, spec in kind.fields.items() if isinstance(spec, Integer)]
AMOUNTS = [(name, field) for name, kind in CATALOGUE.items() for field, spec in kind.fields.items() if isinstance(spec, Amount)]


def faults(raw: dict[str, Any], limits: Limits = Limits()) -> dict[str, str]:
    outcome = validate_event(raw, 0, limits)
    assert isinstance(outcome, list), f"expected a rejection, got {outcome}"
    return {rejection.field: rejection.message for rejection in outcome}


def with_data(event_type: str, **changes: Any) -> dict[str, Any]:
    return event(event_type, account_id="acme", data={**minimal_data(event_type), **changes})


def test_the_catalogue_has_the_32_types_of_events_md() -> None:
    assert len(CATALOGUE) == 32
    assert {kind.department for kind in CATALOGUE.values()} == {"marketing", "sales", "product", "support", "billing"}


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_every_type_accepts_its_required_fields(event_type: str) -> None:
    outcome = validate_event(event(event_type, account_id="acme"), 0)
    assert isinstance(outcome, ValidEvent)
    assert outcome.department == event_type.split(".")[0]


@pytest.mark.parametrize(("event_type", "field"), REQUIRED)
def test_a_missing_required_data_field_is_named(event_type: str, field: str) -> None:
    raw = event(event_type, account_id="acme")
    del raw["data"][field]
    assert faults(raw) == {f"data.{field}": "is required"}


@pytest.mark.parametrize(("event_type", "field", "spec"), CHOICES)
def test_a_value_outside_an_enum_is_named_with_the_allowed_values(event_type: str, field: str, spec: Choice) -> None:
    message = faults(with_data(event_type, **{field: "nonsense"}))[f"data.{field}"]
    assert message.startswith(f"must be one of {', '.join(spec.options)}")


@pytest.mark.parametrize(("event_type", "field", "spec"), RANGES)
def test_integers_outside_their_range_are_named(event_type: str, field: str, spec: Integer) -> None:
    assert f"data.{field}" in faults(with_data(event_type, **{field: spec.minimum - 1}))
    if spec.maximum is not None:
        assert f"data.{field}" in faults(with_data(event_type, **{field: spec.maximum + 1}))
        assert isinstance(validate_event(with_data(event_type, **{field: spec.maximum}), 0), ValidEvent)
    assert "must be an integer" in faults(with_data(event_type, **{field: Decimal("2.5")}))[f"data.{field}"]
    assert "must be an integer" in faults(with_data(event_type, **{field: "3"}))[f"data.{field}"]


@pytest.mark.parametrize("score", [0, 10, Decimal("7.0")])
def test_nps_scores_at_the_bounds_and_integral_decimals_are_accepted(score: Any) -> None:
    outcome = validate_event(with_data("marketing.nps.responded", score=score), 0)
    assert isinstance(outcome, ValidEvent) and outcome.data["score"] == int(score)


@pytest.mark.parametrize("percent", [-1, 101, "x", True])
def test_discount_percent_is_between_0_and_100(percent: Any) -> None:
    assert "data.percent" in faults(with_data("sales.discount.offered", percent=percent))


@pytest.mark.parametrize(("event_type", "field"), AMOUNTS)
@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", "-Infinity", True, None, [], "1e400000", -5])
def test_amounts_must_be_finite_non_negative_numbers(event_type: str, field: str, bad: Any) -> None:
    raw = with_data(event_type, **{field: bad})
    assert f"data.{field}" in faults(raw)


@pytest.mark.parametrize(("given", "stored"), [("1250.50", "1250.50"), (Decimal("0.1"), "0.1"), (12, "12"), (0.1, "0.1")])
def test_amounts_are_stored_as_exact_decimal_strings(given: Any, stored: str) -> None:
    outcome = validate_event(with_data("billing.invoice.issued", amount=given), 0)
    assert isinstance(outcome, ValidEvent) and outcome.data["amount"] == stored


@pytest.mark.parametrize("currency", ["usd", "XYZ", "EURO", "", 978])
def test_currencies_come_from_the_iso_4217_list(currency: Any) -> None:
    assert "data.currency" in faults(with_data("billing.payment.received", currency=currency))


@pytest.mark.parametrize("field", ["id", "source", "type", "accountId", "occurredAt", "data"])
def test_a_missing_envelope_field_is_named(field: str) -> None:
    raw = event(account_id="acme")
    del raw[field]
    assert field in faults(raw)


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "x" * 201), ("source", "s" * 101), ("accountId", "a" * 201), ("contactId", "c" * 201), ("actor", "r" * 201),
     ("id", ""), ("accountId", "   "), ("source", 5)],
)
def test_envelope_strings_have_length_limits(field: str, value: Any) -> None:
    assert field in faults({**event(account_id="acme"), field: value})


@pytest.mark.parametrize("occurred_at", ["2026-03-02T09:14:00", "2026-03-02", "yesterday", "2026-13-02T09:14:00Z", 1700000000])
def test_occurred_at_must_be_rfc_3339_with_an_offset(occurred_at: Any) -> None:
    assert "occurredAt" in faults(event(account_id="acme", occurred_at=occurred_at))


def test_an_unknown_type_is_rejected_by_name() -> None:
    assert "unknown event type 'support.ticket.lost'" in faults(event(account_id="acme") | {"type": "support.ticket.lost"})["type"]


def test_data_must_be_an_object() -> None:
    assert faults(event(account_id="acme") | {"data": [1, 2]}) == {"data": "must be an object, not an array"}


def test_unknown_extra_keys_in_data_are_kept_as_plain_json() -> None:
    raw = with_data("support.ticket.opened", channelHint={"via": ["web", 2]}, ratio=Decimal("0.5"))
    outcome = validate_event(raw, 0)
    assert isinstance(outcome, ValidEvent)
    assert outcome.data["channelHint"] == {"via": ["web", 2]} and outcome.data["ratio"] == 0.5


def test_deeply_nested_data_is_rejected_at_the_depth_limit() -> None:
    nested: Any = "leaf"
    for _ in range(10):
        nested = {"n": nested}
    message = faults(with_data("support.ticket.opened", extra=nested), Limits(max_data_depth=8))
    assert any("nested deeper than 8 levels" in text for text in message.values())


def test_an_over_long_string_in_data_is_rejected() -> None:
    raw = with_data("support.ticket.opened", note="x" * 11)
    assert faults(raw, Limits(max_string_length=10)) == {"data.note": "must be at most 10 characters (got 11)"}
    assert "data.subject" in faults(with_data("support.ticket.opened", subject="s" * 1001))


def test_every_fault_of_an_event_is_reported_with_its_index_and_id() -> None:
    raws = [event(account_id="acme"), with_data("marketing.nps.responded", score=11) | {"id": "n-1", "accountId": ""}]
    valid, rejections = validate_batch(raws)
    assert [index for index, _ in valid] == [0]
    assert sorted(rejections, key=lambda r: r.field) == [
        Rejection(1, "n-1", "accountId", "must not be empty"),
        Rejection(1, "n-1", "data.score", "must be at least 0 and at most 10 (got 11)"),
    ]


@pytest.mark.parametrize("until", ["2026-06-30", "2026-06-30T00:00:00+02:00"])
def test_payment_plan_until_is_a_date_or_a_date_time(until: str) -> None:
    assert isinstance(validate_event(with_data("billing.payment_plan.granted", until=until), 0), ValidEvent)
    assert "data.until" in faults(with_data("billing.payment_plan.granted", until="30/06/2026"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "e\u00001"}, "id"),
        ({"source": "zen\u0000desk"}, "source"),
        ({"accountId": "ac\u0000me"}, "accountId"),
        ({"contactId": "c\u0000"}, "contactId"),
        ({"actor": "a\u0000"}, "actor"),
        ({"data": {"ticketId": "T\u00001", "priority": "low"}}, "data.ticketId"),
        ({"data": {"ticketId": "T-1", "priority": "low", "note": "x\u0000"}}, "data.note"),
        ({"data": {"ticketId": "T-1", "priority": "low", "meta": {"k\u0000": 1}}}, "data.meta"),
    ],
)
def test_the_nul_character_is_refused_everywhere(change: dict[str, Any], field: str) -> None:
    raw = {"id": "e-1", "source": "zendesk", "type": "support.ticket.opened", "accountId": "acme",
           "occurredAt": "2026-03-02T09:14:00Z", "data": {"ticketId": "T-1", "priority": "low"}, **change}
    outcome = validate_event(raw, 0)
    assert isinstance(outcome, list), outcome
    assert [(rejection.field, "NUL" in rejection.message) for rejection in outcome] == [(field, True)]


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "1899-12-31T23:59:59Z", "9999-12-31T23:59:59-05:00"])
def test_instants_outside_1900_to_2999_are_refused(when: str) -> None:
    outcome = validate_event(event("support.ticket.resolved", account_id="acme", occurred_at=when), 0)
    assert isinstance(outcome, list) and outcome[0].field == "occurredAt"
    assert "between 1900-01-01 and 2999-12-31" in outcome[0].message


def test_a_far_date_in_data_is_refused_too() -> None:
    raw = event("billing.payment_plan.granted", account_id="acme", data={"until": "9999-01-01"})
    outcome = validate_event(raw, 0)
    assert isinstance(outcome, list) and outcome[0].field == "data.until"


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, Decimal("1e30"), 10**400])
def test_free_form_integers_beyond_64_bits_are_named_not_stored(number: Any) -> None:
    assert "must be between -2^63 and 2^63-1" in faults(with_data("support.ticket.opened", big=number))["data.big"]


def test_a_typed_integer_beyond_64_bits_is_named() -> None:
    assert "must be between -2^63 and 2^63-1" in faults(with_data("product.usage.recorded", seats=2**70))["data.seats"]


@pytest.mark.parametrize("number", [Decimal("1e999999999"), Decimal("-1e400"), Decimal("9" * 5000), 1e300])
def test_a_number_far_beyond_64_bits_is_named_without_building_it(number: Any) -> None:
    """1e999999999 as an integer would take minutes to build; a 5,000-digit one comes as a Decimal (see http.py)."""
    message = faults(with_data("support.ticket.opened", big=number))["data.big"]
    assert message.startswith("must be between -2^63 and 2^63-1 (got a number of ") and message.endswith(" digits)")
    assert faults(with_data("marketing.nps.responded", score=number))["data.score"].startswith("must be between -2^63")


@pytest.mark.parametrize("number", [float("nan"), float("inf")])
def test_a_number_written_in_the_query_that_is_not_finite_is_named(number: float) -> None:
    """graphql-core reads 1e999 in a query as infinity, and a 5,000-digit integer as NaN."""
    assert faults(with_data("support.ticket.opened", x=number)) == {"data.x": "must be a finite number"}
    valid = validate_event(with_data("support.ticket.opened", ratio=0.25, count=3.0), 0)
    assert isinstance(valid, ValidEvent) and valid.data["ratio"] == 0.25 and valid.data["count"] == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "e\ud8001"}, "id"),
        ({"source": "zen\udc00desk"}, "source"),
        ({"accountId": "ac\ud800"}, "accountId"),
        ({"contactId": "\udfff"}, "contactId"),
        ({"actor": "a\ud800"}, "actor"),
        ({"type": "support.ticket.opened\ud800"}, "type"),
        ({"data": {"ticketId": "T\ud8001", "priority": "low"}}, "data.ticketId"),
        ({"data": {"ticketId": "T-1", "priority": "low", "note": {"deep": ["\ud800"]}}}, "data.note.deep[0]"),
        ({"data": {"ticketId": "T-1", "priority": "low", "\ud800": 1}}, "data"),
        ({"data": {"ticketId": "T-1", "priority": "low", "note": {"\ud800": 1}}}, "data.note"),
    ],
)
def test_a_lone_surrogate_rejects_that_event_naming_the_field(change: dict[str, Any], field: str) -> None:
    found = faults(event(account_id="acme") | change)
    assert "lone surrogate" in found[field], found


def test_surrogate_pairs_are_characters_like_any_other() -> None:
    raw = event(account_id="acme\U0001F600") | {"data": {"ticketId": "T-\U0001F600", "priority": "low", "note": "\u00e9"}}
    assert isinstance(validate_event(raw, 0), ValidEvent)


def test_a_nul_in_a_key_of_data_is_named() -> None:
    assert faults(with_data("support.ticket.opened", **{"a\x00": 1})) == {"data": "keys " + NUL_REFUSED}


def test_64_bit_integers_are_kept() -> None:
    outcome = validate_event(with_data("support.ticket.opened", big=2**63 - 1, small=-(2**63)), 0)
    assert isinstance(outcome, ValidEvent) and outcome.data["big"] == 2**63 - 1 and outcome.data["small"] == -(2**63)


@pytest.mark.parametrize("step", [1, 3, 12.0])
def test_a_cadence_step_is_a_whole_number_from_one(step: float) -> None:
    outcome = validate_event(with_data("sales.outreach.sent", cadenceStep=step), 0)
    assert isinstance(outcome, ValidEvent)
    assert outcome.data["cadenceStep"] == int(step)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (0, "must be at least 1 (got 0)"),
        (-2, "must be at least 1 (got -2)"),
        (2.5, "must be an integer (got 2.5)"),
        ("3", "must be an integer, not a string"),
        ("zero", "must be an integer, not a string"),
        (True, "must be an integer, not a boolean"),
    ],
)
def test_a_cadence_step_that_is_not_a_whole_number_from_one_is_refused(step: object, message: str) -> None:
    assert faults(with_data("sales.outreach.sent", cadenceStep=step)) == {"data.cadenceStep": message}


@pytest.mark.parametrize("level", ["2", "tier-2"])
def test_an_escalation_level_stays_text(level: str) -> None:
    assert isinstance(validate_event(with_data("support.ticket.escalated", level=level), 0), ValidEvent)
