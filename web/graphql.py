"""The /graphql endpoint: GraphQL over HTTP (graphql.github.io/graphql-over-http).

The request is read and checked before any context, session or token is
touched: only `application/json` POST bodies (415 otherwise), GET for queries
only (405 with `Allow: POST` for mutations), request-level errors as JSON with
`errors`. A client that accepts `application/graphql-response+json` gets it, with
400 for requests that fail before execution; one that accepts only
`application/json` gets 200 with `errors`, as older clients expect. A database
that is down, a pool that is exhausted or a query that waited too long for its turn
(`web/admission.py`) answers 503 with `Retry-After`.

Two hook points, both constructor arguments:
- `render_ide(request)` answers a browser's GET of /graphql with the GraphiQL
  page; None (production) serves no page.
- `resolve_document(query, extensions)` returns the document to execute, e.g.
  from `extensions.persistedQuery` (APQ: `PersistedQueries.resolve`). A domain
  error it raises is the answer, without executing: 200 for `application/json`,
  400 for `application/graphql-response+json`, except PERSISTED_QUERY_NOT_FOUND,
  always 200 because Apollo Client and urql retry on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field, replace
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter
from graphql import DocumentNode, GraphQLError
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from auth.context import RequestContext, Services, get_context, services_of
from db.request import RequestDatabase
from errors import BadUserInput, PersistedQueryNotFound, ServiceUnavailable, TaskqlError
from schema.errors import (
    as_domain_error,
    describe_failure,
    format_domain_error,
    format_unexpected_error,
)
from schema.limits import chosen_operation, parse_document
from settings import Settings
from web.admission import Admission
from web.metrics import record_operation
from web.responses import (
    GRAPHQL_RESPONSE_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
    Refusal,
    RequestRefused,
    RequestUnreadable,
    decode_json,
    json_response,
    refusal_response,
)

logger = logging.getLogger("taskql.operations")

PATH = "/graphql"
SERVICE_UNAVAILABLE = ServiceUnavailable.code
# A result with only these errors, none on a field, failed before execution:
# parsing, validation, limits or variable coercion ("request errors" in the spec).
REQUEST_ERROR_CODES = frozenset(
    {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", BadUserInput.code}
)
ALLOWED_OPERATIONS = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}

ContextGetter = Callable[[Request, RequestDatabase], Awaitable[RequestContext]]
IdeRenderer = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Operation:
    """One GraphQL request as the client sent it: `query` may still be missing (APQ)."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


DocumentResolver = Callable[[str | None, Mapping[str, object] | None], Awaitable[str | None]]


@dataclass(slots=True)
class Outcome:
    """What one executed operation produced, for the response, the log and the metrics."""

    body: dict[str, Any]
    executed: bool
    codes: list[str]
    operation_type: str
    operation_name: str | None
    retry_after: int | None = None
    status_code: int | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


@lru_cache(maxsize=256)  # a client sends the same Accept header with every request
def preferred_media_type(accept: str | None) -> str:
    """graphql-response+json when the client accepts it at least as much as JSON."""
    weights: dict[str, float] = {}
    for part in (accept or "").split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media_type.lower()] = weight
    graphql_weight = weights.get(GRAPHQL_RESPONSE_MEDIA_TYPE, 0.0)
    json_weight = max(weights.get(JSON_MEDIA_TYPE, 0.0), weights.get("*/*", 0.0))
    if graphql_weight > 0 and graphql_weight >= json_weight:
        return GRAPHQL_RESPONSE_MEDIA_TYPE
    return JSON_MEDIA_TYPE


def _json_parameter(params: Mapping[str, str], name: str) -> object:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return decode_json(raw)
    except ValueError:
        raise Refusal(BadUserInput(f"`{name}` is not valid JSON.", field=name)) from None


def read_operation(data: object) -> Operation:
    if not isinstance(data, dict):
        raise Refusal(RequestUnreadable("A GraphQL request must be a JSON object."))
    query = data.get("query")
    if query is not None and not isinstance(query, str):
        raise Refusal(RequestUnreadable("`query` must be a string."))
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise Refusal(BadUserInput("`operationName` must be a string.", field="operationName"))
    for name in ("variables", "extensions"):
        value = data.get(name)
        if value is not None and not isinstance(value, dict):
            raise Refusal(BadUserInput(f"`{name}` must be an object.", field=name))
    return Operation(query, data.get("variables"), operation_name, data.get("extensions"))


