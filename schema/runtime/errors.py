"""The one place where exceptions become GraphQL errors with `extensions.code`.

Domain errors (`errors.TaskqlError`) keep their message and extensions. Errors
graphql-core raises about the document get the contract's parse and validation
codes. Anything else is unexpected: it is logged with the request id and a
traceback, and the client sees only a generic message, the code and that id.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, VariableDefinitionNode
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from strawberry.exceptions import StrawberryGraphQLError

from db.engine import lost_connection
from errors import ServiceUnavailable, TaskqlError

logger = logging.getLogger("taskql.errors")

INTERNAL_MESSAGE = "Internal server error."
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
_VARIABLE_PATH = re.compile(
    r"^Variable '\$(?P<name>\w+)' has invalid value(?: at (?P<path>(?:\.\w+|\[\d+\])+))?:"
)


_LOGGED_MESSAGE_LENGTH = 200


def database_unavailable(error: BaseException | None) -> bool:
    """True for a database that is down, unreachable, restarting, or a pool that is exhausted.

    Other driver errors (a statement with too many arguments, a missing table) are
    bugs or bad requests, not an outage, so they stay unexpected (500, masked).
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        # An exhausted pool, or a failure of the connection itself, not of a statement.
        if isinstance(error, PoolTimeoutError) or lost_connection(error):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__ or error.__context__
    return False


def describe_failure(error: BaseException) -> str:
    """The exception's class and the first line of its driver message, for the server log.

    SQLAlchemy's own message appends the SQL and its parameters, so the driver's
    original message is used instead, and cut short.
    """
    original = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(original).strip().splitlines()
    message = lines[0][:_LOGGED_MESSAGE_LENGTH] if lines else ""
    name = type(error).__name__
    if original is not error:
        name = f"{name} ({type(original).__module__}.{type(original).__name__})"
    return f"{name}: {message}"


def as_domain_error(error: BaseException | None) -> TaskqlError | None:
    """The domain error an exception stands for, or None when it is unexpected."""
    if isinstance(error, TaskqlError):
        return error
    if database_unavailable(error):
        return ServiceUnavailable()
    return None


def format_domain_error(error: TaskqlError) -> dict[str, Any]:
    """A request-level error (one that never reached the schema), as the client sees it."""
    return {"message": error.message, "extensions": {"code": error.code, **error.extensions}}


def format_unexpected_error(request_id: str) -> dict[str, Any]:
    return {
        "message": INTERNAL_MESSAGE,
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    }


@dataclass(frozen=True, slots=True)
class ErrorCodes:
    """Codes every error; `hide_suggestions` drops graphql-core's "Did you mean" hints."""

    hide_suggestions: bool = False

    def coded(self, error: GraphQLError, *, executing: bool, request_id: str) -> GraphQLError:
        """`error` with its code. Errors about the document itself are coded by when they
        arose: validation (before execution) or variable coercion (`executing`)."""
        original = error.original_error
        domain_error = as_domain_error(original)
        if domain_error is not None:
            if domain_error is not original:
                logger.warning(
                    "database unavailable (request %s): %s",
                    request_id,
                    describe_failure(error.original_error or error),
                )
            return _with_extensions(
                error, domain_error.message, format_domain_error(domain_error)["extensions"]
            )
        if isinstance(error, GraphQLSyntaxError):
            return _with_extensions(error, error.message, {"code": "GRAPHQL_PARSE_FAILED"})
        # graphql-core's own errors (variable coercion wraps one in another) carry no path.
        if (original is None or isinstance(original, GraphQLError)) and error.path is None:
            code = "BAD_USER_INPUT" if executing else "GRAPHQL_VALIDATION_FAILED"
            message = _SUGGESTION.sub("", error.message) if self.hide_suggestions else error.message
            extensions: dict[str, object] = {"code": code, **(error.extensions or {})}
            field = _coerced_variable_field(error)
            if field is not None:
                extensions["field"] = field
            return _with_extensions(error, message, extensions)
        if original is None and error.extensions and "code" in error.extensions:
            return error
        if type(original) is StrawberryGraphQLError:
            # A Strawberry permission class's refusal (its default error_class): meant for
            # the client, as FORBIDDEN with the permission's message and extensions.
            refusal_extensions = {"code": "FORBIDDEN", **(original.extensions or {})}
            return _with_extensions(error, original.message, refusal_extensions)
        logger.error(
            "unexpected error in %s (request %s): %s",
            ".".join(str(key) for key in error.path or ()) or "operation",
            request_id,
            describe_failure(original or error),
            exc_info=original or error,
        )
        return _with_extensions(
            error, INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        )


def _coerced_variable_field(error: GraphQLError) -> str | None:
    """`input.tags[1]` for a variable that did not coerce: its name and the path inside it.

    graphql-core names the path only in the message ("Variable '$input' has
    invalid value at .tags[1]: ..."), so it is read from there.
    """
    node = error.nodes[0] if error.nodes else None
    if not isinstance(node, VariableDefinitionNode):
        return None
    name = node.variable.name.value
    path = _VARIABLE_PATH.match(error.message)
    if path is None or path["name"] != name:
        return name
    return name + (path["path"] or "")


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
