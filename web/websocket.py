"""GraphQL over WebSocket on /graphql: Strawberry's `graphql-transport-ws`, with taskql's rules.

Strawberry's ASGI view and protocol handler do the protocol (connection_init,
ack, ping/pong, subscribe, next, error, complete, and the close codes 4400, 4401,
4408, 4409, 4429); this module extends them where the contract asks for more:

- only `graphql-transport-ws`: the legacy `graphql-ws` subprotocol gets 4406;
- `connection_init` carries `{"Authorization": "Bearer <access token>"}` (key in
  any case), checked like an HTTP bearer token: refused with 4403, 1008 for a user
  over WS_MAX_SOCKETS_PER_USER in this process, 1013 while the database or the
  event listener is unavailable;
- messages are checked as graphql-ws checks them (4400), and a message over
  MAX_BODY_BYTES closes the socket with 1009;
- each operation gets its own RequestContext (database access, user-scoped
  loaders) as an HTTP request would, and runs through `TaskqlSchema.stream`, so the
  document limits and error codes are the HTTP ones; a syntax error is an `error`
  on its id, not a closed socket;
- at most WS_MAX_SUBSCRIPTIONS_PER_SOCKET operations at once (RATE_LIMITED beyond);
- each operation has its span when tracing is on, as over HTTP (`web/tracing.py`);
- a `ping` every WS_KEEPALIVE_SECONDS; `web/sockets.py` closes sockets from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncGenerator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType
from strawberry.utils.aio import aclosing

from auth.context import (
    RequestContext,
    Viewer,
    log_auth_failure,
    services_of,
    session_is_live,
)
from auth.tokens import InvalidToken, TokenType
from db.listener import NotificationListener
from db.loaders import Loaders
from db.request import RequestDatabase
from errors import RateLimited, ServiceUnavailable, TaskqlError
from schema.runtime.errors import (
    as_domain_error,
    format_domain_error,
    format_unexpected_error,
)
from settings import Settings
from web.graphql import DocumentResolver
from web.graphql_request import Operation as RequestOperation
from web.graphql_request import describe_operation
from web.responses import decode_json, encode_json
from web.socket_messages import access_token, error_message, malformed
from web.sockets import (
    CLOSE_FORBIDDEN,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN_LATER,
    SocketContext,
    SocketRefused,
    SocketRegistry,
    close_socket,
)
from web.tracing import end_operation, operation_span

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

logger = logging.getLogger("taskql.websocket")

LISTENER_WAIT_SECONDS = 2.0
"""How long a `connection_init` waits for a reconnecting event listener before 1013."""


class TaskqlWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's adapter, with the body limit (1009) and closes that happen once."""

    def __init__(self, view: TaskqlWebSocketView, request: WebSocket, response: WebSocket) -> None:
        super().__init__(cast("Any", view), request, response)
        self.max_bytes = view.settings.max_body_bytes

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if len(text) > self.max_bytes // 4 and len(text.encode()) > self.max_bytes:
                    await self.close(CLOSE_TOO_BIG, "Message too big")
                    return
                try:
                    yield decode_json(text)
                except ValueError as error:
                    raise NonJsonMessageReceived from error
        except KeyError as error:
            raise NonTextMessageReceived from error
        except (WebSocketDisconnect, RuntimeError):
            return

    async def send_json(self, message: Mapping[str, object]) -> None:
        if self.ws.application_state is WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected
        try:
            await self.ws.send_text(encode_json(message).decode())
        except (WebSocketDisconnect, RuntimeError, OSError) as error:
            raise WebSocketDisconnected from error

    async def close(self, code: int, reason: str) -> None:
        await close_socket(self.ws, code, reason)


