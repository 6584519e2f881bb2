"""Live logins are remembered per worker, and forgotten in every worker the moment they end.

Two apps on one PostgreSQL database play two uvicorn workers. The cache is set to
remember for a minute, so only the LISTEN/NOTIFY path can explain a worker refusing
a token within moments of another worker ending its login.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from auth.live_sessions import LiveSessions
from auth.tokens import TokenType
from main import create_app
from tests.conftest import make_settings
from tests.helpers import graphql, post_graphql, signup
from tests.tcp_proxy import TcpProxy

ME = "{ me { email } }"
LOGOUT_ALL = "mutation { logoutAll }"
LOGOUT = "mutation($token: String!) { logout(refreshToken: $token) }"
NOTIFY_DEADLINE_SECONDS = 5.0


@asynccontextmanager
async def worker(database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, session_cache_seconds=60, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def live_sessions(client: httpx.AsyncClient) -> LiveSessions:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    cache: LiveSessions = app.state.services.live_sessions
    return cache


async def wait_until_listening(client: httpx.AsyncClient) -> None:
    cache = live_sessions(client)
    for _ in range(100):
        if cache.listening:
            return
        await asyncio.sleep(0.05)
    pytest.fail("the session listener did not connect")


async def refused_within(client: httpx.AsyncClient, token: str, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if (await post_graphql(client, ME, token=token)).status_code == 401:
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.mark.parametrize("ending", ["logout", "logoutAll"])
async def test_a_login_ended_in_one_worker_is_refused_by_another_at_once(
    postgres_database: str, ending: str
) -> None:
    async with (
        worker(postgres_database) as first,
        worker(postgres_database) as second,
    ):
        await wait_until_listening(first)
        session = await signup(first, f"two-workers-{ending.lower()}@example.com")
        token = session["accessToken"]
        me = {"data": {"me": {"email": f"two-workers-{ending.lower()}@example.com"}}}
        assert await graphql(first, ME, token=token) == me
        assert await graphql(second, ME, token=token) == me
        # The first worker now answers from memory for the next minute...
        sid = session_id_of(first, token)
        assert live_sessions(first).vouches_for(sid, user_id_of(first, token))
        # ...until the second worker ends the login.
        if ending == "logout":
            body = await graphql(second, LOGOUT, {"token": session["refreshToken"]}, token=token)
        else:
            body = await graphql(second, LOGOUT_ALL, token=token)
        assert "errors" not in body, body
        assert await refused_within(first, token, NOTIFY_DEADLINE_SECONDS)
        assert (await post_graphql(second, ME, token=token)).status_code == 401


async def test_nothing_is_remembered_on_sqlite(tmp_path: Any, sqlite_template: Any) -> None:
    path = tmp_path / "taskql.db"
    path.write_bytes(sqlite_template.read_bytes())
    async with worker(f"sqlite+aiosqlite:///{path}") as client:
        token = (await signup(client, "sqlite@example.com"))["accessToken"]
        assert await graphql(client, ME, token=token) == {
            "data": {"me": {"email": "sqlite@example.com"}}
        }
        cache = live_sessions(client)
        assert not cache.listening
        assert not cache.vouches_for(session_id_of(client, token), user_id_of(client, token))


def session_id_of(client: httpx.AsyncClient, token: str) -> str:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    claims = app.state.services.tokens.decode(token, expected=TokenType.ACCESS)
    return str(claims.session_id)


def user_id_of(client: httpx.AsyncClient, token: str) -> int:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    claims = app.state.services.tokens.decode(token, expected=TokenType.ACCESS)
    return int(claims.user_id)


async def test_nothing_is_trusted_while_the_listener_is_cut_off(postgres_database: str) -> None:
    """A worker that could miss a revocation asks the database again on every request."""
    target = urlsplit(postgres_database)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    url = postgres_database.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    try:
        async with worker(url) as client:
            await wait_until_listening(client)
            token = (await signup(client, "cut-off@example.com"))["accessToken"]
            assert await graphql(client, ME, token=token) == {
                "data": {"me": {"email": "cut-off@example.com"}}
            }
            cache = live_sessions(client)
            sid, user_id = session_id_of(client, token), user_id_of(client, token)
            assert cache.vouches_for(sid, user_id)
            await proxy.stop()
            for _ in range(100):
                if not cache.listening:
                    break
                await asyncio.sleep(0.05)
            assert not cache.listening
            assert not cache.vouches_for(sid, user_id)
            await proxy.start()
            await wait_until_listening(client)
            assert not cache.vouches_for(sid, user_id)  # forgotten, asked afresh
    finally:
        await proxy.stop()
