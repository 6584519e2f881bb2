"""Every internal of Strawberry, graphql-core, SQLAlchemy and asyncpg taskql relies on.

taskql's runtime (`schema/runtime`, `schema/runtime/fast_path.py`, `db/driver.py`) goes
beneath these libraries' public APIs for speed. pyproject.toml pins the minor
versions tested; an upgrade past them that removes or renames one of these names
fails here, each test naming what is gone, before anything subtler breaks.
"""

from __future__ import annotations

import importlib
import inspect

import pytest
import strawberry
from graphql import GraphQLSchema
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from db.models import Task
from schema import Query

# (module, name): imported from outside the libraries' documented surface.
INTERNAL_IMPORTS = [
    ("graphql.execution.collect_fields", "FieldDetailsList"),
    ("graphql.execution.collect_fields", "GroupedFieldSet"),
    ("graphql.execution.values", "get_argument_values"),
    ("graphql.execution.values", "VariableValues"),
    ("graphql.language.parser", "Parser"),
    ("graphql.pyutils", "gather_with_cancel"),
    ("graphql.pyutils", "Path"),
    ("graphql.pyutils", "AwaitableOrValue"),
    ("strawberry.execution", "optimized_is_awaitable"),
    ("strawberry.extensions.directives", "SPECIFIED_DIRECTIVES"),
    ("strawberry.extensions.directives", "DirectivesExtension"),
    ("strawberry.extensions.runner", "SchemaExtensionsRunner"),
    ("strawberry.schema.exceptions", "CannotGetOperationTypeError"),
    ("strawberry.schema.exceptions", "InvalidOperationTypeError"),
    ("strawberry.schema.schema", "DEFAULT_ALLOWED_OPERATION_TYPES"),
    ("strawberry.schema.schema", "StrawberryGraphQLCoreExecutionContext"),
    ("strawberry.schema.schema_converter", "GraphQLCoreConverter"),
    ("strawberry.schema.types.base_scalars", "isoformat"),
    ("strawberry.schema.validation_rules.maybe_null", "MaybeNullValidationRule"),
    ("strawberry.schema.validation_rules.one_of", "OneOfInputValidationRule"),
    ("strawberry.types.field", "StrawberryField"),
    ("strawberry.types.graphql", "OperationType"),
    ("strawberry.types", "ExecutionContext"),
    ("strawberry.directive", "StrawberryDirective"),
    ("sqlalchemy.util.concurrency", "greenlet_spawn"),
]