class GraphQLEndpoint:
    def __init__(
        self,
        schema: BaseSchema,
        settings: Settings,
        *,
        context_getter: ContextGetter = get_context,
        render_ide: IdeRenderer | None = None,
        resolve_document: DocumentResolver | None = None,
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.context_getter = context_getter
        self.render_ide = render_ide
        self.resolve_document = resolve_document
        self.query_admission = Admission(
            settings.max_concurrent_queries, timeout_seconds=settings.db_pool_timeout_seconds
        )

    async def handle(self, request: Request) -> Response:
        media_type = preferred_media_type(request.headers.get("accept"))
        try:
            if request.method == "GET" and self._wants_ide(request):
                assert self.render_ide is not None
                return await self.render_ide(request)
            batch, operations = await self._read_request(request)
            outcomes = [await self._run(request, operation) for operation in operations]
        except Refusal as refusal:
            return refusal_response(refusal, media_type=media_type)
        return self._respond(outcomes, batch=batch, media_type=media_type)

    def _wants_ide(self, request: Request) -> bool:
        return (
            self.render_ide is not None
            and not request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    async def _read_request(self, request: Request) -> tuple[bool, list[Operation]]:
        if request.method == "GET":
            if not self.settings.allow_get_queries:
                raise Refusal(
                    RequestRefused("Queries over GET are turned off; use POST."),
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    {"Allow": "POST"},
                )
            params = request.query_params
            return False, [
                read_operation(
                    {
                        "query": params.get("query"),
                        "operationName": params.get("operationName"),
                        "variables": _json_parameter(params, "variables"),
                        "extensions": _json_parameter(params, "extensions"),
                    }
                )
            ]
        if request.method != "POST":
            raise Refusal(
                RequestRefused("GraphQL requests use GET or POST."),
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"Allow": "GET, POST"},
            )
        content_type = request.headers.get("content-type", "")
        media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
        charset = next((p.partition("=")[2] for p in parameters if p.startswith("charset=")), "")
        if media_type != JSON_MEDIA_TYPE or charset.strip('"') not in {"", "utf-8"}:
            raise Refusal(
                RequestUnreadable("POST bodies must be application/json."),
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            )
        try:
            data = decode_json(await request.body())
        except ValueError:
            raise Refusal(RequestUnreadable("The request body is not valid JSON.")) from None
        if not isinstance(data, list):
            return False, [read_operation(data)]
        if not self.settings.batching_enabled:
            raise Refusal(RequestRefused("Batched requests are turned off (BATCHING_ENABLED)."))
        limit = self.settings.max_batch_operations
        if not data or len(data) > limit:
            raise Refusal(
                RequestRefused(
                    f"A batch holds 1 to {limit} operations (MAX_BATCH_OPERATIONS).",
                    limit="MAX_BATCH_OPERATIONS",
                )
            )
        return True, [read_operation(item) for item in data]

    async def _run(self, request: Request, operation: Operation) -> Outcome:
        started = time.perf_counter()
        services = services_of(request)
        if self.resolve_document is not None:
            try:
                query = await self.resolve_document(operation.query, operation.extensions)
            except TaskqlError as error:
                return self._unresolved(error, operation)
            if query is not operation.query:
                operation = replace(operation, query=query)
        if not operation.query:
            raise Refusal(RequestUnreadable("The request has no `query`."))
        operation_type, operation_name = _describe(operation, self.settings.max_tokens)
        if request.method == "GET" and operation_type != OperationType.QUERY.value:
            raise Refusal(
                RequestRefused(f"{operation_type.capitalize()}s are not allowed over GET."),
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"Allow": "POST"},
            )
        sub_response = Response()
        del sub_response.headers["content-length"]
        user_id: int | None = None
        try:
            async with (
                asyncio.timeout(self.settings.request_timeout_seconds),
                self._admission(operation_type),
                self._database(services, operation_type) as database,
            ):
                context = await self.context_getter(request, database)
                context.request = request
                context.response = sub_response
                context.background_tasks = BackgroundTasks()
                user_id = context.viewer.user_id
                result = await self._execute(request, operation, context)
            outcome = self._outcome(result, operation_type, operation_name)
        except Refusal:
            raise
        except Exception as error:  # every failure becomes a coded answer
            outcome = self._failure(error, request, operation_type, operation_name)
        except asyncio.CancelledError as error:
            if _being_cancelled():  # the client went away or the server is stopping
                raise
            # A cancellation meant for one field that escaped execution: a bug, not an exit.
            outcome = self._failure(error, request, operation_type, operation_name)
        # Extensions may set a status and headers on the context's response (401 and
        # WWW-Authenticate for a bad token); they are honoured unless the service is down.
        if sub_response.status_code != HTTPStatus.OK:
            outcome.status_code = sub_response.status_code
        outcome.headers = list(sub_response.headers.raw)
        if SERVICE_UNAVAILABLE in outcome.codes and outcome.retry_after is None:
            outcome.retry_after = ServiceUnavailable().retry_after
        self._observe(request, outcome, user_id, time.perf_counter() - started)
        return outcome

    def _admission(self, operation_type: str) -> AbstractAsyncContextManager[None]:
        if operation_type == OperationType.QUERY.value:
            return self.query_admission
        return nullcontext()

    @staticmethod
    def _database(services: Services, operation_type: str) -> RequestDatabase:
        """Queries read on their own autocommit connection; mutations do all in one session."""
        if operation_type == OperationType.QUERY.value:
            return RequestDatabase(services.read_session_factory, services.read_engine)
        return RequestDatabase(services.session_factory)

    async def _execute(
        self, request: Request, operation: Operation, context: RequestContext
    ) -> ExecutionResult:
        try:
            return await self.schema.execute(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                operation_name=operation.operation_name,
                allowed_operation_types=ALLOWED_OPERATIONS[request.method],
                operation_extensions=operation.extensions,
            )
        except InvalidOperationTypeError:
            raise Refusal(RequestRefused("Subscriptions are not supported.")) from None
        except CannotGetOperationTypeError as error:
            raise Refusal(RequestRefused(error.as_http_error_reason())) from None
        except MissingQueryError:
            raise Refusal(RequestUnreadable("The request has no `query`.")) from None

    def _outcome(
        self, result: ExecutionResult, operation_type: str, operation_name: str | None
    ) -> Outcome:
        errors: list[GraphQLError] = result.errors or []
        codes = [str((error.extensions or {}).get("code", "")) for error in errors]
        executed = result.data is not None or not all(
            error.path is None and code in REQUEST_ERROR_CODES
            for error, code in zip(errors, codes, strict=True)
        )
        body: dict[str, Any] = {}
        if executed:
            body["data"] = result.data
        if errors:
            body["errors"] = [error.formatted for error in errors]
        if result.extensions and not self.settings.is_production:
            body["extensions"] = result.extensions
        return Outcome(body, executed, codes, operation_type, operation_name)

    @staticmethod
    def _unresolved(error: TaskqlError, operation: Operation) -> Outcome:
        return Outcome(
            {"errors": [format_domain_error(error)]},
            executed=False,
            codes=[error.code],
            operation_type=OperationType.QUERY.value,
            operation_name=operation.operation_name,
            status_code=HTTPStatus.OK if isinstance(error, PersistedQueryNotFound) else None,
        )

    def _failure(
        self,
        error: BaseException,
        request: Request,
        operation_type: str,
        operation_name: str | None,
    ) -> Outcome:
        """A failure outside the schema: building the context, the time limit, the session."""
        domain_error: TaskqlError | None = (
            ServiceUnavailable() if isinstance(error, TimeoutError) else as_domain_error(error)
        )
        request_id = getattr(request.state, "request_id", "")
        if domain_error is None:
            logger.error("unexpected error (request %s)", request_id, exc_info=error)
            formatted = format_unexpected_error(request_id)
        else:
            logger.warning(
                "%s (request %s): %s", domain_error.code, request_id, describe_failure(error)
            )
            formatted = format_domain_error(domain_error)
        retry_after = (
            domain_error.retry_after if isinstance(domain_error, ServiceUnavailable) else None
        )
        return Outcome(
            {"errors": [formatted]},
            executed=False,
            codes=[formatted["extensions"]["code"]],
            operation_type=operation_type,
            operation_name=operation_name,
            retry_after=retry_after,
            status_code=HTTPStatus.INTERNAL_SERVER_ERROR if domain_error is None else None,
        )

    def _observe(
        self,
        request: Request,
        outcome: Outcome,
        user_id: int | None,
        seconds: float,
    ) -> None:
        record_operation(
            name=outcome.operation_name,
            operation_type=outcome.operation_type,
            outcome=outcome.codes[0] if outcome.codes else "ok",
            seconds=seconds,
        )
        if not logger.isEnabledFor(logging.INFO):
            return
        codes = sorted(set(outcome.codes))
        logger.info(
            "%s %s %.1fms %s",
            outcome.operation_type,
            outcome.operation_name or "anonymous",
            seconds * 1000,
            ",".join(codes) or "ok",
            extra={
                "request_id": getattr(request.state, "request_id", ""),
                "operation_name": outcome.operation_name,
                "operation_type": outcome.operation_type,
                "user_id": user_id,
                "duration_ms": round(seconds * 1000, 2),
                "error_codes": codes,
            },
        )

    def _respond(self, outcomes: list[Outcome], *, batch: bool, media_type: str) -> Response:
        status: int = HTTPStatus.OK
        if not batch and not outcomes[0].executed and media_type == GRAPHQL_RESPONSE_MEDIA_TYPE:
            status = HTTPStatus.BAD_REQUEST
        status = next((o.status_code for o in outcomes if o.status_code), status)
        headers = [header for outcome in outcomes for header in outcome.headers]
        retry_after = max((outcome.retry_after or 0 for outcome in outcomes), default=0)
        # A batch in which something ran (a mutation may have committed) stays 200: a
        # client or proxy that retries on 503 would run it again. Each operation that
        # did not run says so itself, with its retryAfter.
        if retry_after and not (batch and any(_ran(outcome) for outcome in outcomes)):
            status = HTTPStatus.SERVICE_UNAVAILABLE
            headers.append((b"retry-after", str(retry_after).encode()))
        body = [outcome.body for outcome in outcomes] if batch else outcomes[0].body
        response = json_response(body, status, media_type=media_type)
        response.headers.raw.extend(headers)
        return response


