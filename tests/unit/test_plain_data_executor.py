"""The plain-data executor answers exactly as strawberry's own: same data, same errors, same paths.

The short path must only be faster. Property: for any data, including nulls where the
schema promises values, scalars that do not serialize and resolvers that raise, both
executors give the same result. And it must be taken: graphql-core's per-field path runs
only for the fields that need it.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Optional

import pytest
import strawberry
from graphql import Undefined
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from service.api.executor import PlainDataExecutor


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    count: Optional[int]
    at: datetime
    colour: Colour


@strawberry.type
class Node:
    id: strawberry.ID
    leaves: list[Leaf]
    maybe: Optional[Leaf]
    tags: Optional[list[Optional[str]]]

    @strawberry.field
    def shout(self) -> str:
        if self.id == "raise":
            raise ValueError("a resolver failed")
        return str(self.id).upper()


@dataclass
class Data:
    nodes: list[Any]


DATA = Data([])


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self) -> list[Node]:
        return DATA.nodes

    @strawberry.field
    def first(self) -> Optional[Node]:
        return DATA.nodes[0] if DATA.nodes else None

    @strawberry.field
    async def later(self) -> Optional[list[Node]]:
        """A resolver whose value is completed after an await, as a DataLoader's is."""
        return DATA.nodes


CACHES = [lambda: ParserCache(maxsize=64), lambda: ValidationCache(maxsize=64)]  # as the service runs
FAST = strawberry.Schema(query=Query, execution_context_class=PlainDataExecutor, extensions=CACHES)
STANDARD = strawberry.Schema(query=Query, extensions=CACHES)

QUERIES = [
    "{ nodes { id shout leaves { name count at colour } maybe { name colour } tags } }",
    "{ nodes { __typename id tags leaves { __typename count } } first { id maybe { at } } }",
    "{ nodes { maybe { __typename } leaves { __typename } } }",
    "query($with: Boolean!) { nodes { id leaves @include(if: $with) { name } ...N } } "
    "fragment N on Node { maybe { name count } leaves { at } }",
    "{ first { a: id b: id leaves { n: name m: name } } }",
    "{ later { id tags leaves { name count at colour } maybe { colour } } first { leaves { name } } }",
    "{ later { id shout leaves { name } } }",
]

AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
BAD = st.sampled_from([None, object(), ValueError("stored as a value"), "text", Undefined])
names = st.one_of(st.text(max_size=5), BAD)
counts = st.one_of(st.integers(-(2**40), 2**40), st.none(), BAD)
instants = st.one_of(st.just(AT), BAD)
colours = st.one_of(st.sampled_from(list(Colour)), BAD)
leaves = st.builds(Leaf, name=names, count=counts, at=instants, colour=colours)
nodes = st.builds(
    Node,
    id=st.one_of(st.sampled_from(["a", "b", "raise"]), st.none()),
    leaves=st.one_of(st.lists(st.one_of(leaves, st.none(), BAD), max_size=3), st.none(), st.just("not a list")),
    maybe=st.one_of(leaves, st.none(), BAD),
    tags=st.one_of(st.lists(st.one_of(st.text(max_size=3), st.none(), BAD), max_size=3), st.none()),
)


LOOP = asyncio.new_event_loop()  # one for the property's thousands of runs: asyncio.run makes one each time


def answer(schema: strawberry.Schema, query: str, include: bool) -> tuple[Any, list[tuple[str, Any, Any]]]:
    result = LOOP.run_until_complete(schema.execute(query, variable_values={"with": include}))
    errors = sorted((error.message, error.path, error.locations) for error in result.errors or [])
    return result.data, errors


@settings(max_examples=300, deadline=None)
@given(st.lists(nodes, max_size=3), st.booleans())
def test_same_answer_as_strawberry_for_any_data(data: list[Node], include: bool) -> None:
    DATA.nodes = data
    for query in QUERIES:
        assert answer(FAST, query, include) == answer(STANDARD, query, include), query


