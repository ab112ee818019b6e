"""A batch of events given as a variable, coerced on a short path.

graphql-core coerces a variable by walking its type for every value it holds: for a
`recordEvents` batch that is some 8 µs an event, more than validating the event. For an
operation whose one variable is of type `[EventInput!]!`, given as a list of objects whose
fields are all known, present where required and not null where the type says so, each
field's own scalar coerces its value (or, for a string of `String` or `ID`, keeps it as
graphql-core would) and the result is exactly graphql-core's. Anything else, or a value a
scalar refuses, goes to graphql-core's own `get_variable_values`, which names the fault.

graphql-core has no hook for this: `install` replaces the name `get_variable_values` in
its executor module with `variable_values`, which answers or hands over. graphql-core is
pinned exactly; tests/unit/test_library_internals.py fails by name if the executor stops
calling that name, and tests/unit/test_event_variables.py checks the short path against
graphql-core's on random batches.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import graphql.execution.executor as graphql_executor
from graphql import (
    GraphQLError,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    VariableDefinitionNode,
    is_leaf_type,
    is_required_input_field,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource, get_variable_values
from graphql.utilities.coerce_input_value import coerce_default_value

EVENT_INPUT = "EventInput"

standard_variable_values = get_variable_values  # what graphql-core's executor calls by this name


@dataclass(frozen=True, slots=True)
class FieldPlan:
    name: str
    key: str  # the field's out name, as graphql-core keys the coerced object
    required: bool
    non_null: bool
    default: Any  # the coerced default of an optional field, or Undefined
    coerce: Callable[[Any], Any]
    plain_text: bool  # String or ID: a str is kept as it is


@dataclass(frozen=True, slots=True)
class InputPlan:
    input_type: GraphQLInputObjectType
    fields: tuple[FieldPlan, ...]
    names: frozenset[str]


plans: dict[int, tuple[GraphQLSchema, InputPlan | None]] = {}  # by schema id; the schema is kept alive with it


def install() -> None:
    """Put `variable_values` in place of graphql-core's own for every executor (once)."""
    graphql_executor.get_variable_values = variable_values  # type: ignore[attr-defined]


def variable_values(schema: GraphQLSchema, var_def_nodes: Collection[VariableDefinitionNode], inputs: dict[str, Any],
                    *args: Any, **kwargs: Any) -> VariableValues | list[GraphQLError]:
    """graphql-core's `get_variable_values`, with a batch of events coerced on the short path."""
    short = event_batch(schema, var_def_nodes, inputs)
    if short is not None:
        return short
    return standard_variable_values(schema, var_def_nodes, inputs, *args, **kwargs)


def event_batch(schema: GraphQLSchema, var_def_nodes: Collection[VariableDefinitionNode],
                inputs: dict[str, Any]) -> VariableValues | None:
    """The one `[EventInput!]!` variable coerced, or None where graphql-core must answer."""
    if len(var_def_nodes) != 1:
        return None
    plan = plan_of(schema)
    if plan is None:
        return None
    (node,) = var_def_nodes
    signature = get_variable_signature(schema, node)
    if isinstance(signature, GraphQLError) or not is_batch_of(signature.type, plan.input_type):
        return None
    value = inputs.get(signature.name, Undefined)
    if type(value) is not list:
        return None
    coerced = []
    for item in value:
        event = coerce_object(plan, item)
        if event is None:
            return None
        coerced.append(event)
    return VariableValues({signature.name: VariableValueSource(signature, value)}, {signature.name: coerced})


def is_batch_of(type_: Any, input_type: GraphQLInputObjectType) -> bool:
    """Whether the type is `[input_type!]!`."""
    return (isinstance(type_, GraphQLNonNull) and isinstance(type_.of_type, GraphQLList)
            and isinstance(type_.of_type.of_type, GraphQLNonNull) and type_.of_type.of_type.of_type is input_type)


def coerce_object(plan: InputPlan, item: Any) -> Any:
    """What graphql-core makes of one object of the input type, or None where it might refuse it."""
    if type(item) is not dict or not plan.names.issuperset(item):
        return None
    coerced: dict[str, Any] = {}
    for field in plan.fields:
        value = item.get(field.name, Undefined)
        if value is Undefined:
            if field.required:
                return None
            if field.default is not Undefined:
                coerced[field.key] = field.default
        elif value is None:
            if field.non_null:
                return None
            coerced[field.key] = None
        elif field.plain_text and type(value) is str:
            coerced[field.key] = value
        else:
            try:
                result = field.coerce(value)
            except Exception:  # graphql-core's path says what is wrong with it
                return None
            if result is Undefined:
                return None
            coerced[field.key] = result
    return plan.input_type.out_type(coerced)


def plan_of(schema: GraphQLSchema) -> InputPlan | None:
    """The plan of the schema's `EventInput`, made once per schema; None if it has none, or one this path
    does not cover (a field that is not a scalar, a oneOf type)."""
    known = plans.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    input_type = schema.type_map.get(EVENT_INPUT)
    plan = None
    if isinstance(input_type, GraphQLInputObjectType) and not input_type.is_one_of:
        fields = []
        for name, field in input_type.fields.items():
            non_null = isinstance(field.type, GraphQLNonNull)
            leaf = field.type.of_type if non_null else field.type
            if not is_leaf_type(leaf):
                break
            required = is_required_input_field(field)
            fields.append(FieldPlan(
                name=name, key=field.out_name or name, required=required, non_null=non_null,
                default=Undefined if required else coerce_default_value(field), coerce=leaf.coerce_input_value,
                plain_text=leaf is GraphQLString or leaf is GraphQLID))
        else:
            plan = InputPlan(input_type, tuple(fields), frozenset(input_type.fields))
    plans[id(schema)] = (schema, plan)
    return plan
