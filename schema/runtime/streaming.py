"""Operations for a streaming transport (the WebSocket): `TaskqlSchema.stream`'s body.

The same rules as `execute`: parse, limits and validation (cached), then execution,
every error coded. A subscription yields one result per event, anything else one
result; what fails before execution comes first and alone, as a PreExecutionError,
which the protocol sends as an `error` on the operation's id. Results may hold aware
UTC datetimes, for `web/responses.encode_json` (as `execute_for_encoder`'s do).

A schema with extensions (or custom directives) runs every operation inside their
hooks, as Strawberry's `Schema.stream` does: `on_operation` around the whole stream,
`on_parse`, `on_validate`, `on_execute` around the subscription's start, the `resolve`
hooks on every event's fields, `get_results` and `on_stream_result` on every result.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, GraphQLError
from graphql.execution import subscribe as graphql_subscribe
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from schema.runtime.documents import request_id_of
from schema.runtime.hooks import (
    execute_document,
    extensions_for,
    middleware_for,
    prepared_document,
)
from schema.runtime.limits import chosen_operation

if TYPE_CHECKING:
    from schema.runtime.operation import TaskqlSchema


async def operation_results(  # noqa: PLR0917
    schema: TaskqlSchema,
    query: str | None,
    variable_values: dict[str, Any] | None,
    context_value: Any | None,
    root_value: Any | None,
    operation_name: str | None,
    operation_extensions: dict[str, Any] | None,
    allowed_operation_types: Iterable[OperationType],
) -> AsyncGenerator[ExecutionResult, None]:
    if schema.extensions or schema.directives:
        context = ExecutionContext(
            query=query,
            schema=schema,
            allowed_operations=allowed_operation_types,
            context=context_value,
            root_value=root_value,
            variables=variable_values,
            provided_operation_name=operation_name,
            operation_extensions=operation_extensions,
            validation_rules=schema.validation_rules,
        )
        async with aclosing(_results_with_extensions(schema, context)) as results:
            async for result in results:
                yield result
        return
    request_id = request_id_of(context_value)
    try:
        document = schema.checked_document(
            query, variable_values, operation_name, allowed_operation_types
        )
    except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as error:
        document = [GraphQLError(_refusal_message(error))]
    if not isinstance(document, DocumentNode):
        result = schema.coded(None, document, executing=False, request_id=request_id)
        yield PreExecutionError(data=None, errors=result.errors)
        return
    operation = chosen_operation(document, operation_name)
    if operation is None or operation.operation.value != OperationType.SUBSCRIPTION.value:
        yield await schema.execute_for_encoder(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        return
    source: Any
    try:
        source = graphql_subscribe(
            schema._schema,
            document,
            root_value=root_value,
            context_value=context_value,
            variable_values=variable_values,
            operation_name=operation_name,
            executor_class=schema.execution_context_class,
        )
        if isawaitable(source):
            source = await source
    except Exception as error:
        source = ExecutionResult(data=None, errors=[GraphQLError(str(error), original_error=error)])
    if not isinstance(source, AsyncIterator):
        result = schema.coded(None, source.errors or [], executing=True, request_id=request_id)
        yield PreExecutionError(data=None, errors=result.errors)
        return
    try:
        async for event in source:
            yield schema.coded(
                event.data, event.errors or [], executing=True, request_id=request_id
            )
    finally:
        await source.aclose()  # type: ignore[attr-defined]


async def _results_with_extensions(
    schema: TaskqlSchema, context: ExecutionContext
) -> AsyncGenerator[ExecutionResult, None]:
    """`operation_results`, each phase inside the extensions' hooks (Strawberry's order)."""
    extensions, runner = extensions_for(schema, context)
    async with runner.operation():
        phases = _phases(schema, context, runner, extensions)
        async with aclosing(phases):
            async for result in phases:
                async with runner.on_stream_result(result):
                    yield result


async def _phases(
    schema: TaskqlSchema,
    context: ExecutionContext,
    runner: SchemaExtensionsRunner,
    extensions: list[SchemaExtension],
) -> AsyncGenerator[ExecutionResult, None]:
    request_id = request_id_of(context.context)
    try:
        prepared = await prepared_document(schema, context, runner, request_id)
    except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as error:
        refusal = GraphQLError(_refusal_message(error))
        context.result = schema.coded(None, [refusal], executing=False, request_id=request_id)
        prepared = None
    if prepared is None:
        yield await _sent(context, runner, PreExecutionError)
        return
    document, operation_name = prepared
    operation = chosen_operation(document, operation_name)
    assert operation is not None
    if operation.operation.value != OperationType.SUBSCRIPTION.value:
        try:
            async with runner.executing():
                if context.result is None:  # an extension may have answered (a cache)
                    context.result = await execute_document(
                        schema,
                        context,
                        document,
                        operation_name,
                        extensions=extensions,
                        request_id=request_id,
                    )
        except Exception as error:
            context.result = _failure(schema, error, request_id)
        yield await _sent(context, runner, ExecutionResult)
        return
    middleware, executor = middleware_for(schema, document, extensions)
    source: Any
    try:
        async with runner.executing():
            source = graphql_subscribe(
                schema._schema,
                document,
                root_value=context.root_value,
                context_value=context.context,
                variable_values=context.variables,
                operation_name=operation_name,
                executor_class=executor,
                middleware=middleware or None,  # type: ignore[arg-type]
            )
            if isawaitable(source):
                source = await source
    except Exception as error:
        source = ExecutionResult(data=None, errors=[GraphQLError(str(error), original_error=error)])
    if not isinstance(source, AsyncIterator):
        errors = source.errors or []
        context.result = schema.coded(None, errors, executing=True, request_id=request_id)
        yield await _sent(context, runner, PreExecutionError)
        return
    async with aclosing(source):  # type: ignore[type-var]
        async for event in source:
            context.result = schema.coded(
                event.data, event.errors or [], executing=True, request_id=request_id
            )
            yield await _sent(context, runner, ExecutionResult)


async def _sent(
    context: ExecutionContext,
    runner: SchemaExtensionsRunner,
    kind: type[ExecutionResult],
) -> ExecutionResult:
    """context.result as `kind`, with the extensions' results (as Strawberry sets them)."""
    result = context.result
    assert result is not None
    if result.errors:
        context.pre_execution_errors = list(result.errors)
    answer = kind(data=result.data, errors=result.errors)
    answer.extensions = await runner.get_extensions_results(context)
    context.result = answer
    return answer


def _failure(schema: TaskqlSchema, error: Exception, request_id: str) -> ExecutionResult:
    failure = GraphQLError(str(error), original_error=error)
    return schema.coded(None, [failure], executing=True, request_id=request_id)


def _refusal_message(error: Exception) -> str:
    if isinstance(error, CannotGetOperationTypeError):
        return error.as_http_error_reason()
    if isinstance(error, MissingQueryError):
        return "The request has no `query`."
    return str(error)
