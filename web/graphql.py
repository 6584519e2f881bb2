"""The /graphql endpoint: GraphQL over HTTP (graphql.github.io/graphql-over-http).

One request goes through three steps, each in its own module:
- reading: what the HTTP request carries (`web/graphql_request.py`: media types, GET
  parameters, POST bodies, batches); a request-level refusal is answered at once;
- running, here: each operation in turn, under the request time limit, query admission
  (`web/admission.py`), its own database access (`db/request.py`), the commit record
  of a mutation (`db/commits.py`) and, when tracing is on, its span (`web/tracing.py`);
- answering: the outcomes become one response whose status honours commits
  (`web/outcomes.py`). A client that accepts `application/graphql-response+json` gets
  it, with 400 for a request that failed before execution; one that accepts only
  `application/json` gets 200 with `errors`, as older clients expect. A database that
  is down, a pool that is exhausted or a query that waited too long for its turn
  answers 503 with `Retry-After`, unless something committed.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import replace
from http import HTTPStatus
from typing import TYPE_CHECKING

from fastapi import APIRouter
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from auth.context import RequestContext, Services, get_context, services_of
from db.commits import CommitRecord, recording_commits
from db.request import RequestDatabase
from errors import ServiceUnavailable, TaskqlError
from schema.runtime.errors import describe_failure
from settings import Settings
from web.admission import Admission
from web.graphql_request import (
    Operation,
    describe_operation,
    preferred_media_type,
    read_request,
)
from web.metrics import record_operation
from web.outcomes import Outcome, failed, from_result, refused, respond, unresolved
from web.responses import Refusal, RequestRefused, RequestUnreadable, refusal_response
from web.tracing import end_operation, operation_span

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

logger = logging.getLogger("taskql.operations")

PATH = "/graphql"
SERVICE_UNAVAILABLE = ServiceUnavailable.code
NO_COMMITS = CommitRecord()
"""What a query commits: nothing (it is never the current record, so it stays empty)."""
ALLOWED_OPERATIONS = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}

ContextGetter = Callable[[Request, RequestDatabase], Awaitable[RequestContext]]
IdeRenderer = Callable[[Request], Awaitable[Response]]
DocumentResolver = Callable[[str | None, Mapping[str, object] | None], Awaitable[str | None]]


class GraphQLEndpoint:
    def __init__(
        self,
        schema: BaseSchema,
        settings: Settings,
        *,
        context_getter: ContextGetter = get_context,
        render_ide: IdeRenderer | None = None,
        resolve_document: DocumentResolver | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        """`tracer`: where operation spans go when tracing is on (`web/tracing.py`)."""
        self.schema = schema
        self.settings = settings
        self.tracer = tracer
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
            graphql_request = await read_request(request, self.settings)
            # The request's work for after its answer is sent: every operation of a batch
            # adds to the same list (`RequestContext.background_tasks`).
            after_response = BackgroundTasks()
            if not graphql_request.batch:
                outcomes = [await self._run(request, graphql_request.single(), after_response)]
            else:
                outcomes = [
                    await self._run_in_batch(request, item, after_response)
                    for item in graphql_request.items
                ]
        except Refusal as refusal:
            return refusal_response(refusal, media_type=media_type)
        response = respond(outcomes, batch=graphql_request.batch, media_type=media_type)
        if after_response.tasks:
            response.background = after_response
        return response

    async def _run_in_batch(
        self, request: Request, item: Operation | Refusal, after_response: BackgroundTasks
    ) -> Outcome:
        """A refusal of one operation of a batch is that operation's answer alone."""
        try:
            if isinstance(item, Refusal):
                raise item
            return await self._run(request, item, after_response)
        except Refusal as refusal:
            return refused(refusal)

    def _wants_ide(self, request: Request) -> bool:
        return (
            self.render_ide is not None
            and not request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    async def _run(
        self, request: Request, operation: Operation, after_response: BackgroundTasks
    ) -> Outcome:
        started = time.perf_counter()
        if self.resolve_document is not None:
            try:
                query = await self.resolve_document(operation.query, operation.extensions)
            except TaskqlError as error:
                return unresolved(error, operation.operation_name)
            if query is not operation.query:
                operation = replace(operation, query=query)
        if not operation.query:
            raise Refusal(RequestUnreadable("The request has no `query`."))
        operation_type, operation_name = describe_operation(operation, self.settings.max_tokens)
        if request.method == "GET" and operation_type != OperationType.QUERY.value:
            raise Refusal(
                RequestRefused(f"{operation_type.capitalize()}s are not allowed over GET."),
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"Allow": "POST"},
            )
        sub_response = _ExtensionResponse()
        with operation_span(self.tracer, operation_type, operation_name) as span:
            mutation = operation_type == OperationType.MUTATION.value
            with recording_commits() if mutation else nullcontext(NO_COMMITS) as commits:
                outcome, user_id = await self._answer(
                    request,
                    operation,
                    operation_type,
                    operation_name,
                    sub_response=sub_response,
                    after_response=after_response,
                )
            # Extensions may set a status and headers on the context's response (401 and
            # WWW-Authenticate for a bad token); they are honoured unless the service is down.
            if sub_response.status_code != HTTPStatus.OK:
                outcome.status_code = sub_response.status_code
            outcome.headers = list(sub_response.headers.raw)
            if SERVICE_UNAVAILABLE in outcome.codes and outcome.retry_after is None:
                outcome.retry_after = ServiceUnavailable().retry_after
            outcome.settle(commits)
            end_operation(span, outcome.codes)
        self._observe(request, outcome, user_id, time.perf_counter() - started)
        return outcome

    async def _answer(
        self,
        request: Request,
        operation: Operation,
        operation_type: str,
        operation_name: str | None,
        *,
        sub_response: Response,
        after_response: BackgroundTasks,
    ) -> tuple[Outcome, int | None]:
        """Execute under the time limit, admission and the request's database access; every
        failure becomes a coded outcome. Also returns the viewer's user id, for the log."""
        user_id: int | None = None
        result: ExecutionResult | None = None
        services = services_of(request)
        request_id = getattr(request.state, "request_id", "")
        try:
            async with (
                asyncio.timeout(self.settings.request_timeout_seconds),
                self._admission(operation_type),
                self._database(services, operation_type, request_id) as database,
            ):
                context = await self.context_getter(request, database)
                context.request = request
                context.response = sub_response
                context.background_tasks = after_response
                user_id = context.viewer.user_id
                result = await self._execute(request, operation, context)
        except Refusal:
            raise
        except Exception as error:  # every failure becomes a coded answer
            return failed(error, request_id, operation_type, operation_name), user_id
        except asyncio.CancelledError as error:
            if _being_cancelled():  # the client went away or the server is stopping
                raise
            # A cancellation meant for one field that escaped execution: a bug, not an exit.
            return failed(error, request_id, operation_type, operation_name), user_id
        outcome = from_result(
            result,
            operation_type,
            operation_name,
            with_extensions=not self.settings.is_production,
        )
        return outcome, user_id

    def _admission(self, operation_type: str) -> AbstractAsyncContextManager[None]:
        if operation_type == OperationType.QUERY.value:
            return self.query_admission
        return nullcontext()

    @staticmethod
    @asynccontextmanager
    async def _database(
        services: Services, operation_type: str, request_id: str
    ) -> AsyncIterator[RequestDatabase]:
        """Queries read on their own autocommit connection; mutations do all in one session.

        A failure to close it (the session still busy in a loader that the time limit
        cut short) is logged, not answered: the request's own outcome stands, and the
        time limit stays a time limit (SERVICE_UNAVAILABLE, honouring a commit).
        """
        if operation_type == OperationType.QUERY.value:
            database = RequestDatabase(services.read_session_factory, services.read_engine)
        else:
            database = RequestDatabase(services.session_factory)
        try:
            yield database
        finally:
            try:
                await database.close()
            except Exception as error:
                logger.warning(
                    "closing the database access failed (request %s): %s",
                    request_id,
                    describe_failure(error),
                )

    async def _execute(
        self, request: Request, operation: Operation, context: RequestContext
    ) -> ExecutionResult:
        # TaskqlSchema leaves DateTime values to the response encoder (see its docstring).
        execute = getattr(self.schema, "execute_for_encoder", self.schema.execute)
        try:
            result: ExecutionResult = await execute(
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
        return result

    @staticmethod
    def _observe(request: Request, outcome: Outcome, user_id: int | None, seconds: float) -> None:
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


class _ExtensionResponse(Response):
    """The context's `response`, where extensions may set a status and headers (401 and
    WWW-Authenticate for a bad token): a bodiless 200 without headers, as `Response()`
    without its Content-Length, made without rendering a body."""

    def __init__(self) -> None:
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers = []


def _being_cancelled() -> bool:
    """Whether the task serving this request has been asked to stop (Python 3.11+)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def graphql_router(
    schema: BaseSchema,
    settings: Settings,
    *,
    render_ide: IdeRenderer | None = None,
    resolve_document: DocumentResolver | None = None,
    tracer: Tracer | None = None,
) -> APIRouter:
    endpoint = GraphQLEndpoint(
        schema, settings, render_ide=render_ide, resolve_document=resolve_document, tracer=tracer
    )
    router = APIRouter()
    # Other methods reach the endpoint too, so that they get a JSON 405 with `Allow`
    # (a CORS preflight, when CORS is configured, is answered by its middleware first).
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    router.add_route(PATH, endpoint.handle, methods=methods, include_in_schema=False)
    return router


__all__ = ["GraphQLEndpoint", "Operation", "graphql_router", "preferred_media_type"]
