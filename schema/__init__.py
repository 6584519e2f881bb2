"""The GraphQL schema: the root types assembled from `resolvers/`, and how an operation runs.

Root types live beside the code that resolves them (`resolvers/auth.py`,
`resolvers/tasks.py`); this module assembles them, and `TaskqlSchema.execute` runs
one operation through taskql's rules in order: parse (cached, token limit), the
operation's type, the document limits and validation (cached), the bad-token rule,
execution, and the error codes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from inspect import isawaitable
from typing import Any, NoReturn

import strawberry
from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, specified_rules
from graphql.execution import execute as graphql_execute
from graphql.execution import subscribe as graphql_subscribe
from graphql.validation import ASTValidationRule
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from resolvers.auth import AuthMutation, AuthQuery
from resolvers.subscriptions import TaskSubscription
from resolvers.tasks import TaskMutation, TaskQuery
from schema.authentication import token_refusal
from schema.errors import ErrorCodes
from schema.execution import PlainFieldExecutionContext
from schema.limits import (
    LimitExceeded,
    Limits,
    NoIntrospectionRule,
    chosen_operation,
    document_errors,
    parse_document,
)
from schema.node import Node
from settings import Settings


@strawberry.type
class Query(AuthQuery, TaskQuery):
    pass


@strawberry.type
class Mutation(AuthMutation, TaskMutation):
    pass


@strawberry.type
class Subscription(TaskSubscription):
    pass


ALL_OPERATION_TYPES = frozenset(OperationType)


class TaskqlSchema(strawberry.Schema):
    """The executable schema; `execute` applies taskql's rules to every operation.

    The rules run in line rather than as Strawberry schema extensions: an extension
    hook costs every request a context manager (and a wrapped generator) per phase,
    a tenth of W1's CPU when they were hooks.
    """

    def __init__(
        self,
        *,
        limits: Limits,
        error_codes: ErrorCodes,
        introspection: bool,
    ) -> None:
        super().__init__(
            query=Query,
            mutation=Mutation,
            subscription=Subscription,
            types=[Node],
            execution_context_class=PlainFieldExecutionContext,
        )
        self.limits = limits
        self.error_codes = error_codes
        rules: tuple[type[ASTValidationRule], ...] = tuple(specified_rules)
        self.validation_rules = rules if introspection else (*rules, NoIntrospectionRule)

    async def execute(  # noqa: PLR0917
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Run one operation. Raises only for requests that name no runnable operation:
        MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError."""
        request_id = str(getattr(context_value, "request_id", ""))
        document = self._checked_document(
            query,
            variable_values,
            operation_name,
            allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES,
        )
        if not isinstance(document, DocumentNode):
            return self._result(None, document, executing=False, request_id=request_id)
        if operation_name is None:  # the first operation runs (see chosen_operation)
            first = chosen_operation(document, None)
            operation_name = first.name.value if first and first.name else None
        refusal = token_refusal(context_value, document, operation_name)
        if refusal is not None:
            return self._result(None, [refusal], executing=True, request_id=request_id)
        try:
            result = graphql_execute(
                self._schema,
                document,
                root_value=root_value,
                context_value=context_value,
                variable_values=variable_values,
                operation_name=operation_name,
                executor_class=self.execution_context_class,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                operation_extensions=operation_extensions,
            )
            if isawaitable(result):
                result = await result
        except Exception as error:
            failure = GraphQLError(str(error), original_error=error)
            return self._result(None, [failure], executing=True, request_id=request_id)
        return self._result(result.data, result.errors or [], executing=True, request_id=request_id)

    async def stream(  # noqa: PLR0917
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> AsyncGenerator[ExecutionResult, None]:
        """Run any operation for a streaming transport (WebSocket), by the same rules as
        `execute`: a subscription yields one result per event, anything else one result.
        What fails before execution comes first and alone, as a PreExecutionError."""
        return self._operation_results(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types or ALL_OPERATION_TYPES,
        )

    async def _operation_results(  # noqa: PLR0917
        self,
        query: str | None,
        variable_values: dict[str, Any] | None,
        context_value: Any | None,
        root_value: Any | None,
        operation_name: str | None,
        operation_extensions: dict[str, Any] | None,
        allowed_operation_types: Iterable[OperationType],
    ) -> AsyncGenerator[ExecutionResult, None]:
        request_id = str(getattr(context_value, "request_id", ""))
        try:
            document = self._checked_document(
                query, variable_values, operation_name, allowed_operation_types
            )
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as error:
            document = [GraphQLError(_refusal_message(error))]
        if not isinstance(document, DocumentNode):
            result = self._result(None, document, executing=False, request_id=request_id)
            yield PreExecutionError(data=None, errors=result.errors)
            return
        operation = chosen_operation(document, operation_name)
        if operation is None or operation.operation.value != OperationType.SUBSCRIPTION.value:
            yield await self.execute(
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
                self._schema,
                document,
                root_value=root_value,
                context_value=context_value,
                variable_values=variable_values,
                operation_name=operation_name,
                executor_class=self.execution_context_class,
            )
            if isawaitable(source):
                source = await source
        except Exception as error:
            source = ExecutionResult(
                data=None, errors=[GraphQLError(str(error), original_error=error)]
            )
        if not isinstance(source, AsyncIterator):
            result = self._result(None, source.errors or [], executing=True, request_id=request_id)
            yield PreExecutionError(data=None, errors=result.errors)
            return
        try:
            async for event in source:
                yield self._result(
                    event.data, event.errors or [], executing=True, request_id=request_id
                )
        finally:
            await source.aclose()  # type: ignore[attr-defined]

    def _checked_document(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType],
    ) -> DocumentNode | list[GraphQLError]:
        """The parsed document when it may run, or why not (errors found before execution)."""
        if not query:
            raise MissingQueryError
        parsed = parse_document(query, self.limits.max_tokens)
        if isinstance(parsed, LimitExceeded):
            return [parsed.error()]
        if isinstance(parsed, GraphQLSyntaxError):
            return [parsed]
        operation = chosen_operation(parsed, operation_name)
        if operation is None:
            raise CannotGetOperationTypeError(operation_name)
        operation_type = OperationType(operation.operation.value)
        if operation_type not in allowed_operation_types:
            raise InvalidOperationTypeError(operation_type)
        errors = document_errors(
            self._schema,
            query,
            parsed,
            variables=variable_values,
            limits=self.limits,
            rules=self.validation_rules,
        )
        return errors or parsed

    def _result(
        self,
        data: dict[str, Any] | None,
        errors: list[GraphQLError],
        *,
        executing: bool,
        request_id: str,
    ) -> ExecutionResult:
        """The result with every error coded (see ErrorCodes)."""
        coded = [
            self.error_codes.coded(error, executing=executing, request_id=request_id)
            for error in errors
        ]
        return ExecutionResult(data=data, errors=coded or None)

    def execute_sync(self, *_: Any, **__: Any) -> NoReturn:
        raise NotImplementedError("taskql runs operations with `await schema.execute(...)`")


def _refusal_message(error: Exception) -> str:
    if isinstance(error, CannotGetOperationTypeError):
        return error.as_http_error_reason()
    if isinstance(error, MissingQueryError):
        return "The request has no `query`."
    return str(error)


def build_schema(settings: Settings) -> TaskqlSchema:
    """The executable schema, with the limits and error handling the settings ask for."""
    return TaskqlSchema(
        limits=Limits(
            max_tokens=settings.max_tokens,
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_directives=settings.max_directives,
            max_complexity=settings.max_complexity,
            default_page_size=settings.default_page_size,
        ),
        error_codes=ErrorCodes(hide_suggestions=settings.is_production),
        introspection=not settings.is_production,
    )


def export_sdl() -> str:
    """The SDL that `schema.graphql` holds: the API contract, independent of settings."""
    schema = strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, types=[Node]
    )
    return schema.as_str() + "\n"
