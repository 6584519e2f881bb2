"""/readyz follows the database: 503 while it is unreachable, 200 once it is back, no restart."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from main import create_app
from tests.conftest import make_settings
from tests.helpers import answered_within, error_codes, graphql, post_graphql, signup
from tests.tcp_proxy import TcpProxy

ME = "{ me { email } }"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _client_for(database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, db_connect_timeout_seconds=1, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_readyz_is_503_when_nothing_listens_at_the_database_port() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/taskql"
    async for client in _client_for(url):
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.post("/graphql", json={"query": "{ __typename }"})).json() == {
            "data": {"__typename": "Query"}
        }


async def test_readyz_recovers_when_the_database_comes_back(postgres_database: str) -> None:
    target = urlsplit(postgres_database)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    url = postgres_database.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    try:
        async for client in _client_for(url):
            assert (await client.get("/readyz")).status_code == 200
            await proxy.stop()
            assert (await client.get("/readyz")).status_code == 503
            await proxy.start()
            # The breaker's probe (every DB_PROBE_INTERVAL_SECONDS) sees it back.
            await answered_within(1, partial(client.get, "/readyz"))
    finally:
        await proxy.stop()


@pytest.mark.parametrize("pre_ping", [True, False], ids=["pre-ping", "no-pre-ping"])
async def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(
    postgres_database: str, pre_ping: bool
) -> None:
    """The proxy drops every connection, as a restarted PostgreSQL or a firewall would.

    With DB_POOL_PRE_PING (the default) the next request's connection, idle for
    longer than DB_POOL_PRE_PING_IDLE_SECONDS, is tested and replaced, and the
    request succeeds; without it, that one request meets the dead connection.
    """
    target = urlsplit(postgres_database)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    url = postgres_database.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    overrides = {"db_pool_pre_ping": pre_ping, "db_pool_pre_ping_idle_seconds": 0.1}
    try:
        async for client in _client_for(url, **overrides):
            email = f"idle-{'ping' if pre_ping else 'no-ping'}@example.com"
            me = {"data": {"me": {"email": email}}}
            token = (await signup(client, email))["accessToken"]
            assert await graphql(client, ME, token=token) == me
            await proxy.stop()
            await proxy.start()
            await asyncio.sleep(0.2)
            response = await post_graphql(client, ME, token=token)
            if pre_ping:
                assert response.json() == me
            else:
                assert response.status_code == 503
                assert error_codes(response.json()) == ["SERVICE_UNAVAILABLE"]
                # The failure retired the pool's old connections: the next request works.
                assert await graphql(client, ME, token=token) == me
    finally:
        await proxy.stop()
