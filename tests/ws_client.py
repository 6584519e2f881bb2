"""A small graphql-transport-ws client over `websockets`, and an in-process uvicorn to talk to.

Tests of the WebSocket transport talk to a real uvicorn (the same one production runs)
serving the test's app on 127.0.0.1, in the test's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from main import create_app
from schema.node import from_global_id
from tests.conftest import make_settings
from tests.live_server import free_port

PROTOCOL = "graphql-transport-ws"
WAIT_SECONDS = 5.0


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """uvicorn serving `app` (its lifespan already running); yields the ws:// URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await task


class GraphQLSocket:
    """One connection: send protocol messages, read them back, see how it closed."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: Any) -> None:
        await self.connection.send(message if isinstance(message, str) else json.dumps(message))

    async def init(self, token: str | None, **payload: Any) -> None:
        """connection_init, then expect the ack."""
        if token is not None:
            payload["Authorization"] = f"Bearer {token}"
        await self.send({"type": "connection_init", "payload": payload})
        message = await self.receive()
        assert message == {"type": "connection_ack"}, message

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})

    async def receive(self, seconds: float = WAIT_SECONDS) -> dict[str, Any]:
        """The next message other than a server ping (answered with pong)."""
        while True:
            raw = await asyncio.wait_for(self.connection.recv(), seconds)
            message: dict[str, Any] = json.loads(raw)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def nothing_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            message = await self.receive(seconds)
            raise AssertionError(f"unexpected message {message}")
        return True

    async def close_code(self, seconds: float = WAIT_SECONDS) -> int | None:
        """How the server closed the socket (waiting up to `seconds`)."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    await self.connection.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
        except TimeoutError:
            return None


@asynccontextmanager
async def socket(
    url: str, *, token: str | None = None, subprotocol: str = PROTOCOL, init: bool = True
) -> AsyncIterator[GraphQLSocket]:
    """A connection to `url`; with `token` (and `init`) already acknowledged."""
    async with connect(url, subprotocols=[subprotocol], open_timeout=WAIT_SECONDS) as connection:  # type: ignore[list-item]
        graphql_socket = GraphQLSocket(connection)
        if init and token is not None:
            await graphql_socket.init(token)
        yield graphql_socket


def user_pk(global_id: str) -> int:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def wait_subscribed(app: FastAPI, user_id: int, count: int = 1) -> None:
    """Until `count` subscriptions of the user listen in `app` (the client cannot tell)."""
    hub = app.state.services.task_events
    async with asyncio.timeout(WAIT_SECONDS):
        while hub.subscriber_count(user_id) < count:  # noqa: ASYNC110 - polls another task's state
            await asyncio.sleep(0.01)


@asynccontextmanager
async def running(
    database_url: str, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, str]]:
    """An app with these settings, its HTTP client (in process) and its uvicorn's ws:// URL."""
    app = create_app(make_settings(database_url, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
            serving(app) as url,
        ):
            yield app, client, url
