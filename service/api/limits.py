"""What one GraphQL document may ask for: the operator's limits on length, tokens, depth, aliases, cost, introspection.

`query_rules` builds the validation rules once per schema. Strawberry's path adds them with
`AddValidationRules` (the same classes every request, so `ValidationCache` keeps each
document's verdict), and the subscription planner (service/api/fanout.py) validates with
the same ones; both parse with `parsed`'s checks. A document over a limit is refused before
anything runs, with an error naming the setting; the refusal ends the validation, so a
document of 16,000 aliases is refused in a tenth of a second instead of the other rules' three.

Strawberry's `QueryDepthLimiter` and `MaxAliasesLimiter` are not used: they walk a fragment
again at every spread, so a 126-token document of nested spreads (F0 spreads F1 ten times,
F1 spreads F2 ten times, ... eight levels deep) kept them busy 66 s and 13 s.
`query_cost.Shape` measures the same depth and aliases, and the cost, measuring each
fragment once. Strawberry's `MaxTokensLimiter` is used as it is, its `ParserCache` and
`ValidationCache` with two changes: the query's length is checked before parsing, and
only short queries are cached (`CACHED_LENGTH`)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    SKIP,
    ASTValidationRule,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    IntValueNode,
    OperationDefinitionNode,
    ValidationRule,
    Visitor,
    VisitorAction,
    parse,
    visit,
)
from graphql.validation import MaxIntrospectionDepthRule, NoSchemaIntrospectionCustomRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension, ValidationCache

from service.api.paging import DEFAULT_PAGE_SIZE
from service.api.query_cost import CEILING, Measure, Shape, introspection_sizes, list_sizes
from service.settings import QueryLimits

PARSED_DOCUMENTS = 256  # as many as the executor shares plans for (service/api/executor.py)
# Longer queries are parsed, validated and planned for each request, and kept by no cache: a
# parsed document takes about 120 times the memory of its text, so 256 hostile queries of
# 50,000 tokens would otherwise keep some 4.6 GB.
CACHED_LENGTH = 10_000
MAX_DIGITS = sys.get_int_max_str_digits()  # Python reads no longer integer from text (0: no limit)
# (from the start of a run only: trying each position of a long run would take quadratic time)
LONG_DIGITS = re.compile(f"(?<![0-9])[0-9]{{{MAX_DIGITS + 1}}}") if MAX_DIGITS else None


def query_rules(
    schema: GraphQLSchema, limits: QueryLimits, max_page_size: int, max_batch_events: int
) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules that enforce the limits; build them once and pass the same ones every time."""
    sizes = {**list_sizes(max_batch_events), **introspection_sizes(schema)}
    pages = (min(DEFAULT_PAGE_SIZE, max_page_size), max_page_size)

    class QueryShape(ValidationRule):
        """Refuses an operation deeper, with more aliases or costlier than the limits, before the other rules run."""

        def enter_document(self, node: DocumentNode, *_: object) -> VisitorAction:
            fragments = {each.name.value: each for each in node.definitions if isinstance(each, FragmentDefinitionNode)}
            shape = Shape(self.context.schema, sizes, pages, fragments)
            errors = [
                error
                for operation in node.definitions if isinstance(operation, OperationDefinitionNode)
                for error in refusals(shape.selections(operation.selection_set, self.context.schema.get_root_type(
                    operation.operation)), limits, operation)
            ]
            for error in errors[:-1]:
                self.report_error(error)
            if errors:  # the last one ends the validation: a 16,000-alias document would take the other rules seconds
                raise Refused(errors[-1].message, errors[-1].nodes, extensions=errors[-1].extensions)
            return SKIP

    rules: list[type[ASTValidationRule]] = [MaxIntrospectionDepthRule, QueryShape]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


class Refused(ValidationAbortedError):
    """A document over a limit: graphql-core's `validate` stops at this error and returns it with the others."""


def refusals(measure: Measure, limits: QueryLimits, operation: OperationDefinitionNode) -> Iterator[GraphQLError]:
    if measure.depth > limits.max_depth:
        yield refused(f"query depth {measure.depth} exceeds the limit of {limits.max_depth} (CX360_MAX_QUERY_DEPTH)",
                      operation, code="QUERY_TOO_DEEP", depth=measure.depth, limit=limits.max_depth)
    if measure.aliases > limits.max_aliases:
        yield refused(f"{amount(measure.aliases)} aliases exceed the limit of {limits.max_aliases:,} (CX360_MAX_ALIASES)",
                      operation, code="TOO_MANY_ALIASES", aliases=measure.aliases, limit=limits.max_aliases)
    if measure.cost > limits.max_cost:
        yield refused(f"query cost {amount(measure.cost)} exceeds the limit of {limits.max_cost:,} (CX360_MAX_QUERY_COST)",
                      operation, code="QUERY_TOO_COSTLY", cost=measure.cost, limit=limits.max_cost)


def refused(message: str, operation: OperationDefinitionNode, **extensions: object) -> GraphQLError:
    return GraphQLError(message, operation, extensions=extensions)


def amount(count: int) -> str:
    return f"{count:,}" if count < CEILING else f"over {CEILING:,}"


def parse_document(source: str, max_tokens: int | None = None, **options: Any) -> DocumentNode:
    """graphql-core's parse, refusing an integer longer than Python reads from text.

    Left in the document, such an integer would fail inside validation or coercion as an
    internal error, or be read as NaN by the `JSON` scalar and stored as null.
    """
    document = parse(source, max_tokens=max_tokens, **options)
    if LONG_DIGITS is not None and LONG_DIGITS.search(source):  # cheap, before looking at the document
        visit(document, LongIntegers())
    return document


class LongIntegers(Visitor):
    def enter_int_value(self, node: IntValueNode, *_: object) -> None:
        digits = len(node.value.lstrip("-"))
        if digits > MAX_DIGITS:
            raise GraphQLError(f"Syntax Error: an integer of {digits:,} digits; at most {MAX_DIGITS:,} digits are read", node)


cached_parse = lru_cache(maxsize=PARSED_DOCUMENTS)(parse_document)


def parsed(query: str, max_tokens: int, max_length: int) -> DocumentNode:
    """The query's document within the limits; a short query's from the cache."""
    within_length(query, max_length)
    parse = cached_parse if len(query) <= CACHED_LENGTH else parse_document
    return parse(query, max_tokens=max_tokens)


def within_length(query: str, max_length: int) -> None:
    """Refuse a query longer than the limit before parsing it: graphql-core parses about 2 MB a second."""
    if len(query) > max_length:
        raise GraphQLError(f"the query has {len(query):,} characters, more than the limit of {max_length:,} "
                           "(CX360_MAX_QUERY_LENGTH)", extensions={"code": "QUERY_TOO_LONG"})


class ParseWithinLimits(SchemaExtension):
    """Strawberry's `ParserCache`, parsing with `parse_document` within `CX360_MAX_QUERY_LENGTH`
    (and `MaxTokensLimiter`'s tokens), and keeping only short queries."""

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query or ""
        within_length(query, self.max_length)
        parse = cached_parse if len(query) <= CACHED_LENGTH else parse_document
        context.graphql_document = parse(query, **context.parse_options)
        yield


class ShortQueryValidationCache(ValidationCache):
    """Strawberry's validation cache, for the short queries the parser cache keeps; a longer one is validated alone."""

    def __init__(self) -> None:
        super().__init__(maxsize=PARSED_DOCUMENTS)

    def on_validate(self) -> Iterator[None]:
        if len(self.execution_context.query or "") <= CACHED_LENGTH:
            yield from super().on_validate()
        else:
            yield