class TaskqlTransportWSHandler(BaseGraphQLTransportWSHandler[SocketContext, None]):
    view: TaskqlWebSocketView

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings: Settings = self.context.services.settings
        self._keepalive: asyncio.Task[None] | None = None
        self._extensions: dict[str, dict[str, object] | None] = {}

    async def handle_message(self, message: Message) -> None:
        problem = malformed(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if message.get("payload") is None:
            message = {"type": "connection_init"}
        try:
            await super().handle_connection_init(message)
        except SocketRefused as refusal:
            await self.websocket.close(refusal.code, refusal.reason)
            return
        if self.connection_acknowledged and self._keepalive is None:
            self._keepalive = asyncio.create_task(self._send_pings())

    async def _send_pings(self) -> None:
        with contextlib.suppress(WebSocketDisconnected):
            while True:
                await asyncio.sleep(self.settings.ws_keepalive_seconds)
                await self.send_message({"type": "ping"})

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and len(self.operations) >= self.settings.ws_max_subscriptions_per_socket
        ):
            refusal = format_domain_error(RateLimited(retry_after=1))
            await self.send_message(error_message(message["id"], refusal))
            return
        if self.connection_acknowledged and message["id"] not in self.operations:
            self._extensions[message["id"]] = message["payload"].get("extensions")
        await super().handle_subscribe(message)

    @staticmethod
    def _get_pre_execution_close_reason(error: Any) -> str | None:
        return None  # every error before execution is an `error` on its id (contract)

    def _operation_context(self, database: RequestDatabase) -> RequestContext:
        socket = self.context
        context = RequestContext(
            services=socket.services,
            database=database,
            loaders=Loaders(database),
            viewer=socket.viewer,
            client_address=socket.client_address,
            request_id=secrets.token_hex(16),
            subscribe_task_events=socket.subscribe_task_events,
        )
        context.request = socket.websocket
        return context

    async def run_operation(self, operation: Operation[SocketContext, None]) -> None:
        """Strawberry's, with a context of the operation's own (as over HTTP) and coded
        errors for what fails outside the schema."""
        services = self.context.services
        extensions = self._extensions.pop(operation.id, None)
        try:
            query = await self.view.resolve_document(operation.query, extensions)
        except TaskqlError as error:  # outside the allow-list (TRUSTED_DOCUMENTS_PATH)
            await operation.send_operation_message(
                error_message(operation.id, format_domain_error(error))
            )
            return
        operation.query = query or ""
        described = RequestOperation(
            operation.query, operation.variables, operation.operation_name, None
        )
        operation_type, operation_name = describe_operation(described, self.settings.max_tokens)
        database = (
            RequestDatabase(services.session_factory)
            if operation_type == OperationType.MUTATION.value
            else RequestDatabase(services.read_session_factory, services.read_engine)
        )
        context = self._operation_context(database)
        codes: list[str] = []
        with operation_span(self.view.tracer, operation_type, operation_name) as span:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    if operation_type != OperationType.SUBSCRIPTION.value:
                        await stack.enter_async_context(
                            asyncio.timeout(self.settings.request_timeout_seconds)
                        )
                    results = await self.schema.stream(
                        operation.query,
                        variable_values=operation.variables,
                        context_value=context,
                        operation_name=operation.operation_name,
                    )
                    async with aclosing(_noting_codes(results, codes)) as noted:
                        await self._send_result_stream(operation, noted)
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            except WebSocketDisconnected:
                return
            except Exception as error:  # every failure is an `error` with a code
                codes.append(await self._send_failure(operation, error, context.request_id))
            finally:
                end_operation(span, codes)
                await asyncio.shield(database.close())  # also when the socket went away

    async def _send_failure(
        self, operation: Operation[SocketContext, None], error: Exception, request_id: str
    ) -> str:
        """Send `error` as an `error` message on the operation's id; its code."""
        domain_error = (
            ServiceUnavailable() if isinstance(error, TimeoutError) else as_domain_error(error)
        )
        if domain_error is None:
            logger.error("unexpected error (request %s)", request_id, exc_info=error)
            formatted = format_unexpected_error(request_id)
        else:
            formatted = format_domain_error(domain_error)
        with contextlib.suppress(WebSocketDisconnected):
            await operation.send_operation_message(error_message(operation.id, formatted))
        return str(formatted["extensions"]["code"])

    async def shutdown(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        try:
            await super().shutdown()
        finally:
            self.view.registry.remove(self.context)


class TaskqlWebSocketView(GraphQL[SocketContext, None]):
    """The ASGI app for WebSockets on /graphql (HTTP there is `web/graphql.py`'s)."""

    graphql_transport_ws_handler_class = TaskqlTransportWSHandler
    websocket_adapter_class = TaskqlWebSocketAdapter  # type: ignore[assignment]

    def __init__(
        self,
        schema: BaseSchema,
        settings: Settings,
        *,
        registry: SocketRegistry,
        listener: NotificationListener | None,
        resolve_document: DocumentResolver,
        tracer: Tracer | None = None,
    ) -> None:
        """`tracer`: where operation spans go when tracing is on (`web/tracing.py`)."""
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(
                seconds=settings.ws_connection_init_timeout_seconds
            ),
            max_subscriptions_per_connection=None,
            allowed_origins=settings.cors_origins,
        )
        self.settings = settings
        self.registry = registry
        self.listener = listener
        self.resolve_document = resolve_document
        self.tracer = tracer
        """The document to run, as over HTTP (persisted queries, the allow-list)."""

    def encode_json(self, data: object) -> str:
        return encode_json(data).decode()

    async def get_context(self, request: Any, response: Any) -> SocketContext:
        websocket = cast("WebSocket", request)
        services = services_of(websocket)  # type: ignore[arg-type]
        return SocketContext(
            websocket=websocket,
            services=services,
            client_address=services.client_addresses.of(websocket),  # type: ignore[arg-type]
        )

    async def on_ws_connect(self, context: SocketContext) -> UnsetType | dict[str, object] | None:
        """Authenticate `connection_init`; SocketRefused says how to close instead."""
        services = context.services
        try:
            claims = services.tokens.decode(
                access_token(context.connection_params), expected=TokenType.ACCESS
            )
        except InvalidToken as error:
            log_auth_failure(
                "WebSocket access token", reason=error.reason, client_address=context.client_address
            )
            raise SocketRefused(CLOSE_FORBIDDEN, "Forbidden") from None
        if self.listener is not None and not await self.listener.wait_listening(
            LISTENER_WAIT_SECONDS
        ):
            raise SocketRefused(CLOSE_TRY_AGAIN_LATER, "Event listener unavailable")
        context.viewer = Viewer(user_id=claims.user_id, session_id=claims.session_id)
        self.registry.add(context)  # from here on, an ended login closes it
        try:
            async with RequestDatabase(
                services.read_session_factory, services.read_engine
            ) as reads:
                live = await session_is_live(reads, services, claims)
        except Exception as error:
            self.registry.remove(context)
            if as_domain_error(error) is None:
                raise
            raise SocketRefused(CLOSE_TRY_AGAIN_LATER, "Database unavailable") from None
        if not live:
            self.registry.remove(context)
            log_auth_failure(
                "WebSocket access token",
                reason="session ended",
                client_address=context.client_address,
            )
            raise SocketRefused(CLOSE_FORBIDDEN, "Forbidden")
        leeway = self.settings.jwt_leeway_seconds
        context.close_at(claims.expires_at.timestamp() + leeway, CLOSE_FORBIDDEN, "Token expired")
        unset: UnsetType = UNSET
        return unset


async def _noting_codes(
    results: AsyncGenerator[Any, None], codes: list[str]
) -> AsyncGenerator[Any, None]:
    """`results`, noting their errors' codes in `codes` (for the operation's span)."""
    async with aclosing(results):
        async for result in results:
            codes.extend(
                str((error.extensions or {}).get("code", "")) for error in result.errors or []
            )
            yield result


__all__ = ["TaskqlWebSocketView"]