@pytest.mark.parametrize(("module", "name"), INTERNAL_IMPORTS, ids=str)
def test_internal_import_exists(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


def _execution_context_class() -> type:
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext  # noqa: PLC0415

    return StrawberryGraphQLCoreExecutionContext


# Methods of graphql-core's ExecutionContext that schema/runtime/fast_path.py overrides or calls,
# with the parameters it passes.
EXECUTOR_METHODS = {
    "execute_fields": ["parent_type", "source_value", "path", "grouped_field_set"],
    "execute_field": ["parent_type", "source", "field_details_list", "path"],
    "collect_subfields": ["return_type", "field_details_list"],
    "settle_in_background": [],
    "build_resolve_info": ["field_def", "field_nodes", "parent_type", "path"],
    "complete_object_value": [
        "return_type",
        "field_details_list",
        "info",
        "path",
        "result",
        "position_context",
    ],
}


@pytest.mark.parametrize("method", EXECUTOR_METHODS)
def test_executor_method_exists_with_its_parameters(method: str) -> None:
    function = getattr(_execution_context_class(), method, None)
    assert function is not None, f"ExecutionContext.{method} is gone"
    parameters = list(inspect.signature(function).parameters)
    for parameter in EXECUTOR_METHODS[method]:
        assert parameter in parameters, f"ExecutionContext.{method}({parameter}) is gone"


def test_executor_attributes_exist() -> None:
    from graphql import parse  # noqa: PLC0415

    schema = strawberry.Schema(query=Query)
    context = _execution_context_class().build(
        schema._schema, parse("{ __typename }"), operation_extensions=None
    )
    for name in (
        "middleware_manager",
        "operation",
        "fragment_definitions",
        "is_awaitable",
        "variable_values",
        "schema",
    ):
        assert hasattr(context, name), f"ExecutionContext.{name} is gone"


def test_strawberry_schema_internals_exist() -> None:
    schema = strawberry.Schema(query=Query)
    assert isinstance(schema._schema, GraphQLSchema), "Schema._schema is gone"
    assert schema._schema._strawberry_schema is schema, "GraphQLSchema._strawberry_schema is gone"  # type: ignore[attr-defined]
    assert schema.config.default_resolver is getattr, "StrawberryConfig.default_resolver is gone"
    assert callable(schema.get_extensions), "Schema.get_extensions is gone"
    from strawberry.extensions import SchemaExtension  # noqa: PLC0415

    assert callable(SchemaExtension._implements_resolve), "SchemaExtension._implements_resolve"
    backref = importlib.import_module(
        "strawberry.schema.schema_converter"
    ).GraphQLCoreConverter.DEFINITION_BACKREF
    field = schema._schema.query_type.fields["tasks"]  # type: ignore[union-attr]
    definition = field.extensions[backref]
    for name in ("base_resolver", "extensions", "metadata", "python_name"):
        assert hasattr(definition, name), f"StrawberryField.{name} is gone"
    resolver = definition.base_resolver
    for name in (
        "self_parameter",
        "arguments",
        "info_parameter",
        "root_parameter",
        "parent_parameter",
        "is_async",
        "wrapped_func",
    ):
        assert hasattr(resolver, name), f"StrawberryResolver.{name} is gone"


def test_sqlalchemy_compiled_statement_internals_exist() -> None:
    """db/driver.py runs SQLAlchemy's compiled SQL on asyncpg itself."""
    statement = select(Task.id).where(Task.owner_id == bindparam("owner_id")).limit(1)
    compiled = statement.compile(dialect=PGDialect_asyncpg())
    assert compiled.positiontup is not None, "SQLCompiler.positiontup is gone"
    assert hasattr(compiled, "post_compile_params"), "SQLCompiler.post_compile_params is gone"
    bind = compiled.binds["owner_id"]
    for name in ("required", "effective_value", "type"):
        assert hasattr(bind, name), f"BindParameter.{name} is gone"


def test_strawberry_extension_and_info_internals_exist() -> None:
    """schema/runtime/operation.py drives the hooks itself; schema/relations.py reads the
    raw resolve info and coerces arguments with graphql-core's own function."""
    from graphql.execution.values import VariableValues  # noqa: PLC0415
    from strawberry.types import ExecutionContext  # noqa: PLC0415

    fields = ExecutionContext.__dataclass_fields__
    for name in ("validation_rules", "graphql_document", "pre_execution_errors", "result"):
        assert name in fields, f"ExecutionContext.{name} is gone"
    assert VariableValues._fields == ("sources", "coerced"), "VariableValues changed"
    schema = strawberry.Schema(query=Query)
    for name in ("extensions", "directives"):
        assert hasattr(schema, name), f"Schema.{name} is gone"
    assert callable(schema.config.name_converter.from_argument), "NameConverter.from_argument"
    info_class = importlib.import_module("strawberry.types.info").Info
    assert "_raw_info" in inspect.signature(info_class).parameters, "Info._raw_info is gone"
    backref = importlib.import_module(
        "strawberry.schema.schema_converter"
    ).GraphQLCoreConverter.DEFINITION_BACKREF
    definition = schema._schema.query_type.fields["tasks"].extensions[backref]  # type: ignore[union-attr]
    for argument in definition.arguments:
        assert hasattr(argument, "python_name"), "StrawberryArgument.python_name is gone"


def test_dataloader_methods_exist() -> None:
    """db/loaders.py primes loaders with what a page read along (prime), and
    schema/relations.py answers from their cache at once (load returns a Future)."""
    from aiodataloader import DataLoader  # noqa: PLC0415

    for name in ("prime", "load"):
        assert callable(getattr(DataLoader, name, None)), f"DataLoader.{name} is gone"


def test_sqlalchemy_error_handling_internals_exist() -> None:
    """db/driver.py reports a driver failure through SQLAlchemy's own error handling."""
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection  # noqa: PLC0415
    from sqlalchemy.engine import Connection  # noqa: PLC0415

    assert callable(getattr(AsyncAdapt_asyncpg_connection, "_handle_exception", None)), (
        "AsyncAdapt_asyncpg_connection._handle_exception is gone"
    )
    parameters = list(inspect.signature(Connection._handle_dbapi_exception).parameters)
    assert parameters[:6] == ["self", "e", "statement", "parameters", "cursor", "context"], (
        "Connection._handle_dbapi_exception changed"
    )


def test_sqlalchemy_connection_holds_its_pooled_connection() -> None:
    """db/driver.py reads the pooled connection a Connection holds without a greenlet hop."""
    from sqlalchemy import create_engine  # noqa: PLC0415

    with create_engine("sqlite://").connect() as connection:
        held = getattr(connection, "_dbapi_connection", None)
        assert held is not None, "Connection._dbapi_connection is gone"
        assert held is connection.connection, "Connection._dbapi_connection changed meaning"
        assert held.is_valid, "PoolProxiedConnection.is_valid is gone"