def test_plain_fields_skip_graphql_cores_field_path(monkeypatch: pytest.MonkeyPatch) -> None:
    DATA.nodes = [Node(id=f"n{i}", leaves=[Leaf(name="x", count=i, at=AT, colour=Colour.RED)] * 10, maybe=None, tags=["t"])
                  for i in range(20)]
    calls: list[str] = []
    standard = StrawberryGraphQLCoreExecutionContext.execute_field

    def counted(self: Any, parent_type: Any, source: Any, details: Any, path: Any, context: Any) -> Any:
        calls.append(details[0].node.name.value)
        return standard(self, parent_type, source, details, path, context)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counted)
    result = FAST.execute_sync("{ nodes { id shout leaves { name count at colour } tags } }")
    assert result.errors is None
    assert len(result.data["nodes"]) == 20  # type: ignore[index]
    # 20 x (1 + 10 x 4 + 2) = 860 plain fields read directly; only the resolvers take the long path
    assert sorted(set(calls)) == ["nodes", "shout"] and len(calls) == 21
    calls.clear()
    result = FAST.execute_sync("{ nodes { id leaves { name count at colour } tags } }")
    assert result.errors is None and len(result.data["nodes"]) == 20  # type: ignore[index]
    assert calls == ["nodes"]  # what the resolver returned is completed on the short path, every field in it


async def test_what_an_async_resolver_returns_is_completed_on_the_short_path(monkeypatch: pytest.MonkeyPatch) -> None:
    DATA.nodes = [Node(id=f"n{i}", leaves=[Leaf(name="x", count=i, at=AT, colour=Colour.RED)] * 10, maybe=None, tags=["t"])
                  for i in range(20)]
    calls: list[str] = []
    standard = StrawberryGraphQLCoreExecutionContext.complete_object_value

    def counted(self: Any, return_type: Any, *args: Any) -> Any:
        calls.append(return_type.name)
        return standard(self, return_type, *args)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "complete_object_value", counted)
    query = "{ later { id leaves { name count at colour } tags } }"
    fast = await FAST.execute(query)
    assert calls == []  # 20 nodes of 10 leaves, not one object completed by graphql-core
    assert fast.data == (await STANDARD.execute(query)).data and len(calls) == 220


class Upper(SchemaExtension):
    """An extension with a `resolve` hook: it must still see every field."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


def test_an_extension_that_wraps_resolvers_sees_plain_fields_too() -> None:
    DATA.nodes = [Node(id="n", leaves=[Leaf(name="low", count=1, at=AT, colour=Colour.BLUE)], maybe=None, tags=None)]
    schema = strawberry.Schema(query=Query, execution_context_class=PlainDataExecutor, extensions=[Upper])
    result = schema.execute_sync("{ nodes { leaves { name } } }")
    assert result.data == {"nodes": [{"leaves": [{"name": "LOW"}]}]}


class Nothing(SchemaExtension):
    pass


async def test_an_extension_made_for_some_requests_only_sees_their_fields() -> None:
    """Extensions are made per request (a tracer sampling one request in two): plans shared
    with the requests without it must not skip it."""
    DATA.nodes = [Node(id="n", leaves=[Leaf(name="low", count=1, at=AT, colour=Colour.BLUE)], maybe=None, tags=None)]
    sampled = itertools.cycle([Nothing, Upper])
    schema = strawberry.Schema(query=Query, execution_context_class=PlainDataExecutor,
                               extensions=[lambda: next(sampled)(), *CACHES])
    answers = [(await schema.execute("{ later { leaves { name } } }")).data for _ in range(4)]
    low, loud = {"later": [{"leaves": [{"name": "low"}]}]}, {"later": [{"leaves": [{"name": "LOW"}]}]}
    assert answers == [low, loud, low, loud]


@pytest.mark.parametrize("query", [
    "{ later @stream(initialCount: 1) { id } }",
    "{ nodes @stream(initialCount: 1) { id } }",
    "{ ... @defer { later { id } } nodes { id } }",
    "{ later { id ... @defer { tags } } }",
])
async def test_deferred_and_streamed_parts_are_delivered_as_graphql_core_delivers_them(query: str) -> None:
    DATA.nodes = [Node(id=f"n{i}", leaves=[], maybe=None, tags=["t"]) for i in range(3)]
    config = StrawberryConfig(enable_experimental_incremental_execution=True)
    fast = strawberry.Schema(query=Query, execution_context_class=PlainDataExecutor, config=config)
    standard = strawberry.Schema(query=Query, config=config)

    async def delivered(schema: strawberry.Schema) -> tuple[str, dict[str, list[str]], int]:
        """The first answer, then what came later by path, in order: how graphql-core groups
        later items into messages depends on the event loop's timing, not on the executor."""
        result = await schema.execute(query)
        first = repr(getattr(result, "initial_result", None) or getattr(result, "data", result))
        by_path: dict[str, list[str]] = {}
        messages = 0
        later = getattr(result, "subsequent_results", None)
        if later is not None:
            async for message in later:
                messages += 1
                for part in getattr(message, "incremental", None) or ():
                    items = getattr(part, "items", None)
                    pieces = [repr(each) for each in items] if items is not None else [repr(part.data)]
                    by_path.setdefault(repr((part.id, part.sub_path)), []).extend(pieces)
        return first, by_path, messages

    fast_first, fast_later, _ = await delivered(fast)
    standard_first, standard_later, standard_messages = await delivered(standard)
    assert standard_messages > 0  # the standard executor did deliver a part later
    assert (fast_first, fast_later) == (standard_first, standard_later)


