"""taskEvents over graphql-transport-ws: what a subscriber receives, and what it never does.

Every test talks to a real uvicorn over a real WebSocket, on SQLite and PostgreSQL;
changes are made over HTTP (or the socket itself), as a second client would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from db.task_writes import NewTask, insert_task
from tests.helpers import error_codes, graphql, signup
from tests.ws_client import serving, socket, user_pk, wait_subscribed

EVENTS = """
subscription Events($parentId: ID) {
  taskEvents(parentId: $parentId) { kind taskId at task { id title updatedAt parent { id } } }
}
"""
CREATE = """
mutation Create($title: String!, $parentId: ID) {
  createTask(input: {title: $title, parentId: $parentId}) { id updatedAt }
}
"""
UPDATE = """
mutation Update($id: ID!, $input: UpdateTaskInput!) { updateTask(id: $id, input: $input) { id } }
"""
DELETE = "mutation Delete($id: ID!) { deleteTask(id: $id) }"


@pytest.fixture
async def url(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as ws_url:
        yield ws_url


async def create(client: httpx.AsyncClient, token: str, title: str, parent: str | None = None) -> str:
    body = await graphql(client, CREATE, {"title": title, "parentId": parent}, token=token)
    assert "errors" not in body, body
    task_id: str = body["data"]["createTask"]["id"]
    return task_id


async def update(client: httpx.AsyncClient, token: str, task_id: str, **values: Any) -> None:
    body = await graphql(client, UPDATE, {"id": task_id, "input": values}, token=token)
    assert "errors" not in body, body


async def next_event(ws: Any, operation_id: str = "1") -> dict[str, Any]:
    message = await ws.receive()
    assert message["type"] == "next" and message["id"] == operation_id, message
    assert "errors" not in message["payload"], message
    event: dict[str, Any] = message["payload"]["data"]["taskEvents"]
    return event


async def test_created_updated_and_deleted_events_carry_the_task_as_committed(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    token = alice["accessToken"]
    async with socket(url, token=token) as ws:
        await ws.subscribe("1", EVENTS)
        await wait_subscribed(app, user_pk(alice["user"]["id"]))

        parent = await create(client, token, "Parent")
        created = await next_event(ws)
        assert created["kind"] == "CREATED"
        assert created["taskId"] == parent
        assert created["task"]["id"] == parent and created["task"]["title"] == "Parent"
        assert created["at"] == created["task"]["updatedAt"]
        datetime.fromisoformat(created["at"])

        await update(client, token, parent, title="Renamed")
        updated = await next_event(ws)
        assert (updated["kind"], updated["taskId"]) == ("UPDATED", parent)
        assert updated["task"]["title"] == "Renamed"
        assert updated["at"] > created["at"]

        child = await create(client, token, "Child", parent)
        grandchild = await create(client, token, "Grandchild", child)
        assert [(await next_event(ws))["taskId"] for _ in range(2)] == [child, grandchild]

        body = await graphql(client, DELETE, {"id": parent}, token=token)
        assert body["data"]["deleteTask"] == parent
        deleted = [await next_event(ws) for _ in range(3)]
        assert {event["kind"] for event in deleted} == {"DELETED"}
        assert [event["task"] for event in deleted] == [None, None, None]
        assert deleted[0]["taskId"] == parent
        assert sorted(event["taskId"] for event in deleted) == sorted([parent, child, grandchild])
        assert await ws.nothing_within(0.3)
