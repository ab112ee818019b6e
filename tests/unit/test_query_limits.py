"""Limits on one GraphQL document: depth, aliases, cost (fragments expanded), length, tokens, introspection."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    OperationDefinitionNode,
    get_introspection_query,
    parse,
    specified_rules,
    validate,
)
from strawberry.types.execution import ExecutionResult

from service.api.limits import CACHED_LENGTH, parsed
from service.api.query_cost import UNBOUNDED, Measure, Shape, introspection_sizes, list_sizes
from service.api.schema import Schema, build_schema
from service.settings import QueryLimits, Settings

ROOT = Path(__file__).resolve().parents[2]
QUERY = re.findall(r'^QUERY = """(.*?)"""', (ROOT / "bench" / "views.py").read_text(), re.S | re.M)[0]  # the whole view
AS_OF_QUERY = QUERY.replace("query($id: ID!)", "query($id: ID!, $asOf: DateTime!)").replace(
    "account(id: $id)", "account(id: $id, asOf: $asOf)")  # as bench/views.py makes it
SCHEMA = build_schema()
VIEW = "fragment View on Account {" + QUERY.split("account(id: $id) {", 1)[1].rsplit("}", 2)[0] + "}"
# the attack of issue #16: 200 aliases of accounts(first: 100) with the whole view of bench/views.py
ATTACK = "{ " + " ".join(f"a{i}: accounts(first: 100) {{ edges {{ node {{ ...View }} }} }}" for i in range(200)) + " }\n" + VIEW


def measure(query: str, schema: Schema = SCHEMA) -> Measure:
    document = parse(query)
    fragments = {each.name.value: each for each in document.definitions if isinstance(each, FragmentDefinitionNode)}
    sizes = {**list_sizes(1000), **introspection_sizes(schema._schema)}
    shape = Shape(schema._schema, sizes, (50, 100), fragments)
    operation = next(each for each in document.definitions if isinstance(each, OperationDefinitionNode))
    return shape.selections(operation.selection_set, schema._schema.get_root_type(operation.operation))


def errors(query: str, schema: Schema = SCHEMA) -> list[GraphQLError]:
    return validate(schema._schema, parse(query), [*specified_rules, *schema.query_rules])


def refused(query: str, schema: Schema = SCHEMA) -> GraphQLError:
    """The error of a document refused by a limit, through strawberry's path (nothing runs: there is no context)."""
    result = schema.execute_sync(query)
    assert result.data is None and result.errors, result
    return result.errors[0]


