"""Events across processes, a lost listener, and shutdown, with real uvicorn processes.

- Two uvicorn processes on one PostgreSQL database: a change made through one
  reaches a subscriber of the other within 2 s (LISTEN/NOTIFY).
- The listener's connection cut (the suite's TCP proxy): every socket of that process
  closes with 1013 within 5 s, a `connection_init` meanwhile gets 1013, and once the
  database is back new subscriptions deliver within 5 s.
- SIGTERM: sockets close with 1012 (or 1001) and the process exits.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.exceptions import ConnectionClosed

from tests.helpers import TEST_SECRET, signup
from tests.live_server import live_server, sqlite_env
from tests.tcp_proxy import TcpProxy
from tests.ws_client import GraphQLSocket, running, socket, user_pk, wait_subscribed

EVENTS = "subscription { taskEvents { kind taskId } }"
CREATE = 'mutation { createTask(input: {title: "Across"}) { id } }'
ACROSS_PROCESSES_SECONDS = 2.0
RECOVERY_SECONDS = 5.0


def postgres_env(url: str) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "DATABASE_URL": url,
        "AUTO_MIGRATE": "false",
        "JWT_SECRET": TEST_SECRET,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "WARNING",
    }


async def create(http: httpx.AsyncClient, token: str) -> str:
    response = await http.post(
        "/graphql", json={"query": CREATE}, headers={"Authorization": f"Bearer {token}"}
    )
    task_id: str = response.json()["data"]["createTask"]["id"]
    return task_id


async def wait_live(ws: GraphQLSocket, http: httpx.AsyncClient, token: str) -> None:
    """Until the subscription delivers (a client cannot see it start otherwise)."""
    async with asyncio.timeout(RECOVERY_SECONDS):
        while True:
            await create(http, token)
            try:
                await ws.receive(0.3)
                break
            except TimeoutError:
                continue
    while True:  # drain events of probes still in flight
        try:
            await ws.receive(0.3)
        except TimeoutError:
            return


async def test_an_event_reaches_a_subscriber_of_another_process_within_2s(
    postgres_database: str,
) -> None:
    env = postgres_env(postgres_database)
    with live_server(env) as (first_url, _), live_server(env) as (second_url, _):
        async with httpx.AsyncClient(base_url=second_url) as second:
            email = f"{uuid.uuid4().hex[:8]}@example.com"
            alice = await signup(second, email)
            token = alice["accessToken"]
            ws_url = first_url.replace("http://", "ws://") + "/graphql"
            async with socket(ws_url, token=token) as ws:
                await ws.subscribe("1", EVENTS)
                await wait_live(ws, second, token)
                started = time.monotonic()
                task = await create(second, token)
                message = await ws.receive(ACROSS_PROCESSES_SECONDS)
                assert time.monotonic() - started < ACROSS_PROCESSES_SECONDS
                assert message["payload"]["data"]["taskEvents"] == {
                    "kind": "CREATED",
                    "taskId": task,
                }


async def test_a_lost_listener_closes_sockets_with_1013_and_recovers(
    postgres_database: str,
) -> None:
    target = urlsplit(postgres_database)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    url = postgres_database.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    try:
        async with running(url) as (app, client, ws_url):
            alice = await signup(client, f"{uuid.uuid4().hex[:8]}@example.com")
            token = alice["accessToken"]
            async with socket(ws_url, token=token) as first, socket(ws_url, token=token) as idle:
                await first.subscribe("1", EVENTS)
                await wait_subscribed(app, user_pk(alice["user"]["id"]))
                await proxy.stop()
                started = time.monotonic()
                assert await first.close_code(RECOVERY_SECONDS) == 1013
                assert await idle.close_code(RECOVERY_SECONDS) == 1013
                assert time.monotonic() - started < RECOVERY_SECONDS
            async with socket(ws_url, init=False) as refused:
                await refused.send(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                )
                assert await refused.close_code(RECOVERY_SECONDS) == 1013
            await proxy.start()
            restored = time.monotonic()
            event = await _first_event_after_restore(ws_url, client, token)
            assert event["kind"] == "CREATED"
            assert time.monotonic() - restored < RECOVERY_SECONDS
    finally:
        await proxy.stop()


async def _first_event_after_restore(
    ws_url: str, client: httpx.AsyncClient, token: str
) -> dict[str, Any]:
    """Reconnect as a client does after 1013 (again while refused), then change a task."""
    async with asyncio.timeout(RECOVERY_SECONDS):
        while True:
            try:
                async with socket(ws_url, token=token) as ws:
                    await ws.subscribe("1", EVENTS)
                    await wait_live(ws, client, token)
                    task = await create(client, token)
                    message = await ws.receive()
                    event: dict[str, Any] = message["payload"]["data"]["taskEvents"]
                    assert event["taskId"] == task
                    return event
            except (ConnectionClosed, AssertionError):
                await asyncio.sleep(0.1)


async def test_sigterm_closes_sockets_with_1012_and_the_process_exits(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path / "shutdown.db", {"LOG_LEVEL": "WARNING"})
    with live_server(env, extra_args=("--timeout-graceful-shutdown", "5")) as (base_url, process):
        async with httpx.AsyncClient(base_url=base_url) as http:
            alice = await signup(http, "alice@example.com")
        ws_url = base_url.replace("http://", "ws://") + "/graphql"
        async with socket(ws_url, token=alice["accessToken"]) as ws:
            await ws.subscribe("1", EVENTS)
            await ws.subscribe("me", "{ me { email } }")
            assert (await ws.receive())["id"] == "me"
            process.send_signal(signal.SIGTERM)
            assert await ws.close_code() in {1001, 1012}
        assert await asyncio.to_thread(process.wait, 10) == -signal.SIGTERM
