"""Operations for a streaming transport (the WebSocket): `TaskqlSchema.stream`'s body.

The same rules as `execute`: parse, limits and validation (cached), then execution,
every error coded. A subscription yields one result per event, anything else one
result; what fails before execution comes first and alone, as a PreExecutionError,
which the protocol sends as an `error` on the operation's id. Results may hold aware
UTC datetimes, for `web/responses.encode_json` (as `execute_for_encoder`'s do).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, GraphQLError
from graphql.execution import subscribe as graphql_subscribe
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from schema.runtime.documents import request_id_of
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


def _refusal_message(error: Exception) -> str:
    if isinstance(error, CannotGetOperationTypeError):
        return error.as_http_error_reason()
    if isinstance(error, MissingQueryError):
        return "The request has no `query`."
    return str(error)