class Trimmed(StrawberryField):
    """A field class that changes what the attribute gives: not plain, though it has no resolver."""

    def get_result(self, source: Any, info: Any, args: Any, kwargs: Any) -> Any:
        return super().get_result(source, info, args, kwargs).strip()


@strawberry.type
class Padded:
    name: str = Trimmed()


@strawberry.type
class PaddedQuery:
    @strawberry.field
    def padded(self) -> Padded:
        return Padded(name="  padded  ")


def test_a_field_class_with_its_own_get_result_is_not_read_directly() -> None:
    schema = strawberry.Schema(query=PaddedQuery, execution_context_class=PlainDataExecutor)
    assert schema.execute_sync("{ padded { name } }").data == {"padded": {"name": "padded"}}


def test_a_parsed_document_shared_by_requests_answers_each_with_its_variables() -> None:
    """Plans are shared by the executions of one parsed document, except where @include/@skip
    make the selection depend on the variables."""
    DATA.nodes = [Node(id="n", leaves=[Leaf(name="x", count=1, at=AT, colour=Colour.RED)], maybe=None, tags=None)]
    schema = strawberry.Schema(query=Query, execution_context_class=PlainDataExecutor,
                               extensions=[lambda: ParserCache(maxsize=8)])
    query = "query($with: Boolean!) { nodes { id leaves { count ... @include(if: $with) { name } } } }"
    assert schema.execute_sync(query, variable_values={"with": True}).data == {
        "nodes": [{"id": "n", "leaves": [{"count": 1, "name": "x"}]}]}
    assert schema.execute_sync(query, variable_values={"with": False}).data == {
        "nodes": [{"id": "n", "leaves": [{"count": 1}]}]}
    plain = "{ nodes { id leaves { name count } } }"
    assert schema.execute_sync(plain).data == schema.execute_sync(plain).data == {
        "nodes": [{"id": "n", "leaves": [{"name": "x", "count": 1}]}]}
    DATA.nodes = [Node(id="m", leaves=[Leaf(name="y", count=None, at=AT, colour=Colour.RED)], maybe=None, tags=None)]
    assert schema.execute_sync(plain).data == {"nodes": [{"id": "m", "leaves": [{"name": "y", "count": None}]}]}


async def test_awaitable_values_are_awaited_as_graphql_core_does() -> None:
    async def later(value: Any) -> Any:
        return value

    def data() -> list[Node]:
        return [Node(id="n", leaves=[later(Leaf(name="x", count=later(1), at=AT, colour=Colour.RED))],  # type: ignore[list-item]
                     maybe=later(None), tags=later(["t"]))]  # type: ignore[arg-type]

    query = "{ nodes { id leaves { name count } maybe { __typename } tags } }"
    DATA.nodes = data()
    fast = await FAST.execute(query)
    DATA.nodes = data()
    standard = await STANDARD.execute(query)
    assert fast.data == standard.data == {"nodes": [{"id": "n", "leaves": [{"name": "x", "count": 1}], "maybe": None,
                                                     "tags": ["t"]}]}
