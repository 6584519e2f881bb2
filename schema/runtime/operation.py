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
from strawberry.extensions.directives import DirectivesExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import (
    DEFAULT_ALLOWED_OPERATION_TYPES,
    StrawberryGraphQLCoreExecutionContext,
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
    uses_custom_directives,
)
from schema.runtime.errors import ErrorCodes
from schema.runtime.fast_path import PlainFieldExecutionContext
from schema.runtime.limits import (
    Limits,
    NoIntrospectionRule,
    chosen_operation,
    document_errors,
)
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
            return await self._execute_with_extensions(
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
                )
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

    async def _execute_with_extensions(self, context: ExecutionContext) -> ExecutionResult:
        """The same rules, each phase inside its extension hooks (Strawberry's order)."""
        extensions, runner = self.extensions_for(context)
        request_id = request_id_of(context.context)
        try:
            async with runner.operation():
                executed = await self._run_phases(context, runner, extensions, request_id)
                if not executed:  # Strawberry collects results inside the operation hook then
                    return await self.with_extension_results(context, runner)
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            raise
        except Exception as error:
            failure = GraphQLError(str(error), original_error=error)
            context.result = self._result(None, [failure], executing=True, request_id=request_id)
        return await self.with_extension_results(context, runner)

    def extensions_for(
        self, context: ExecutionContext
    ) -> tuple[list[SchemaExtension], SchemaExtensionsRunner]:
        """This operation's own extension instances, and the runner of their hooks."""
        extensions = [
            extension if isinstance(extension, SchemaExtension) else extension()
            for extension in self.extensions
        ]
        for extension in extensions:
            extension.execution_context = context
        return extensions, SchemaExtensionsRunner(execution_context=context, extensions=extensions)

    @staticmethod
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
        self,
        context: ExecutionContext,
        runner: SchemaExtensionsRunner,
        extensions: list[SchemaExtension],
        request_id: str,
    ) -> bool:
        """Parse, validate and execute inside the hooks; the answer is left in context.result.
        False when the operation was answered before execution."""
        prepared = await self.prepared_document(context, runner, request_id)
        if prepared is None:
            return False
        document, operation_name = prepared
        async with runner.executing():
            if context.result is None:  # an extension may have answered already (a cache)
                context.result = await self.execute_document(
                    context, document, operation_name, extensions, request_id
                )
        return True

    async def prepared_document(
        self, context: ExecutionContext, runner: SchemaExtensionsRunner, request_id: str
    ) -> tuple[DocumentNode, str | None] | None:
        """Parse, the operation's type, validation and the token rule, inside the hooks: the
        document and the name it runs under, or None with the answer in context.result."""
        if not context.query and context.graphql_document is None:
            raise MissingQueryError
        async with runner.parsing():
            if context.graphql_document is None:
                assert context.query is not None
                parsed = parse_checked(context.query, self.limits.max_tokens)
                if isinstance(parsed, DocumentNode):
                    context.graphql_document = parsed
                else:
                    context.pre_execution_errors = parsed
        if context.graphql_document is None:
            errors = context.pre_execution_errors or []
            context.result = self._result(None, errors, executing=False, request_id=request_id)
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
                    self._schema,
                    context.query or "",
                    document,
                    variables=context.variables,
                    limits=self.limits,
                    rules=tuple(context.validation_rules),
                )
        if context.pre_execution_errors:
            context.result = self._result(
                None, context.pre_execution_errors, executing=False, request_id=request_id
            )
            return None
        operation_name = run_name(document, context.operation_name)
        refusal = token_refusal(context.context, document, operation_name)
        if refusal is not None:
            context.result = self._result(None, [refusal], executing=True, request_id=request_id)
            return None
        return document, operation_name

    async def execute_document(
        self,
        context: ExecutionContext,
        document: DocumentNode,
        operation_name: str | None,
        extensions: list[SchemaExtension],
        request_id: str,
    ) -> ExecutionResult:
        middleware, executor = self.middleware_for(document, extensions)
        result = graphql_execute(
            self._schema,
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
        return self._result(data, result.errors or [], executing=True, request_id=request_id)

    def middleware_for(
        self, document: DocumentNode, extensions: list[SchemaExtension]
    ) -> tuple[list[SchemaExtension], type[Any]]:
        """The extensions with a `resolve` hook (and the directives' one when `document`
        uses a custom directive), and the execution context that runs them."""
        middleware: list[SchemaExtension] = [
            extension for extension in extensions if extension._implements_resolve()
        ]
        if self.directives and uses_custom_directives(document):
            middleware.append(DirectivesExtension())
        # Middleware must see every field: the fast path would complete some without it.
        if middleware:
            return middleware, StrawberryGraphQLCoreExecutionContext
        return middleware, self.execution_context_class

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
