"""Query execution with a short path for plain data.

Most of an account query's fields are plain data: a timeline of 50 events is some 600
fields, each an attribute of a dataclass. graphql-core's path for each (resolve info,
resolver call, completion through every wrapping type) costs many times what reading the
attribute does, so for such a query it, not the database, sets the response time.

For a field that strawberry resolves by `getattr` alone (no resolver, no arguments, no
extensions, no directive left after @include/@skip), this executor reads the attribute
and completes it in one compiled step, nested objects and lists included. What a
resolver returns (the evidence events of a finding, after their DataLoader) is completed
in one compiled step too, when every field selected inside it is plain. Anything else,
or anything unusual on the short path (a null where the schema promises a value, a
scalar that does not serialize, an exception, an awaitable or `Undefined` held as a value,
an exception), takes graphql-core's own path for that field, so errors, their paths and
null propagation are exactly graphql-core's. Our types are plain dataclasses, so reading
their attributes again on that path is harmless.

A request whose extensions wrap resolvers (a `resolve` hook), or whose document uses a
directive other than @include/@skip (@defer and @stream deliver parts later), takes
graphql-core's path throughout.

Plans are shared by the requests of one parsed document on one schema (strawberry's
parser cache hands out the same document for the same query text) unless the document
has directives, whose @include/@skip depend on the variables, or is too long to be
cached (`CACHED_LENGTH`); each request then plans for itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from graphql import (
    DirectiveNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    Undefined,
    is_leaf_type,
)
from graphql.language import Visitor, visit
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from service.api.limits import CACHED_LENGTH

Complete = Callable[[Any], Any]  # a value as its resolver returned it -> the value in the response
Plans = dict[tuple[int, ...], "Complete | None"]  # (kind, type, field nodes) by identity -> plan
FIELD, VALUE = 0, 1  # the kinds of plan: a field of a type, or a resolver's value of a type

SHARED_DOCUMENTS = 256  # as many as strawberry's parser cache keeps (`schema.build_schema`)
shared: OrderedDict[tuple[int, int], tuple[GraphQLSchema, OperationDefinitionNode, frozenset[str], Plans | None]] = (
    OrderedDict())
shared_lock = threading.Lock()


class NotPlain(Exception):
    """Raised on the short path: the standard path must answer this field."""


class PlainDataExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, with plain data fields read and completed directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (kind, type, field group) -> its plan or None; the key's objects are kept
        # alive in the value, so their ids are not reused during the request (as graphql-core does)
        self._short_paths: dict[tuple[int, ...], tuple[Any, Any, Complete | None]] = {}
        # an extension that wraps resolvers (a `resolve` hook) must see every field, and
        # @defer/@stream deliver parts later: both take graphql-core's path throughout.
        # Extensions are made per request, so this is decided per request, before any plan.
        directives, self._shared_plans = plans_of(self.schema, self.operation, self.fragment_definitions)
        self.standard_only = bool(self.middleware_manager and self.middleware_manager.middlewares) or bool(
            directives - {"include", "skip"})

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        short = self.short_path(parent_type, field_details_list)
        if short is not None:
            try:
                return short(source)
            except Exception:  # noqa: S110  # graphql-core's path reports it, with its path and null propagation
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """What a resolver returned, completed on the short path when everything selected in it is plain."""
        if not (isinstance(result, Exception) or self.is_awaitable(result) or result is Undefined):
            plan = self.value_plan(return_type, field_details_list)
            if plan is not None:
                try:
                    return plan(result)
                except Exception:  # noqa: S110  # graphql-core's path reports it, as for a field
                    pass
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def value_plan(self, return_type: GraphQLOutputType, field_details_list: Any) -> Complete | None:
        return self.planned(VALUE, return_type, field_details_list, self.plan_value)

    def short_path(self, parent_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        return self.planned(FIELD, parent_type, field_details_list, self.plan_field)

    def planned(
        self, kind: int, type_: Any, field_details_list: Any, make: Callable[[Any, Any], Complete | None]
    ) -> Complete | None:
        """The plan of a field of `type_` (FIELD) or of a resolver's value of type `type_` (VALUE):
        made once per request, or once per document where plans are shared."""
        if self.standard_only:
            return None
        key = (kind, id(type_), id(field_details_list))
        known = self._short_paths.get(key)
        if known is None:
            plans = self._shared_plans
            if plans is None:
                plan = make(type_, field_details_list)
            else:
                shared_key = (kind, id(type_), *(id(each.node) for each in field_details_list))
                if shared_key not in plans:
                    plans[shared_key] = make(type_, field_details_list)
                plan = plans[shared_key]
            known = (type_, field_details_list, plan)
            self._short_paths[key] = known
        return known[2]

    def plan_field(self, parent_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        if any(each.node.arguments or each.node.directives for each in field_details_list):
            return None
        node = field_details_list[0].node
        name = node.name.value
        if name == "__typename":
            type_name = parent_type.name
            return lambda source: type_name
        field = parent_type.fields.get(name)
        python_name = plain_attribute(field)
        if field is None or python_name is None:
            return None
        complete = self.plan_value(field.type, field_details_list)
        if complete is None:
            return None

        is_awaitable = self.is_awaitable

        def read(source: Any) -> Any:
            value = getattr(source, python_name)
            if value is not None and (isinstance(value, Exception) or is_awaitable(value) or value is Undefined):
                raise NotPlain  # graphql-core raises the one, awaits the other, and nulls Undefined
            return complete(value)

        return read

    def plan_value(self, type_: GraphQLOutputType, field_details_list: Any) -> Complete | None:
        if isinstance(type_, GraphQLNonNull):
            inner = self.plan_value(type_.of_type, field_details_list)
            return None if inner is None else required(inner)
        if isinstance(type_, GraphQLList):
            item = self.plan_value(type_.of_type, field_details_list)
            return None if item is None else listed(item, self.is_awaitable)
        if is_leaf_type(type_):
            assert isinstance(type_, GraphQLLeafType)
            return leaf(type_)
        if isinstance(type_, GraphQLObjectType) and type_.is_type_of is None:
            return self.plan_object(type_, field_details_list)
        return None  # interfaces, unions, types that check what they are given

    def plan_object(self, type_: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        grouped, deferred, _ = self.collect_subfields(type_, field_details_list)
        if deferred:
            return None
        parts = []
        for response_name, details in grouped.items():
            part = self.short_path(type_, details)
            if part is None:
                return None
            parts.append((response_name, part))

        def complete(value: Any) -> Any:
            if value is None:
                return None
            if value is Undefined:
                raise NotPlain
            return {response_name: part(value) for response_name, part in parts}

        return complete


def plain_attribute(field: GraphQLField | None) -> str | None:
    """The attribute a field reads if strawberry resolves it by `getattr` alone, else None."""
    if field is None or field.args or field.resolve is None:
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    if type(definition).get_result is not StrawberryField.get_result:
        return None  # a field class that changes what the attribute gives
    if definition.default_resolver is not getattr or not field.resolve.__name__ == "_get_basic_result":
        return None  # a resolver we do not know the behaviour of
    return definition.python_name


def required(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise NotPlain
        return completed

    return complete


def listed(item: Complete, is_awaitable: Callable[[Any], bool]) -> Complete:
    def checked(each: Any) -> Any:
        if each is not None and (isinstance(each, Exception) or is_awaitable(each) or each is Undefined):
            raise NotPlain  # graphql-core raises the one, awaits the other, and nulls Undefined
        return item(each)

    def complete(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise NotPlain
        return [checked(each) for each in value]

    return complete


def leaf(type_: GraphQLLeafType) -> Complete:
    coerce = type_.coerce_output_value

    def complete(value: Any) -> Any:
        if value is None:
            return None
        if value is Undefined:
            raise NotPlain
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise NotPlain
        return coerced

    return complete


def plans_of(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: dict[str, Any]
) -> tuple[frozenset[str], Plans | None]:
    """The directives this operation uses, and the plans shared by its executions on this schema
    (None if it uses directives: @include/@skip depend on the variables).

    The entry keeps the operation and the schema (so its types) alive: their ids, in the
    keys, cannot be reused by others while it is there. Executions may run in threads.
    """
    key = (id(schema), id(operation))
    with shared_lock:
        known = shared.get(key)
        if known is not None:
            shared.move_to_end(key)
            return known[2], known[3]
        directives = directives_of(operation, fragments)
        plans: Plans | None = None if directives else {}
        if operation.loc is not None and len(operation.loc.source.body) > CACHED_LENGTH:
            return directives, plans  # parsed afresh for each request (service/api/limits.py): kept by no cache
        shared[key] = (schema, operation, directives, plans)
        if len(shared) > SHARED_DOCUMENTS:
            shared.popitem(last=False)
        return directives, plans


class DirectiveFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.names.add(node.name.value)


def directives_of(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> frozenset[str]:
    """The names of the directives used in the operation and its fragments."""
    finder = DirectiveFinder()
    for node in (operation, *fragments.values()):
        visit(node, finder)
    return frozenset(finder.names)
