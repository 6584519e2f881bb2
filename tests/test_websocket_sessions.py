"""A socket lives as long as its login: every way a login ends closes it with 4403.

Sockets of other logins stay open (refreshing keeps the login), and a socket whose
access token expires closes within 2 s of its `exp`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from auth.tokens import TokenType
from tests.helpers import DEFAULT_PASSWORD, graphql, signup
from tests.ws_client import running, serving, socket

ME = "{ me { email } }"
LOGIN = """
mutation Login($email: String!) {
  login(input: {email: $email, password: "correct horse battery"}) { accessToken refreshToken }
}
"""
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
CLOSE_WITHIN_SECONDS = 3.0


@pytest.fixture
async def url(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as ws_url:
        yield ws_url


async def login(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    body = await graphql(client, LOGIN, {"email": email})
    payload: dict[str, Any] = body["data"]["login"]
    return payload


async def end_by_logout(client: httpx.AsyncClient, ended: dict[str, Any]) -> None:
    body = await graphql(
        client,
        "mutation($t: String!) { logout(refreshToken: $t) }",
        {"t": ended["refreshToken"]},
        token=ended["accessToken"],
    )
    assert body["data"]["logout"] is True


async def end_by_logout_all(client: httpx.AsyncClient, ended: dict[str, Any]) -> None:
    body = await graphql(client, "mutation { logoutAll }", token=ended["accessToken"])
    assert body["data"]["logoutAll"] is True


async def end_by_change_password(client: httpx.AsyncClient, ended: dict[str, Any]) -> None:
    body = await graphql(
        client,
        "mutation($c: String!) { changePassword(currentPassword: $c, newPassword: $c) "
        "{ accessToken } }",
        {"c": DEFAULT_PASSWORD},
        token=ended["accessToken"],
    )
    assert "errors" not in body, body


async def end_by_refresh_token_reuse(client: httpx.AsyncClient, ended: dict[str, Any]) -> None:
    await graphql(client, REFRESH, {"t": ended["refreshToken"]})
    reused = await graphql(client, REFRESH, {"t": ended["refreshToken"]})
    assert reused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def end_by_delete_account(client: httpx.AsyncClient, ended: dict[str, Any]) -> None:
    body = await graphql(
        client,
        "mutation($p: String!) { deleteAccount(password: $p) }",
        {"p": DEFAULT_PASSWORD},
        token=ended["accessToken"],
    )
    assert body["data"]["deleteAccount"] is True, body


ENDS_EVERY_LOGIN = {end_by_logout_all, end_by_change_password, end_by_delete_account}


@pytest.mark.parametrize(
    "end_session",
    [
        end_by_logout,
        end_by_logout_all,
        end_by_change_password,
        end_by_refresh_token_reuse,
        end_by_delete_account,
    ],
)
async def test_every_way_a_login_ends_closes_its_sockets_with_4403(
    client: httpx.AsyncClient, url: str, end_session: Any
) -> None:
    await signup(client, "alice@example.com")
    ended = await login(client, "alice@example.com")
    kept = await login(client, "alice@example.com")
    bob = await signup(client, "bob@example.com")
    async with (
        socket(url, token=ended["accessToken"]) as ended_socket,
        socket(url, token=kept["accessToken"]) as kept_socket,
        socket(url, token=bob["accessToken"]) as bobs_socket,
    ):
        await ended_socket.subscribe("1", "subscription { taskEvents { kind } }")
        started = time.monotonic()
        await end_session(client, ended)
        assert await ended_socket.close_code(CLOSE_WITHIN_SECONDS) == 4403
        assert time.monotonic() - started < CLOSE_WITHIN_SECONDS
        await bobs_socket.subscribe("me", ME)
        assert (await bobs_socket.receive())["payload"]["data"]["me"]["email"] == "bob@example.com"
        if end_session not in ENDS_EVERY_LOGIN:
            await kept_socket.subscribe("me", ME)
            answer = await kept_socket.receive()
            assert answer["payload"]["data"]["me"]["email"] == "alice@example.com"


async def test_refreshing_keeps_the_socket_open(client: httpx.AsyncClient, url: str) -> None:
    alice = await signup(client, "alice@example.com")
    async with socket(url, token=alice["accessToken"]) as ws:
        renewed = await graphql(client, REFRESH, {"t": alice["refreshToken"]})
        assert "errors" not in renewed
        await ws.subscribe("me", ME)
        assert (await ws.receive())["payload"]["data"]["me"]["email"] == "alice@example.com"


async def test_a_socket_closes_with_4403_when_its_access_token_expires(database_url: str) -> None:
    async with running(database_url, access_token_ttl_seconds=3) as (app, client, url):
        alice = await signup(client, "alice@example.com")
        claims = app.state.services.tokens.decode(alice["accessToken"], expected=TokenType.ACCESS)
        async with socket(url, token=alice["accessToken"]) as ws:
            await ws.subscribe("1", "subscription { taskEvents { kind } }")
            assert await ws.close_code(6) == 4403
            closed_at = time.time()
        assert claims.expires_at.timestamp() <= closed_at < claims.expires_at.timestamp() + 2
