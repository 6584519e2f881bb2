"""Domain errors: one exception type per error code of the API contract.

Raised anywhere below the schema; `schema/runtime/errors.py` is the one place that turns
them into GraphQL errors with `extensions.code`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TaskqlError(Exception):
    code: ClassVar[str]

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(TaskqlError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Authentication required.", *, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class Forbidden(TaskqlError):
    code = "FORBIDDEN"


class NotFound(TaskqlError):
    code = "NOT_FOUND"

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class BadUserInput(TaskqlError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str, reason: str | None = None) -> None:
        if reason is None:
            super().__init__(message, field=field)
        else:
            super().__init__(message, field=field, reason=reason)
        self.field = field


class Conflict(TaskqlError):
    code = "CONFLICT"


class RateLimited(TaskqlError):
    code = "RATE_LIMITED"

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many attempts; try again later.", retryAfter=retry_after)
        self.retry_after = retry_after


class ServiceUnavailable(TaskqlError):
    code = "SERVICE_UNAVAILABLE"

    def __init__(self, retry_after: int = 5) -> None:
        super().__init__("The service is temporarily unavailable.", retryAfter=retry_after)
        self.retry_after = retry_after


class PersistedQueryNotFound(TaskqlError):
    """A hash the server does not hold: Apollo Client and urql then send the full query.

    Both match this exact message, so it is the protocol's, not ours to reword.
    """

    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")