def _being_cancelled() -> bool:
    """Whether the task serving this request has been asked to stop (Python 3.11+)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _ran(outcome: Outcome) -> bool:
    return outcome.executed and SERVICE_UNAVAILABLE not in outcome.codes


def _describe(operation: Operation, max_tokens: int) -> tuple[str, str | None]:
    """The operation's type and name, from the (cached) parse the schema will reuse.

    The name is one the document defines, never the client's `operationName` alone: it
    becomes a metric label and a log field, which must not take arbitrary text.
    """
    assert operation.query is not None
    document = parse_document(operation.query, max_tokens)
    if isinstance(document, DocumentNode):
        definition = chosen_operation(document, operation.operation_name)
        if definition is not None:
            name = definition.name.value if definition.name else None
            return definition.operation.value, name
    return OperationType.QUERY.value, None


def graphql_router(
    schema: BaseSchema,
    settings: Settings,
    *,
    render_ide: IdeRenderer | None = None,
    resolve_document: DocumentResolver | None = None,
) -> APIRouter:
    endpoint = GraphQLEndpoint(
        schema, settings, render_ide=render_ide, resolve_document=resolve_document
    )
    router = APIRouter()
    # Other methods reach the endpoint too, so that they get a JSON 405 with `Allow`
    # (a CORS preflight, when CORS is configured, is answered by its middleware first).
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    router.add_route(PATH, endpoint.handle, methods=methods, include_in_schema=False)
    return router


__all__ = ["GraphQLEndpoint", "Operation", "graphql_router", "preferred_media_type"]
