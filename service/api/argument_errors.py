"""Name the argument in errors about argument values, and say what an enum argument takes.

graphql-core reports a bad literal by its location alone ("Value 'MARKOV' does not exist
in 'AttributionModel' enum.", a DateTime's reason wrapped in "Expected value of type ...")
and a bad variable by the variable's name, which is the client's choice. Clients act on
the argument's name, so this extension rewrites both to start with the argument's path
(`events[3].occurredAt: ...`): an enum's as `model: 'MARKOV' is not one of FIRST_TOUCH, ...`,
a scalar's with the scalar's own reason, any other with graphql-core's message after the path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    EnumValueNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLSchema,
    ListValueNode,
    Node,
    NullValueNode,
    ObjectValueNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    print_ast,
    visit,
)
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

from service.api.scalars import ScalarError

VARIABLE_ERROR = re.compile(r"^Variable '\$(?P<variable>\w+)' (?:got|has) invalid value(?: at (?P<path>\S+?))?[:;] (?P<reason>.*)$", re.S)
STEP = re.compile(r"\[(\d+)\]|\.(\w+)")


@dataclass(frozen=True)
class Place:
    """Where a value sits: its argument path (`events[3].occurredAt`) and the type it must have (None: unknown)."""

    path: str
    type: GraphQLInputType | None


class NameArgumentsInErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        result, document = context.result, context.graphql_document
        if result is None or not result.errors or document is None:
            return
        values, variables = places(context.schema._schema, document)
        result.errors = [renamed(error, values, variables, context.variables or {}) for error in result.errors]


def renamed(error: GraphQLError, values: dict[int, Place], variables: dict[str, Place],
            given: dict[str, Any]) -> GraphQLError:
    match = VARIABLE_ERROR.match(error.message)
    if match is not None and match["variable"] in variables:
        place = variables[match["variable"]]
        path = place.path + (match["path"] or "")
        value, value_type = inside(given.get(match["variable"]), place.type, match["path"] or "")
        reason = enum_reason(value_type, json_text(value)) if is_enum_value(value, value_type) else None
        return named(error, path, reason or scalar_reason(error) or match["reason"])
    if match is None and error.path is None and error.nodes and id(error.nodes[0]) in values:
        place, node = values[id(error.nodes[0])], error.nodes[0]
        reason = enum_reason(place.type, literal_text(node)) if is_enum_literal(node, place.type) else None
        return named(error, place.path, reason or scalar_reason(error) or error.message)
    return error


def named(error: GraphQLError, path: str, reason: str) -> GraphQLError:
    return GraphQLError(f"{path}: {reason}", nodes=error.nodes, original_error=error.original_error,
                        extensions={"field": path})


def enum_reason(type_: GraphQLInputType | None, shown: str) -> str | None:
    enum = get_named_type(type_)
    if not isinstance(enum, GraphQLEnumType):
        return None
    return f"{shown} is not one of {', '.join(enum.values)}"


def scalar_reason(error: BaseException | None) -> str | None:
    """The scalar's own reason (service/api/scalars.py), wherever graphql-core wrapped it."""
    while error is not None:
        if isinstance(error, ScalarError):
            return str(error)
        error = error.original_error if isinstance(error, GraphQLError) else error.__cause__
    return None


def is_enum_literal(node: Any, type_: GraphQLInputType | None) -> bool:
    leaf = not isinstance(node, NullValueNode | ListValueNode | ObjectValueNode | VariableNode)
    return leaf and isinstance(get_named_type(type_), GraphQLEnumType)


def is_enum_value(value: Any, type_: GraphQLInputType | None) -> bool:
    plain = value is not None and not isinstance(value, list | dict)
    return plain and isinstance(get_named_type(type_), GraphQLEnumType)


def literal_text(node: Node) -> str:
    if isinstance(node, EnumValueNode):
        return f"'{node.value}'"
    if isinstance(node, StringValueNode):
        return f"{print_ast(node)} (a string; an enum value is written without quotes)"
    return print_ast(node)


def json_text(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def inside(value: Any, type_: GraphQLInputType | None, path: str) -> tuple[Any, GraphQLInputType | None]:
    """The value at `path` (`[1].occurredAt`) within a variable's value, and its type."""
    for index, name in STEP.findall(path):
        nullable = get_nullable_type(type_) if type_ is not None else None
        if index:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
            type_ = nullable.of_type if isinstance(nullable, GraphQLList) else None
        else:
            value = value.get(name) if isinstance(value, dict) else None
            field = nullable.fields.get(name) if isinstance(nullable, GraphQLInputObjectType) else None
            type_ = field.type if field is not None else None
    return value, type_


def places(schema: GraphQLSchema, document: DocumentNode) -> tuple[dict[int, Place], dict[str, Place]]:
    """Every argument value's place, by node identity, and each variable's place (where it is first passed)."""
    values: dict[int, Place] = {}
    variables: dict[str, Place] = {}
    type_info = TypeInfo(schema)

    class Collector(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            argument = type_info.get_argument()
            walk(node.value, argument.type if argument else None, node.name.value, values, variables)

    visit(document, TypeInfoVisitor(type_info, Collector()))
    return values, variables


def walk(node: ValueNode, type_: GraphQLInputType | None, path: str, values: dict[int, Place],
         variables: dict[str, Place]) -> None:
    nullable = get_nullable_type(type_) if type_ is not None else None
    if isinstance(node, VariableNode):
        variables.setdefault(node.name.value, Place(path, type_))
    elif isinstance(node, ListValueNode):
        item = nullable.of_type if isinstance(nullable, GraphQLList) else None
        for index, each in enumerate(node.values):
            walk(each, item, f"{path}[{index}]", values, variables)
    elif isinstance(node, ObjectValueNode):
        fields = nullable.fields if isinstance(nullable, GraphQLInputObjectType) else {}
        for field in node.fields:
            name = field.name.value
            values[id(field)] = Place(f"{path}.{name}", None)  # an unknown field is reported at its node
            walk(field.value, fields[name].type if name in fields else None, f"{path}.{name}", values, variables)
    elif isinstance(nullable, GraphQLList):  # a single value where a list is expected: a list of one
        walk(node, nullable.of_type, path, values, variables)
        return
    values[id(node)] = Place(path, type_)