def documented_queries() -> list[str]:
    blocks = re.findall(r"```graphql\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), re.S)
    return [block for block in blocks if re.match(r"\s*(query|mutation|subscription|\{)", block)]


@pytest.mark.parametrize("query", [*documented_queries(), QUERY, AS_OF_QUERY,
                                   get_introspection_query(descriptions=True, specified_by_url=True)])
def test_the_documented_the_bench_and_graphiql_queries_are_admitted(query: str) -> None:
    assert errors(query) == [], query
    # a third of the limit at most: GraphiQL's introspection is estimated from the schema's mean fields per type,
    # rounded up, and from the number of types, so it grows as the schema does (the handling types took the mean
    # from 3 to 4; the CX impact types took it past a fourth of the limit, to 25,657)
    assert measure(query).cost <= QueryLimits.max_cost // 3


def test_the_200_alias_attack_is_refused_by_its_cost_and_its_aliases() -> None:
    assert measure(ATTACK) == Measure(depth=6, aliases=200, cost=75_600_200)
    assert [error.message for error in errors(ATTACK)] == [
        "200 aliases exceed the limit of 30 (CX360_MAX_ALIASES)",
        "query cost 75,600,200 exceeds the limit of 100,000 (CX360_MAX_QUERY_COST)",
    ]
    error = refused(ATTACK, build_schema(Settings(query_limits=QueryLimits(max_aliases=1000))))
    assert error.message == "query cost 75,600,200 exceeds the limit of 100,000 (CX360_MAX_QUERY_COST)"
    assert error.extensions == {"code": "QUERY_TOO_COSTLY", "cost": 75_600_200, "limit": 100_000}


def test_first_multiplies_its_selection_a_variable_counts_as_the_largest_page() -> None:
    page = "accounts(first: {}) {{ edges {{ node {{ id }} }} pageInfo {{ hasNextPage }} }}"
    assert measure("{ " + page.format(10) + " }").cost == 1 + 10 * (1 + 1 + 1 + 1 + 1)
    assert measure("{ accounts { edges { node { id } } } }").cost == 1 + 50 * 3  # omitted: the default page
    assert measure("query($n: Int) { " + page.format("$n") + " }").cost == 1 + 100 * 5
    assert measure("{ " + page.format(10_000) + " }").cost == 1 + 100 * 5  # beyond it, the field itself refuses
    assert measure("{ account(id: \"a\") { timeline(first: 3) { edges { cursor } } } }").cost == 1 + 1 + 3 * 2


def test_lists_without_first_count_their_realistic_size() -> None:
    assert measure("{ account(id: \"a\") { departments { department } } }").cost == 1 + 1 + 5 * 1
    assert measure("{ account(id: \"a\") { findings { evidence { id } } } }").cost == 2 + UNBOUNDED * (1 + UNBOUNDED)
    assert measure("{ account(id: \"a\") { findings { departments } } }").cost == 2 + UNBOUNDED  # a list of enums is a leaf


def test_every_list_of_objects_has_a_size_or_a_first_argument() -> None:
    sizes = list_sizes(1000)
    unsized = []
    for type_ in SCHEMA._schema.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, field in type_.fields.items():
                inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
                if isinstance(inner, GraphQLList) and "first" not in field.args and (type_.name, name) not in sizes:
                    item = inner.of_type.of_type if isinstance(inner.of_type, GraphQLNonNull) else inner.of_type
                    if isinstance(item, GraphQLObjectType):
                        unsized.append(f"{type_.name}.{name}")
    assert unsized == [], "give these lists a size in service/api/query_cost.py list_sizes"


def test_a_fragment_counts_where_it_is_spread_and_once_per_selection() -> None:
    fragment = "fragment F on Account { id name }"
    assert measure("{ a: account(id: \"a\") { ...F } b: account(id: \"b\") { ...F } }\n" + fragment).cost == 2 * 3
    assert measure("{ account(id: \"a\") { ...F ...F ...F } }\n" + fragment).cost == 3  # graphql-core runs it once


def test_nested_spreads_are_measured_once_per_fragment() -> None:
    """Ten distinct fragments per level, eight levels: 10^7 fields expanded, a few thousand nodes to measure."""
    levels, fan = 8, 10
    fragments = [
        f"fragment F{i}_{j} on Account {{ " + (" ".join(f"...F{i + 1}_{k}" for k in range(fan)) if i < levels - 1 else "id")
        + " }" for i in range(levels) for j in range(fan)]
    document = "{ account(id: \"x\") { ...F0_0 } }\n" + "\n".join(fragments)
    assert measure(document).cost == 1 + fan ** (levels - 1)
    assert "exceeds the limit" in errors(document)[0].message


def test_a_chain_of_fragments_does_not_exhaust_the_stack() -> None:
    chain = "\n".join(f"fragment F{i} on Account {{ ...F{i + 1} }}" for i in range(3000))
    assert measure("{ account(id: \"a\") { ...F0 } }\n" + chain + "\nfragment F3000 on Account { id }").cost == 2


def test_depth_beyond_the_limit_is_refused_and_introspection_does_not_count() -> None:
    assert measure("{ account(id: \"a\") { findings { evidence { id } } } }").depth == 3
    assert measure("{ __schema { types { fields { type { name } } } } }").depth == 0
    shallow = build_schema(Settings(query_limits=QueryLimits(max_depth=2)))
    error = refused("{ account(id: \"a\") { findings { evidence { id } } } }", shallow)
    assert error.message == "query depth 3 exceeds the limit of 2 (CX360_MAX_QUERY_DEPTH)"
    assert error.extensions == {"code": "QUERY_TOO_DEEP", "depth": 3, "limit": 2}


def test_aliases_beyond_the_limit_are_refused() -> None:
    thirty = "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }"
    assert errors(thirty) == []
    error = refused(thirty.replace("a0:", "a0: __typename b:"))
    assert error.message == "31 aliases exceed the limit of 30 (CX360_MAX_ALIASES)"
    assert error.extensions == {"code": "TOO_MANY_ALIASES", "aliases": 31, "limit": 30}


def test_introspection_can_be_switched_off() -> None:
    closed = build_schema(Settings(query_limits=QueryLimits(introspection=False)))
    assert "introspection has been disabled" in refused("{ __schema { queryType { name } } }", closed).message
    assert closed.execute_sync("{ __typename }").data == {"__typename": "Query"}


def test_an_introspection_query_nested_too_deeply_is_refused() -> None:
    deep = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    assert "Maximum introspection depth exceeded" in refused(deep).message


def test_an_integer_too_long_to_read_is_a_syntax_error_naming_it() -> None:
    digits = "9" * 5000
    for query in (f"{{ accounts(first: {digits}) {{ edges {{ cursor }} }} }}",
                  f'mutation {{ recordEvents(events: [{{id: "a", source: "s", type: "t", accountId: "a", '
                  f'occurredAt: "2026-01-01T00:00:00Z", data: {{x: {digits}}}}}]) {{ accepted }} }}'):
        error = refused(query)
        assert error.message == "Syntax Error: an integer of 5,000 digits; at most 4,300 digits are read"
    assert parsed("{ accounts(first: " + "9" * 4300 + ") { edges { cursor } } }", 100, 100_000) is not None


def test_a_query_over_the_length_or_token_limit_is_refused_before_it_is_parsed_whole() -> None:
    long = "{ __typename }" + " " * 2000
    short = build_schema(Settings(query_limits=QueryLimits(max_length=1000)))
    error = refused(long, short)
    assert error.message == "the query has 2,014 characters, more than the limit of 1,000 (CX360_MAX_QUERY_LENGTH)"
    assert error.extensions == {"code": "QUERY_TOO_LONG"}
    assert "more than 50000 tokens" in refused("{ " + "__typename " * 50_001 + "}").message


def test_long_queries_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.api import limits

    calls: list[str] = []
    original = limits.parse_document

    def counted(source: str, **options: Any) -> Any:
        calls.append(source)
        return original(source, **options)

    monkeypatch.setattr(limits, "parse_document", counted)
    long = "{ __typename }" + " " * CACHED_LENGTH
    assert parsed(long, 100, 10**6) is not parsed(long, 100, 10**6) and calls == [long, long]


async def test_subscriptions_are_held_to_the_same_limits_on_both_paths() -> None:
    """The fan-out planner validates with the schema's rules; what it leaves, strawberry's path refuses alike."""
    from service.api.fanout import Planner

    tight = build_schema(Settings(query_limits=QueryLimits(max_cost=10)))
    planner = Planner(tight._schema, tight.query_rules, tight.query_limits)
    costly = "subscription { findingChanged { id evidence { id type } } }"
    assert measure(costly, tight).cost == 1 + 1 + 1 + UNBOUNDED * 2
    assert planner.plan("subscription { events { id } }", None, None) is not None
    assert planner.plan(costly, None, None) is None
    stream = await tight.subscribe(costly)
    result = stream if isinstance(stream, ExecutionResult) else await anext(stream)
    assert result.data is None and result.errors
    assert result.errors[0].message == "query cost 43 exceeds the limit of 10 (CX360_MAX_QUERY_COST)"
