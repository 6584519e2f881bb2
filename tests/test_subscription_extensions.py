"""Schema extensions and custom directives take effect on WebSocket operations.

Each comparison runs the same operation over a real graphql-transport-ws socket
against taskql's schema and a stock `strawberry.Schema` built from the same types
with the same extensions and directives: the messages sent, the hooks each extension
saw (`on_operation`, `on_parse`, `on_validate`, `on_execute`, `get_results`) and the
fields its `resolve` hook saw must agree. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import pytest
import strawberry
from fastapi import FastAPI

from main import create_app
from schema import Mutation, Query, Subscription, build_schema
from schema.node import Node
from tests.conftest import make_settings
from tests.helpers import signup
from tests.test_schema_extensions import FieldRecorder, Recorder, upper
from tests.test_tasks import create_task
from tests.ws_client import WAIT_SECONDS, serving, socket, user_pk, wait_subscribed

EVENTS = "subscription Events { taskEvents { kind task { title @upper tags } } }"
INVALID = "subscription Bad { taskEvents { kind nope } }"
QUERY = "query Me { me { email } tasks(first: 1) { edges { node { title @upper } } } }"


class ReadRecorder(Recorder):
    """Recorder, but not of mutations (those that make users and events, concurrently)."""

    seen: ClassVar[list[str]] = []

    @property
    def calls(self) -> list[str]:  # type: ignore[override]
        query = self.execution_context.query or ""
        return [] if query.startswith("mutation") else self.seen


@pytest.fixture
async def apps(database_url: str) -> AsyncIterator[dict[str, tuple[FastAPI, str]]]:
    """taskql's schema and a stock one, with the same extensions, each served over
    uvicorn on the same database: app and ws:// URL by name."""
    settings = make_settings(database_url)
    extensions = [ReadRecorder, FieldRecorder]
    stock = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Node],
        extensions=extensions,
        directives=[upper],
    )
    made = {
        "taskql": create_app(
            settings, schema=build_schema(settings, extensions=extensions, directives=[upper])
        ),
        "stock": create_app(settings, schema=stock),
    }
    async with (
        made["taskql"].router.lifespan_context(made["taskql"]),
        made["stock"].router.lifespan_context(made["stock"]),
        serving(made["taskql"]) as taskql_url,
        serving(made["stock"]) as stock_url,
    ):
        yield {"taskql": (made["taskql"], taskql_url), "stock": (made["stock"], stock_url)}


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _signed_up(app: FastAPI) -> tuple[str, int]:
    async with _client(app) as http:
        signed = await signup(http, "ext@example.com")
    return signed["accessToken"], user_pk(signed["user"]["id"])


async def _hooks_settle() -> list[str]:
    """ReadRecorder.seen once the operation's results were collected and its last hooks ran
    (the server ends the operation after its last message)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while "results" not in ReadRecorder.seen:  # noqa: ASYNC110 - polls another task's state
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    return list(ReadRecorder.seen)


def _uncoded(message: dict[str, Any]) -> dict[str, Any]:
    """`message` without its errors' codes (taskql's own; a stock schema has none)."""
    payload = message.get("payload")
    if message["type"] == "error":
        return {**message, "payload": [_without_code(error) for error in payload]}
    if isinstance(payload, dict) and "errors" in payload:
        errors = [_without_code(error) for error in payload["errors"]]
        return {**message, "payload": {**payload, "errors": errors}}
    return message


def _without_code(error: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in error.items() if key != "extensions"}


def _event_paths() -> list[str]:
    return sorted(path for path in FieldRecorder.paths if path.startswith("taskEvents"))


async def _unsubscribed(app: FastAPI, user_id: int) -> None:
    """Until the user's subscription stopped listening (its operation has ended)."""
    hub = app.state.services.task_events
    async with asyncio.timeout(WAIT_SECONDS):
        while hub.subscriber_count(user_id):  # noqa: ASYNC110 - polls another task's state
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the operation's last hooks run after the listener ends


async def test_subscription_events_run_every_hook_as_on_a_stock_schema(
    apps: dict[str, tuple[FastAPI, str]],
) -> None:
    token, user_id = await _signed_up(apps["taskql"][0])
    seen = {}
    for name, (app, url) in apps.items():
        ReadRecorder.seen.clear()
        FieldRecorder.paths.clear()
        async with socket(url, token=token) as ws:
            await ws.subscribe("1", EVENTS)
            await wait_subscribed(app, user_id)
            subscribed = list(ReadRecorder.seen)
            async with _client(app) as http:
                await create_task(http, token, title=f"made on {name}", tags=["t"])
            event = await ws.receive()
            await ws.send({"id": "1", "type": "complete"})
            await _unsubscribed(app, user_id)
            calls = list(ReadRecorder.seen)
        seen[name] = (event, subscribed, calls, _event_paths())
    taskql, stock = seen["taskql"], seen["stock"]
    assert taskql[0]["payload"]["data"] == {
        "taskEvents": {"kind": "CREATED", "task": {"title": "MADE ON TASKQL", "tags": ["t"]}}
    }
    assert stock[0]["payload"]["data"]["taskEvents"]["task"]["title"] == "MADE ON STOCK"
    assert taskql[0]["payload"]["extensions"] == stock[0]["payload"]["extensions"]
    assert taskql[1:] == stock[1:]
    assert taskql[1] == [
        "operation:start",
        "parse:start",
        "parse:end document=True",
        "validate:start",
        "validate:end errors=0",
        "execute:start",
        "execute:end result=False",
    ]
    assert taskql[2] == [*taskql[1], "results"]  # the event's results; `complete` cancels
    assert taskql[3] == [
        "taskEvents",
        "taskEvents.kind",
        "taskEvents.task",
        "taskEvents.task.tags",
        "taskEvents.task.title",
    ]


@pytest.mark.parametrize("query", [INVALID, QUERY], ids=["invalid-subscription", "query"])
async def test_one_result_operations_run_every_hook_as_on_a_stock_schema(
    apps: dict[str, tuple[FastAPI, str]], query: str
) -> None:
    token, _ = await _signed_up(apps["taskql"][0])
    async with _client(apps["taskql"][0]) as http:
        await create_task(http, token, title="quiet")
    seen = {}
    for name, (_app, url) in apps.items():
        ReadRecorder.seen.clear()
        FieldRecorder.paths.clear()
        async with socket(url, token=token) as ws:
            await ws.subscribe("1", query)
            messages = [await ws.receive()]
            if messages[0]["type"] == "next":
                messages.append(await ws.receive())
            calls = await _hooks_settle()
        seen[name] = ([_uncoded(message) for message in messages], calls, FieldRecorder.paths)
    stock_messages, stock_calls, stock_paths = seen["stock"]
    # A stock schema collects the results of an operation refused before execution
    # twice (`Schema._stream`, then `_handle_execution_result`); taskql once.
    once = [
        call
        for i, call in enumerate(stock_calls)
        if not (call == "results" and stock_calls[i - 1 : i] == ["results"])
    ]
    assert seen["taskql"] == (stock_messages, once, stock_paths)
    assert "validate:start" in seen["taskql"][1]
    if query == QUERY:
        assert seen["taskql"][2]  # the `resolve` hook saw the query's fields
