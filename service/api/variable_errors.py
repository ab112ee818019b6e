"""Name the argument in errors about variables: `events[3].occurredAt`, not `$e at [3].occurredAt`.

graphql-core reports a value that fails a scalar inside a variable by the variable's
name, which is the client's choice. Producers act on the argument's name, so this
extension rewrites such messages to start with the argument path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import ArgumentNode, DocumentNode, GraphQLError, VariableNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

VARIABLE_ERROR = re.compile(r"^Variable '\$(?P<variable>\w+)' (?:got|has) invalid value(?: at (?P<path>\S+?))?[:;] (?P<reason>.*)$", re.S)


class NameArgumentsInVariableErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        document = self.execution_context.graphql_document
        if result is None or not result.errors or document is None:
            return
        arguments = arguments_by_variable(document)
        result.errors = [renamed(error, arguments) for error in result.errors]


def renamed(error: GraphQLError, arguments: dict[str, str]) -> GraphQLError:
    match = VARIABLE_ERROR.match(error.message)
    if match is None or match["variable"] not in arguments:
        return error
    path = arguments[match["variable"]] + (match["path"] or "")
    return GraphQLError(f"{path}: {match['reason']}", nodes=error.nodes, original_error=error.original_error,
                        extensions={"field": path})


def arguments_by_variable(document: DocumentNode) -> dict[str, str]:
    """Which argument each variable is passed to, e.g. {"e": "events"}."""
    found: dict[str, str] = {}

    class Collector(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            if isinstance(node.value, VariableNode):
                found.setdefault(node.value.name.value, node.name.value)

    visit(document, Collector())
    return found
