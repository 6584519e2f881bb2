"""The WebSocket transport's rules: every close code, the limits, and ended logins.

Each test opens real WebSockets to a real uvicorn, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.helpers import graphql, signup
from tests.ws_client import PROTOCOL, running, serving, socket, user_pk, wait_subscribed

EVENTS = "subscription { taskEvents { kind taskId } }"
ME = "{ me { email } }"


@pytest.fixture
async def url(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as ws_url:
        yield ws_url


async def test_the_legacy_graphql_ws_subprotocol_is_refused_with_4406(url: str) -> None:
    async with socket(url, subprotocol="graphql-ws", init=False) as ws:
        assert await ws.close_code() == 4406


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[1, 2]",
        json.dumps({"type": "nonsense"}),
        json.dumps({"type": "subscribe", "payload": {"query": ME}}),
        json.dumps({"type": "subscribe", "id": "1", "payload": {"query": 5}}),
        json.dumps({"type": "subscribe", "id": "1", "payload": {"query": ME, "variables": []}}),
        json.dumps({"type": "complete"}),
        json.dumps({"type": "ping", "payload": "text"}),
    ],
)
async def test_a_malformed_message_closes_with_4400(
    client: httpx.AsyncClient, url: str, message: str
) -> None:
    alice = await signup(client, "alice@example.com")
    async with socket(url, token=alice["accessToken"]) as ws:
        await ws.send(message)
        assert await ws.close_code() == 4400


async def test_a_binary_message_closes_with_4400(client: httpx.AsyncClient, url: str) -> None:
    alice = await signup(client, "alice@example.com")
    async with socket(url, token=alice["accessToken"]) as ws:
        await ws.connection.send(b'{"type": "ping"}')
        assert await ws.close_code() == 4400


async def test_subscribe_before_the_ack_closes_with_4401(url: str) -> None:
    async with socket(url, init=False) as ws:
        await ws.subscribe("1", ME)
        assert await ws.close_code() == 4401


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": 42},
        {"token": "Bearer x"},
    ],
)
async def test_no_token_or_a_bad_one_gets_no_ack_and_closes_with_4403(
    url: str, payload: dict[str, object] | None
) -> None:
    async with socket(url, init=False) as ws:
        message: dict[str, object] = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await ws.send(message)
        assert await ws.close_code() == 4403


async def test_a_refresh_token_or_an_ended_session_is_refused_with_4403(
    client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    async with socket(url, init=False) as ws:
        await ws.send(
            {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {alice['refreshToken']}"},
            }
        )
        assert await ws.close_code() == 4403
    await graphql(client, "mutation { logoutAll }", token=alice["accessToken"])
    async with socket(url, init=False) as ws:
        await ws.send(
            {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {alice['accessToken']}"},
            }
        )
        assert await ws.close_code() == 4403


async def test_the_authorization_key_is_matched_in_any_case(
    client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    async with socket(url, init=False) as ws:
        await ws.send(
            {
                "type": "connection_init",
                "payload": {"AUTHORIZATION": f"bearer {alice['accessToken']}"},
            }
        )
        assert await ws.receive() == {"type": "connection_ack"}
        await ws.subscribe("1", ME)
        assert (await ws.receive())["payload"]["data"]["me"]["email"] == "alice@example.com"


async def test_a_duplicate_id_closes_with_4409_and_a_second_init_with_4429(
    client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    async with socket(url, token=alice["accessToken"]) as ws:
        await ws.subscribe("same", EVENTS)
        await ws.subscribe("same", EVENTS)
        assert await ws.close_code() == 4409
    async with socket(url, token=alice["accessToken"]) as ws:
        await ws.send({"type": "connection_init", "payload": {}})
        assert await ws.close_code() == 4429


async def test_a_ping_gets_a_pong(client: httpx.AsyncClient, url: str) -> None:
    alice = await signup(client, "alice@example.com")
    async with socket(url, token=alice["accessToken"]) as ws:
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}


async def test_limits_init_timeout_sockets_per_user_message_size_and_keepalive(
    database_url: str,
) -> None:
    async with running(
        database_url,
        ws_connection_init_timeout_seconds=0.3,
        ws_max_sockets_per_user=2,
        ws_keepalive_seconds=0.2,
        max_body_bytes=4096,
    ) as (_app, client, url):
        async with socket(url, init=False) as ws:
            assert await ws.close_code(2) == 4408
        alice = await signup(client, "alice@example.com")
        bob = await signup(client, "bob@example.com")
        async with (
            socket(url, token=alice["accessToken"]) as first,
            socket(url, token=alice["accessToken"]),
            socket(url, token=bob["accessToken"]),
        ):
            async with socket(url, init=False) as third:
                await third.send(
                    {
                        "type": "connection_init",
                        "payload": {"Authorization": f"Bearer {alice['accessToken']}"},
                    }
                )
                assert await third.close_code() == 1008
            raw = await asyncio.wait_for(first.connection.recv(), 2)
            assert json.loads(raw) == {"type": "ping"}
            await first.subscribe("big", ME + " " * 5000)
            assert await first.close_code() == 1009


async def test_a_subscriber_too_far_behind_is_closed_with_1013(database_url: str) -> None:
    async with running(database_url, ws_max_queued_events=3) as (app, client, url):
        alice = await signup(client, "alice@example.com")
        token = alice["accessToken"]
        create = 'mutation($p: ID) { createTask(input: {title: "t", parentId: $p}) { id } }'
        parent = (await graphql(client, create, {"p": None}, token=token))["data"]["createTask"][
            "id"
        ]
        for _ in range(6):
            await graphql(client, create, {"p": parent}, token=token)
        async with socket(url, token=token) as ws:
            await ws.subscribe("1", EVENTS)
            await wait_subscribed(app, user_pk(alice["user"]["id"]))
            await graphql(
                client, "mutation($id: ID!) { deleteTask(id: $id) }", {"id": parent}, token=token
            )
            assert await ws.close_code() == 1013


async def test_introspection_is_refused_over_the_socket_in_production(database_url: str) -> None:
    async with running(database_url, app_env="production") as (_app, client, url):
        alice = await signup(client, "alice@example.com")
        async with socket(url, token=alice["accessToken"]) as ws:
            await ws.subscribe("1", "{ __schema { types { name } } }")
            message = await ws.receive()
            assert message["type"] == "error"
            assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_cross_site_page_cannot_open_a_socket(url: str) -> None:
    with pytest.raises(InvalidStatus, match="403"):
        async with connect(url, subprotocols=[PROTOCOL], origin="https://evil.example"):  # type: ignore[list-item]
            pass
