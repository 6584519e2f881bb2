"""What each operation of a request produced, and the one HTTP answer they make together.

How the status is chosen (README "HTTP statuses"):

- An operation that committed, or whose COMMIT went out without a reply, makes the
  answer 200, whatever else happened: a 503 would invite a retry that does the work
  twice, a 4xx or 500 would tell the client that nothing happened. Its
  SERVICE_UNAVAILABLE errors (for what failed after the commit) carry
  `outcome: "committed"` or `outcome: "unknown"` and no `retryAfter`.
- Otherwise a single operation refused for an unavailable database is 503 with
  `Retry-After`; a batch is 503 only when none of its operations ran to an answer
  without SERVICE_UNAVAILABLE (a client retries the whole batch, so one that already
  has answers for some operations gets 200, each unavailable operation saying so with
  its own `retryAfter`).
- Otherwise a status an operation set (401 for a bad token, 500 for a failure outside
  the schema) stands; a single operation that failed before execution is 400 for a
  client that accepts `application/graphql-response+json`. A batch whose operations were
  refused one by one (a subscription, an unknown `operationName`) is still 200: each
  refusal is that operation's own answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from db.commits import CommitRecord
from errors import BadUserInput, PersistedQueryNotFound, ServiceUnavailable, TaskqlError
from schema.runtime.errors import (
    as_domain_error,
    describe_failure,
    format_domain_error,
    format_unexpected_error,
)
from web.responses import GRAPHQL_RESPONSE_MEDIA_TYPE, Refusal, json_response

logger = logging.getLogger("taskql.operations")

SERVICE_UNAVAILABLE = ServiceUnavailable.code
# A result with only these errors, none on a field, failed before execution:
# parsing, validation, limits or variable coercion ("request errors" in the spec).
REQUEST_ERROR_CODES = frozenset(
    {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", BadUserInput.code}
)


class CommitOutcome(StrEnum):
    """`extensions.outcome` of a SERVICE_UNAVAILABLE error in a mutation that sent COMMIT."""

    COMMITTED = "committed"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class Outcome:
    """What one operation produced, for the response, the log and the metrics."""

    body: dict[str, Any]
    executed: bool
    codes: list[str]
    operation_type: str
    operation_name: str | None
    retry_after: int | None = None
    status_code: int | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    commit: CommitOutcome | None = None
    """Set when the operation committed, or may have: its answer is then never a 503."""

    def settle(self, commits: CommitRecord) -> None:
        """Mark what the operation's commits mean for its answer (see the module docstring)."""
        if commits.unknown:
            self.commit = CommitOutcome.UNKNOWN
        elif commits.committed:
            self.commit = CommitOutcome.COMMITTED
        else:
            return
        self.retry_after = None
        for error in self.body.get("errors", ()):
            extensions = error.get("extensions")
            if isinstance(extensions, dict) and extensions.get("code") == SERVICE_UNAVAILABLE:
                extensions.pop("retryAfter", None)
                extensions["outcome"] = self.commit.value

    @property
    def answered(self) -> bool:
        """It ran to an answer that is not SERVICE_UNAVAILABLE."""
        return self.executed and SERVICE_UNAVAILABLE not in self.codes


def from_result(
    result: ExecutionResult,
    operation_type: str,
    operation_name: str | None,
    *,
    with_extensions: bool,
) -> Outcome:
    """The outcome of an operation the schema ran (or refused before execution)."""
    errors: list[GraphQLError] = result.errors or []
    codes = [str((error.extensions or {}).get("code", "")) for error in errors]
    ran = result.data is not None or not all(
        error.path is None and code in REQUEST_ERROR_CODES
        for error, code in zip(errors, codes, strict=True)
    )
    body: dict[str, Any] = {}
    if ran:
        body["data"] = result.data
    if errors:
        body["errors"] = [error.formatted for error in errors]
    if result.extensions and with_extensions:
        body["extensions"] = result.extensions
    return Outcome(body, ran, codes, operation_type, operation_name)


def unresolved(error: TaskqlError, operation_name: str | None) -> Outcome:
    """The document could not be had (`resolve_document`, e.g. an unknown persisted query)."""
    return Outcome(
        {"errors": [format_domain_error(error)]},
        executed=False,
        codes=[error.code],
        operation_type=OperationType.QUERY.value,
        operation_name=operation_name,
        status_code=HTTPStatus.OK if isinstance(error, PersistedQueryNotFound) else None,
    )


def refused(refusal: Refusal) -> Outcome:
    """One operation of a batch refused on its own: its answer, and the batch's status stays."""
    return Outcome(
        {"errors": [format_domain_error(refusal.error)]},
        executed=False,
        codes=[refusal.error.code],
        operation_type=OperationType.QUERY.value,
        operation_name=None,
    )


def failed(
    error: BaseException, request_id: str, operation_type: str, operation_name: str | None
) -> Outcome:
    """A failure outside the schema: building the context, the time limit, the session."""
    domain_error: TaskqlError | None = (
        ServiceUnavailable() if isinstance(error, TimeoutError) else as_domain_error(error)
    )
    if domain_error is None:
        logger.error("unexpected error (request %s)", request_id, exc_info=error)
        formatted = format_unexpected_error(request_id)
    else:
        logger.warning(
            "%s (request %s): %s", domain_error.code, request_id, describe_failure(error)
        )
        formatted = format_domain_error(domain_error)
    retry_after = domain_error.retry_after if isinstance(domain_error, ServiceUnavailable) else None
    return Outcome(
        {"errors": [formatted]},
        executed=False,
        codes=[formatted["extensions"]["code"]],
        operation_type=operation_type,
        operation_name=operation_name,
        retry_after=retry_after,
        status_code=HTTPStatus.INTERNAL_SERVER_ERROR if domain_error is None else None,
    )


def respond(outcomes: list[Outcome], *, batch: bool, media_type: str) -> Response:
    """The HTTP answer to a request: one body, or a list of them for a batch."""
    status = choose_status(outcomes, batch=batch, media_type=media_type)
    headers = [header for outcome in outcomes for header in outcome.headers]
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        retry_after = max(outcome.retry_after or 0 for outcome in outcomes)
        headers.append((b"retry-after", str(retry_after).encode()))
    body = [outcome.body for outcome in outcomes] if batch else outcomes[0].body
    response = json_response(body, status, media_type=media_type)
    response.headers.raw.extend(headers)
    return response


def choose_status(outcomes: list[Outcome], *, batch: bool, media_type: str) -> int:
    if any(outcome.commit is not None for outcome in outcomes):
        return HTTPStatus.OK
    unavailable = any(outcome.retry_after for outcome in outcomes)
    if unavailable and not (batch and any(outcome.answered for outcome in outcomes)):
        return HTTPStatus.SERVICE_UNAVAILABLE
    status: int = HTTPStatus.OK
    if not batch and not outcomes[0].executed and media_type == GRAPHQL_RESPONSE_MEDIA_TYPE:
        status = HTTPStatus.BAD_REQUEST
    return next((o.status_code for o in outcomes if o.status_code), status)


__all__ = [
    "CommitOutcome",
    "Outcome",
    "choose_status",
    "failed",
    "from_result",
    "refused",
    "respond",
    "unresolved",
]
