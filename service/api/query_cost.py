"""How much a GraphQL document asks for: its depth, its aliases and its cost, fragments expanded.

The cost is an upper bound on the number of values in the answer:

- every field costs 1, a scalar or enum leaf (or a list of them) as much as an object;
- a field with a `first` argument (`accounts`, `findings`, `Account.timeline`) multiplies the
  cost of its selection by `first`: the value written in the query, the default page size
  when it is omitted or null, and the largest page size (`CX360_MAX_PAGE_SIZE`) when it is a
  variable. The selection multiplied includes `pageInfo`, a small overcount that keeps a
  fragment's cost the same wherever it is spread;
- a list without `first` multiplies by its size in `LIST_SIZES`: exact where the list is
  bounded (five departments, six health components), `UNBOUNDED` where it can grow;
- introspection lists multiply by the schema's own counts (`types` by the number of types,
  `fields` by the mean number of fields per type, ...), so the introspection query GraphiQL
  sends costs about what its answer holds.

A variable `first` counts as the largest page because validation, and its cache, see the
document without its variables: a document is admitted or refused as a whole, whatever
values it is sent with, so a client learns it from its first request, not in production
the day a variable grows. A client that asks for small pages of a large selection writes
`first` in the query.

Fragments are expanded where they are spread, which is what makes the cost see through a
short document that spreads one large fragment many times; a fragment spread again in the
same selection counts once, as graphql-core executes it once. Each fragment is measured
once (dependencies first, without recursion), so a document of nested spreads costs its
size to measure, not its expansion. Fields merged at execution (the same field twice)
count twice: the bound stays an upper bound.

The depth is counted as strawberry's `QueryDepthLimiter` counts it (the root fields are at
0; introspection fields are left out, `MaxIntrospectionDepthRule` bounds them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from math import ceil

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    get_nullable_type,
    is_list_type,
)

from projections.rules import RULES

UNBOUNDED = 20  # the items counted for a list that grows with an account's history (its findings, open items...)
CEILING = 10**15  # costs are counted up to here: beyond it, a number only says "far too much"

Composite = GraphQLObjectType | GraphQLInterfaceType


@dataclass(frozen=True)
class Measure:
    depth: int
    aliases: int
    cost: int


NOTHING = Measure(0, 0, 0)


def list_sizes(max_batch_events: int) -> dict[tuple[str, str], int]:
    """The items counted for each list field without `first`, by (type, field)."""
    departments = 5
    return {
        ("Account", "departments"): departments,  # one per department that touched the account
        ("Health", "components"): 6,
        ("Health", "trend"): 12,  # weekly points
        ("Query", "departmentMatrix"): departments + departments * (departments - 1) // 2,  # pairs and singles
        ("AccountConnection", "edges"): 1,  # a page: counted by the connection's `first`
        ("EventConnection", "edges"): 1,
        ("FindingConnection", "edges"): 1,
        ("RecordEventsPayload", "rejected"): max_batch_events,  # at least one per faulty event
        ("RecordEventsPayload", "conflicted"): max_batch_events,  # at most one per event
        ("EventConflict", "fields"): UNBOUNDED,
        ("Account", "findings"): UNBOUNDED,
        ("Finding", "evidence"): UNBOUNDED,
        ("DepartmentView", "openItems"): UNBOUNDED,
        ("Satisfaction", "latestNps"): UNBOUNDED,
        ("AgentContext", "openSeriousTickets"): UNBOUNDED,
        ("AgentContext", "donts"): UNBOUNDED,
        ("AgentContext", "thisWeek"): UNBOUNDED,
        ("AgentContext", "openFindings"): UNBOUNDED,
        ("AgentContext", "onIt"): UNBOUNDED,  # one per open finding
        ("FindingHandling", "actions"): UNBOUNDED,  # every action people took on a finding
        ("Query", "handling"): departments + departments * (departments - 1) // 2,  # singles and pairs
        ("DepartmentHandling", "assignees"): UNBOUNDED,  # one per person on a department's open findings
        ("Query", "cxImpact"): len(RULES) + 1,  # any HIGH finding, then each rule
        ("CxImpact", "comparisons"): UNBOUNDED,  # four outcomes, two of them per currency
        ("ContradictionsCostReport", "byRule"): len(RULES),
        ("ContradictionsCostReport", "byDepartmentPair"): departments + departments * (departments - 1) // 2,
        ("ContradictionCost", "departments"): 2,
        ("RevenueTally", "amounts"): UNBOUNDED,  # one per currency
        ("Query", "attribution"): UNBOUNDED,  # one per group and currency
        ("Account", "attribution"): UNBOUNDED,  # one per conversion of the account
        ("AttributedConversion", "credits"): UNBOUNDED,  # one per touch in the conversion's window
    }


def introspection_sizes(schema: GraphQLSchema) -> dict[tuple[str, str], int]:
    """The introspection lists, counted by the schema's own sizes (means where a list is per type or field)."""
    types = list(schema.type_map.values())
    fields = [field for each in types if isinstance(each, Composite) for field in each.fields.values()]
    inputs = sum(len(getattr(each, "fields", {})) for each in types if not isinstance(each, Composite))
    enums = sum(len(getattr(each, "values", {})) for each in types)
    directive_args = sum(len(each.args) for each in schema.directives)

    def mean(total: int, over: int) -> int:
        return max(1, ceil(total / max(over, 1)))

    return {
        ("__Schema", "types"): len(types),
        ("__Schema", "directives"): len(schema.directives),
        ("__Type", "fields"): mean(len(fields), len(types)),
        ("__Type", "inputFields"): mean(inputs, len(types)),
        ("__Type", "enumValues"): mean(enums, len(types)),
        ("__Type", "interfaces"): 1,
        ("__Type", "possibleTypes"): 1,
        ("__Field", "args"): mean(sum(len(field.args) for field in fields), len(fields)),
        ("__Directive", "args"): mean(directive_args, len(schema.directives)),
    }


