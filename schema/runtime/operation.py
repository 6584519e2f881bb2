"""`TaskqlSchema`: one operation through taskql's rules, and through every extension hook.

An operation runs in order: parse (cached, token limit), the operation's type, the
document limits and validation (cached), the bad-token rule, execution, the error
codes. A schema without extensions runs these in line: a Strawberry extension hook
costs every request a context manager and a wrapped generator per phase. A schema
built with `extensions=[...]` (or custom directives) runs the same rules inside
Strawberry's hooks, in Strawberry's order (`on_operation` around `on_parse`,
`on_validate` and `on_execute`, then `get_results`), with the extensions' own
validation rules, documents and results honoured:

- an extension with a `resolve` hook is graphql-core middleware, which must see every
  field, so such requests run on Strawberry's stock execution context;
- a document that uses a custom directive runs with Strawberry's DirectivesExtension
  on the stock context too; other documents of the same schema keep the fast path.

Over WebSocket, `stream` (`schema.runtime.streaming`) runs the same hooks around
subscriptions, and the `resolve` hooks and directives on every event's fields.

Field extensions and `permission_classes` need no switch: the fast path never
completes a field that has them (`schema.runtime.fast_path`), so Strawberry's resolver
wrapper runs them.

`execute` answers JSON-native data, as graphql-core would. The HTTP layer calls
`execute_for_encoder`, whose data may still hold aware UTC datetimes of DateTime
fields that the response's JSON encoder writes exactly as `isoformat()` does
(`web/responses.encode_json`), a tenth of the cost.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from inspect import isawaitable
from typing import Any, NoReturn

import strawberry
from graphql import (
    DocumentNode,
    GraphQLError,
    specified_rules,
)
from graphql.execution import execute as graphql_execute
from graphql.validation import ASTValidationRule
from strawberry.directive import StrawberryDirective
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import (
    DEFAULT_ALLOWED_OPERATION_TYPES,
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from schema.authentication import token_refusal
from schema.runtime.documents import (
    json_native,
    parse_checked,
    request_id_of,
    run_name,
)
from schema.runtime.errors import ErrorCodes
from schema.runtime.fast_path import PlainFieldExecutionContext
from schema.runtime.hooks import execute_with_extensions
from schema.runtime.limits import (
    Limits,
    NoIntrospectionRule,
    chosen_operation,
    document_errors,
)
from schema.runtime.prebuilt import answering_json
from schema.runtime.streaming import operation_results

ExtensionFactory = type[SchemaExtension] | Any
"""A SchemaExtension class or a callable returning one, as `strawberry.Schema` takes."""


class TaskqlSchema(strawberry.Schema):
    """The executable schema; `execute` applies taskql's rules to every operation."""

    def __init__(
        self,
        *,
        query: type,
        mutation: type | None = None,
        subscription: type | None = None,
        types: Iterable[type] = (),
        limits: Limits,
        error_codes: ErrorCodes,
        introspection: bool,
        extensions: Iterable[ExtensionFactory] = (),
        directives: Iterable[StrawberryDirective[Any]] = (),
    ) -> None:
        super().__init__(
            query=query,
            mutation=mutation,
            subscription=subscription,
            types=list(types),
            extensions=list(extensions),
            directives=list(directives),
            execution_context_class=PlainFieldExecutionContext,
        )
        self.limits = limits
        self.error_codes = error_codes
        rules: tuple[type[ASTValidationRule], ...] = (
            *specified_rules,
            MaybeNullValidationRule,
            OneOfInputValidationRule,
        )
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
        """Run one operation; its data is JSON-native. Raises only for requests that name
        no runnable operation: MissingQueryError, CannotGetOperationTypeError,
        InvalidOperationTypeError."""
        result = await self.execute_for_encoder(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        if result.data is not None:
            result.data = json_native(result.data)
        return result

    async def execute_for_encoder(  # noqa: PLR0917
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """`execute` for `web/responses.encode_json`: data may hold aware UTC datetimes."""
        allowed = allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES
        if self.extensions or self.directives:
            return await execute_with_extensions(
                self,
                ExecutionContext(
                    query=query,
                    schema=self,
                    allowed_operations=allowed,
                    context=context_value,
                    root_value=root_value,
                    variables=variable_values,
                    provided_operation_name=operation_name,
                    operation_extensions=operation_extensions,
                    validation_rules=self.validation_rules,
                ),
            )
        request_id = request_id_of(context_value)
        document = self._checked_document(
            query, self.validation_rules, variable_values, operation_name, allowed
        )
        if not isinstance(document, DocumentNode):
            return self._result(None, document, executing=False, request_id=request_id)
        operation_name = run_name(document, operation_name)
        refusal = token_refusal(context_value, document, operation_name)
        if refusal is not None:
            return self._result(None, [refusal], executing=True, request_id=request_id)
        try:
            # Nothing but this execution context and the encoders sees the data: resolvers
            # may answer PrebuiltJSON (schema.runtime.prebuilt).
            with answering_json():
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
        """Any operation for a streaming transport (WebSocket), by the same rules
        (`schema.runtime.streaming`): a subscription yields one result per event."""
        return operation_results(
            self,
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types or frozenset(OperationType),
        )

    def checked_document(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType],
    ) -> DocumentNode | list[GraphQLError]:
        """`_checked_document` with this schema's validation rules."""
        return self._checked_document(
            query, self.validation_rules, variable_values, operation_name, allowed_operation_types
        )

    def coded(
        self,
        data: dict[str, Any] | None,
        errors: list[GraphQLError],
        *,
        executing: bool,
        request_id: str,
    ) -> ExecutionResult:
        """`_result`: the result with every error coded."""
        return self._result(data, errors, executing=executing, request_id=request_id)

    def _checked_document(
        self,
        query: str | None,
        rules: tuple[type[ASTValidationRule], ...],
        variable_values: dict[str, Any] | None,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType],
    ) -> DocumentNode | list[GraphQLError]:
        """The parsed document when it may run, or why not (errors found before execution)."""
        if not query:
            raise MissingQueryError
        parsed = parse_checked(query, self.limits.max_tokens)
        if not isinstance(parsed, DocumentNode):
            return parsed
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
            rules=rules,
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
