"""A schema's extension hooks around an operation: Strawberry's order, taskql's rules.

`TaskqlSchema` runs an operation in line when its schema has no extensions. With
extensions (or custom directives) each phase runs inside its hook, in Strawberry's
order: `on_operation` around `on_parse`, `on_validate` and `on_execute`, then
`get_results`. Extensions with a `resolve` hook are graphql-core middleware, which
must see every field, so such operations run on Strawberry's stock execution context,
as do documents that use a custom directive. `schema.runtime.streaming` runs the same
phases around subscriptions.
"""

from __future__ import annotations

from inspect import isawaitable
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, GraphQLError
from graphql.execution import execute as graphql_execute
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.extensions.directives import DirectivesExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from schema.authentication import token_refusal
from schema.runtime.documents import (
    json_native,
    parse_checked,
    request_id_of,
    run_name,
    uses_custom_directives,
)
from schema.runtime.limits import chosen_operation, document_errors

if TYPE_CHECKING:
    from schema.runtime.operation import TaskqlSchema


async def execute_with_extensions(
    schema: TaskqlSchema, context: ExecutionContext
) -> ExecutionResult:
    """The same rules, each phase inside its extension hooks (Strawberry's order)."""
    extensions, runner = extensions_for(schema, context)
    request_id = request_id_of(context.context)
    try:
        async with runner.operation():
            executed = await _run_phases(schema, context, runner, extensions, request_id)
            if not executed:  # Strawberry collects results inside the operation hook then
                return await with_extension_results(context, runner)
    except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
        raise
    except Exception as error:
        failure = GraphQLError(str(error), original_error=error)
        context.result = schema.coded(None, [failure], executing=True, request_id=request_id)
    return await with_extension_results(context, runner)


def extensions_for(
    schema: TaskqlSchema, context: ExecutionContext
) -> tuple[list[SchemaExtension], SchemaExtensionsRunner]:
    """This operation's own extension instances, and the runner of their hooks."""
    extensions = [
        extension if isinstance(extension, SchemaExtension) else extension()
        for extension in schema.extensions
    ]
    for extension in extensions:
        extension.execution_context = context
    return extensions, SchemaExtensionsRunner(execution_context=context, extensions=extensions)


async def with_extension_results(
    context: ExecutionContext, runner: SchemaExtensionsRunner
) -> ExecutionResult:
    result = context.result
    if not isinstance(result, ExecutionResult):  # an extension's graphql-core result
        assert result is not None
        result = ExecutionResult(data=result.data, errors=result.errors)
    result.extensions = await runner.get_extensions_results(context)
    context.result = result
    return result


async def _run_phases(
    schema: TaskqlSchema,
    context: ExecutionContext,
    runner: SchemaExtensionsRunner,
    extensions: list[SchemaExtension],
    request_id: str,
) -> bool:
    """Parse, validate and execute inside the hooks; the answer is left in context.result.
    False when the operation was answered before execution."""
    prepared = await prepared_document(schema, context, runner, request_id)
    if prepared is None:
        return False
    document, operation_name = prepared
    async with runner.executing():
        if context.result is None:  # an extension may have answered already (a cache)
            context.result = await execute_document(
                schema,
                context,
                document,
                operation_name,
                extensions=extensions,
                request_id=request_id,
            )
    return True


async def prepared_document(
    schema: TaskqlSchema, context: ExecutionContext, runner: SchemaExtensionsRunner, request_id: str
) -> tuple[DocumentNode, str | None] | None:
    """Parse, the operation's type, validation and the token rule, inside the hooks: the
    document and the name it runs under, or None with the answer in context.result."""
    if not context.query and context.graphql_document is None:
        raise MissingQueryError
    async with runner.parsing():
        if context.graphql_document is None:
            assert context.query is not None
            parsed = parse_checked(context.query, schema.limits.max_tokens)
            if isinstance(parsed, DocumentNode):
                context.graphql_document = parsed
            else:
                context.pre_execution_errors = parsed
    if context.graphql_document is None:
        errors = context.pre_execution_errors or []
        context.result = schema.coded(None, errors, executing=False, request_id=request_id)
        return None
    document = context.graphql_document
    operation = chosen_operation(document, context.operation_name)
    if operation is None:
        raise CannotGetOperationTypeError(context.operation_name)
    operation_type = OperationType(operation.operation.value)
    if operation_type not in context.allowed_operations:
        raise InvalidOperationTypeError(operation_type)
    async with runner.validation():
        if context.pre_execution_errors is None:
            context.pre_execution_errors = document_errors(
                schema._schema,
                context.query or "",
                document,
                variables=context.variables,
                limits=schema.limits,
                rules=tuple(context.validation_rules),
            )
    if context.pre_execution_errors:
        context.result = schema.coded(
            None, context.pre_execution_errors, executing=False, request_id=request_id
        )
        return None
    operation_name = run_name(document, context.operation_name)
    refusal = token_refusal(context.context, document, operation_name)
    if refusal is not None:
        context.result = schema.coded(None, [refusal], executing=True, request_id=request_id)
        return None
    return document, operation_name


async def execute_document(
    schema: TaskqlSchema,
    context: ExecutionContext,
    document: DocumentNode,
    operation_name: str | None,
    *,
    extensions: list[SchemaExtension],
    request_id: str,
) -> ExecutionResult:
    middleware, executor = middleware_for(schema, document, extensions)
    result = graphql_execute(
        schema._schema,
        document,
        root_value=context.root_value,
        context_value=context.context,
        variable_values=context.variables,
        operation_name=operation_name,
        middleware=middleware or None,
        executor_class=executor,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        operation_extensions=context.operation_extensions,
    )
    if isawaitable(result):
        result = await result
    data = None if result.data is None else json_native(result.data)
    return schema.coded(data, result.errors or [], executing=True, request_id=request_id)


def middleware_for(
    schema: TaskqlSchema, document: DocumentNode, extensions: list[SchemaExtension]
) -> tuple[list[SchemaExtension], type[Any]]:
    """The extensions with a `resolve` hook (and the directives' one when `document`
    uses a custom directive), and the execution context that runs them."""
    middleware: list[SchemaExtension] = [
        extension for extension in extensions if extension._implements_resolve()
    ]
    if schema.directives and uses_custom_directives(document):
        middleware.append(DirectivesExtension())
    # Middleware must see every field: the fast path would complete some without it.
    if middleware:
        return middleware, StrawberryGraphQLCoreExecutionContext
    return middleware, schema.execution_context_class