class Shape:
    """Measures the operations of one document against the schema."""

    def __init__(
        self,
        schema: GraphQLSchema,
        sizes: Mapping[tuple[str, str], int],
        pages: tuple[int, int],
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> None:
        self.schema = schema
        self.sizes = sizes
        self.default_page, self.max_page = pages
        self.fragments: dict[str, Measure] = {}
        for name in dependencies_first(fragments):
            fragment = fragments[name]
            self.fragments[name] = self.selections(fragment.selection_set, self.composite(fragment.type_condition.name.value))

    def composite(self, name: str) -> Composite | None:
        named = self.schema.get_type(name)
        return named if isinstance(named, Composite) else None

    def selections(self, selection_set: SelectionSetNode, parent: Composite | None,
                   spread: set[str] | None = None) -> Measure:
        """The selection's measure: its deepest field, its aliases, its cost."""
        spread = set() if spread is None else spread
        depth = aliases = cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                measure = self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                measure = self.selections(selection.selection_set,
                                          self.composite(condition.name.value) if condition else parent, spread)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
                spread.add(selection.name.value)
                measure = self.fragments.get(selection.name.value, NOTHING)  # NOTHING: unknown, or in a cycle
            else:
                continue
            depth, aliases, cost = max(depth, measure.depth), aliases + measure.aliases, cost + measure.cost
        return Measure(depth, min(aliases, CEILING), min(cost, CEILING))

    def field(self, node: FieldNode, parent: Composite | None) -> Measure:
        aliases = 1 if node.alias else 0
        definition = field_definition(self.schema, parent, node.name.value)
        if node.selection_set is None or definition is None:
            return Measure(0, aliases, 1)
        named = get_nullable_type(definition.type)
        while is_list_type(named):
            named = get_nullable_type(named.of_type)
        inner = self.selections(node.selection_set, named if isinstance(named, Composite) else None)
        depth = 0 if node.name.value.startswith("__") else 1 + inner.depth
        times = self.times(parent, node, definition)
        return Measure(depth, aliases + inner.aliases, min(1 + times * inner.cost, CEILING))

    def times(self, parent: Composite | None, node: FieldNode, definition: GraphQLField) -> int:
        """How many times the field's selection is answered: its page size, or its list's size."""
        if "first" in definition.args:
            return self.page(node)
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        return self.sizes.get((parent.name if parent else "", node.name.value), self.max_page)

    def page(self, node: FieldNode) -> int:
        first = next((argument.value for argument in node.arguments or () if argument.name.value == "first"), None)
        if first is None or isinstance(first, NullValueNode):
            return self.default_page
        if isinstance(first, IntValueNode) and len(first.value) < 10:
            return max(0, min(int(first.value), self.max_page))
        return self.max_page  # a variable (any value up to the largest page), or a value the field refuses


def field_definition(schema: GraphQLSchema, parent: Composite | None, name: str) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is not None and parent is schema.query_type and name in ("__schema", "__type"):
        return SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef
    return parent.fields.get(name) if parent is not None else None


def spreads_in(selection_set: SelectionSetNode) -> Iterator[str]:
    """The names of the fragments spread in a selection, at any depth."""
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
                pending.append(selection.selection_set)


def dependencies_first(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """The fragments in an order where each comes after those it spreads (a cycle is cut where met).

    Iterative, so that a long chain of fragments cannot exhaust the stack."""
    order: list[str] = []
    seen: set[str] = set()
    for root in fragments:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, spreads_in(fragments[root].selection_set))]
        while stack:
            name, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                order.append(name)
            elif child in fragments and child not in seen:
                seen.add(child)
                stack.append((child, spreads_in(fragments[child].selection_set)))
    return order
