"""A batch of events given as a variable is coerced on the short path exactly as graphql-core coerces it,
and anything the short path does not cover goes to graphql-core, which names the fault."""

from __future__ import annotations

from typing import Any

from graphql import OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_variable_values
from hypothesis import given
from hypothesis import strategies as st

from service.api.event_variables import event_batch, variable_values
from service.api.schema import build_schema

SCHEMA = build_schema()._schema
RECORD = "mutation R($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }"
FIELDS = ("id", "source", "type", "accountId", "occurredAt", "data", "contactId", "actor")


def variables_of(query: str) -> Any:
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.variable_definitions or ()


def event(**changes: Any) -> dict[str, Any]:
    value = {"id": "e-1", "source": "crm", "type": "sales.outreach.sent", "accountId": "acme",
             "occurredAt": "2026-03-02T09:14:00Z", "data": {"channel": "email"}, "contactId": "c-1", "actor": "rep"}
    value.update(changes)
    return {name: item for name, item in value.items() if item is not OMIT}


OMIT = object()

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.integers(2**63, 2**70), st.floats(allow_nan=False, width=32),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**6, min_value=-10**6), st.text(max_size=4),
    st.sampled_from(["2026-03-02T09:14:00Z", "2026-03-02T09:14:00+02:00", "2026-03-02T09:14:00", "not a time",
                     "2026-02-30T00:00:00Z"]),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.lists(st.text(max_size=2), max_size=2),
)
EVENTS = st.builds(
    lambda changes, extra: {**event(**changes), **extra},
    st.dictionaries(st.sampled_from(FIELDS), VALUES | st.just(OMIT), max_size=3),
    st.dictionaries(st.sampled_from(["extra", "occurred_at"]), VALUES, max_size=1) | st.just({}),
)


@given(st.lists(EVENTS | VALUES, max_size=4) | st.one_of(st.none(), st.just({}), st.just("x"), EVENTS))
def test_the_short_path_gives_what_graphql_core_gives_or_hands_over(value: Any) -> None:
    nodes = variables_of(RECORD)
    standard = get_variable_values(SCHEMA, nodes, {"events": value})
    short = event_batch(SCHEMA, nodes, {"events": value})
    if short is None:
        return
    assert isinstance(standard, VariableValues), standard  # the short path never takes what graphql-core refuses
    assert short.coerced == standard.coerced
    assert [list(event) for event in short.coerced["events"]] == [list(event) for event in standard.coerced["events"]]
    assert sources(short) == sources(standard)


def typed(value: Any) -> Any:
    """The value with every leaf's type beside it: `==` alone takes True for 1 and 1.0 for 1."""
    if isinstance(value, dict):
        return [(key, typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value), value)


def sources(values: VariableValues) -> dict[str, tuple[str, str, object, object]]:
    """The sources with the types by name: graphql-core wraps a variable's type afresh for each request."""
    return {name: (source.signature.name, str(source.signature.type), source.signature.default, source.value)
            for name, source in values.sources.items()}


def test_a_plain_batch_takes_the_short_path() -> None:
    batch = [event(), event(id="e-2", contactId=OMIT, actor=None)]
    short = event_batch(SCHEMA, variables_of(RECORD), {"events": batch})
    assert short is not None
    assert short.coerced == get_variable_values(SCHEMA, variables_of(RECORD), {"events": batch}).coerced  # type: ignore[union-attr]
    assert short.coerced["events"][1]["contactId"] is None  # the field's default, as graphql-core gives it


def test_what_the_short_path_does_not_cover_is_graphql_cores() -> None:
    nodes = variables_of(RECORD)
    assert event_batch(SCHEMA, nodes, {"events": [event(occurredAt="2026-03-02T09:14:00")]}) is None  # no offset
    assert event_batch(SCHEMA, nodes, {"events": [event(unknown=1)]}) is None
    assert event_batch(SCHEMA, nodes, {"events": [event(source=None)]}) is None
    assert event_batch(SCHEMA, nodes, {"events": event()}) is None  # a lone object: graphql-core makes it a list
    two = variables_of("mutation R($events: [EventInput!]!, $n: Int) { recordEvents(events: $events) { accepted } }")
    assert event_batch(SCHEMA, two, {"events": [event()], "n": 1}) is None
    errors = variable_values(SCHEMA, nodes, {"events": [event(occurredAt="2026-03-02T09:14:00")]})
    assert isinstance(errors, list) and "occurredAt" in errors[0].message and "RFC 3339" in errors[0].message
