"""The one place where exceptions become GraphQL errors with `extensions.code`.

Domain errors (`errors.TaskqlError`) keep their message and extensions. Errors
graphql-core raises about the document get the contract's parse and validation
codes. Anything else is unexpected: it is logged with the request id and a
traceback, and the client sees only a generic message, the code and that id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from errors import TaskqlError

logger = logging.getLogger("taskql.errors")

INTERNAL_MESSAGE = "Internal server error."


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        self._executing = False
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._coded(error) for error in result.errors]

    def on_execute(self) -> Iterator[None]:
        self._executing = True
        yield

    def _coded(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, TaskqlError):
            return _with_extensions(
                error, original.message, {"code": original.code, **original.extensions}
            )
        if isinstance(error, GraphQLSyntaxError):
            return _with_extensions(error, error.message, {"code": "GRAPHQL_PARSE_FAILED"})
        if original is None and error.path is None:
            code = "BAD_USER_INPUT" if self._executing else "GRAPHQL_VALIDATION_FAILED"
            return _with_extensions(
                error, error.message, {"code": code, **(error.extensions or {})}
            )
        if original is None and error.extensions and "code" in error.extensions:
            return error
        request_id = getattr(self.execution_context.context, "request_id", "")
        logger.error(
            "unexpected error in %s (request %s)",
            ".".join(str(key) for key in error.path or ()) or "operation",
            request_id,
            exc_info=original or error,
        )
        return _with_extensions(
            error, INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        )


def _with_extensions(
    error: GraphQLError, message: str, extensions: dict[str, object]
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )
