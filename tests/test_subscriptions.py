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


async def create(
    client: httpx.AsyncClient, token: str, title: str, parent: str | None = None
) -> str:
    body = await graphql(client, CREATE, {"title": title, "parentId": parent}, token=token)
    assert "errors" not in body, body
    task_id: str = body["data"]["createTask"]["id"]
    return task_id


async def update(client: httpx.AsyncClient, token: str, task_id: str, **values: Any) -> None:
    body = await graphql(client, UPDATE, {"id": task_id, "input": values}, token=token)
    assert "errors" not in body, body


async def next_event(ws: Any, operation_id: str = "1") -> dict[str, Any]:
    message = await ws.receive()
    assert (message["type"], message["id"]) == ("next", operation_id), message
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
        assert (created["task"]["id"], created["task"]["title"]) == (parent, "Parent")
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


async def test_parent_id_sees_subtasks_joining_and_leaving_and_nothing_else(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    token = alice["accessToken"]
    parent = await create(client, token, "Parent")
    other = await create(client, token, "Other")
    async with socket(url, token=token) as ws:
        await ws.subscribe("1", EVENTS, {"parentId": parent})
        await wait_subscribed(app, user_pk(alice["user"]["id"]))
        await create(client, token, "Elsewhere", other)
        await update(client, token, other, title="Other, renamed")
        inside = await create(client, token, "Inside", parent)
        assert (await next_event(ws))["taskId"] == inside
        outside = await create(client, token, "Moves in later", other)
        await update(client, token, inside, parentId=other)
        left = await next_event(ws)
        assert (left["kind"], left["taskId"]) == ("UPDATED", inside)
        assert left["task"]["parent"]["id"] == other
        await update(client, token, outside, parentId=parent)
        joined = await next_event(ws)
        assert (joined["kind"], joined["taskId"]) == ("UPDATED", outside)
        await graphql(client, DELETE, {"id": parent}, token=token)
        gone = await next_event(ws)
        assert (gone["kind"], gone["taskId"]) == ("DELETED", outside)
        assert await ws.nothing_within(0.3)
    async with socket(url, token=token) as ws:  # an explicit null is no filter
        await ws.subscribe("1", EVENTS, {"parentId": None})
        await wait_subscribed(app, user_pk(alice["user"]["id"]))
        top = await create(client, token, "Top level")
        assert (await next_event(ws))["taskId"] == top


async def test_a_missing_or_foreign_parent_id_is_one_not_found_error(
    client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    bob = await signup(client, "bob@example.com")
    alices_task = await create(client, alice["accessToken"], "Alice's")
    missing = await create(client, bob["accessToken"], "Soon gone")
    await graphql(client, DELETE, {"id": missing}, token=bob["accessToken"])
    async with socket(url, token=bob["accessToken"]) as ws:
        errors = []
        for number, parent in enumerate([alices_task, missing, "not-an-id"], start=1):
            await ws.subscribe(str(number), EVENTS, {"parentId": parent})
            message = await ws.receive()
            assert (message["type"], message["id"]) == ("error", str(number)), message
            errors.append(message["payload"])
        assert errors[0] == errors[1] == errors[2]
        assert [error["extensions"]["code"] for error in errors[0]] == ["NOT_FOUND"]
        await ws.subscribe("4", "{ me { email } }")  # the socket stays open
        assert (await ws.receive())["payload"]["data"]["me"]["email"] == "bob@example.com"


async def test_a_subscriber_never_receives_another_users_events(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    bob = await signup(client, "bob@example.com")
    alices = await create(client, alice["accessToken"], "Alice's")
    async with socket(url, token=bob["accessToken"]) as ws:
        await ws.subscribe("1", EVENTS)
        await ws.subscribe("2", EVENTS, {"parentId": alices})
        assert error_codes((await ws.receive())["payload"] and {"errors": []}) == []
        await wait_subscribed(app, user_pk(bob["user"]["id"]))
        for number in range(15):
            child = await create(client, alice["accessToken"], f"Child {number}", alices)
            await update(client, alice["accessToken"], child, completed=True)
        await graphql(client, DELETE, {"id": alices}, token=alice["accessToken"])
        bobs = await create(client, bob["accessToken"], "Bob's")
        event = await next_event(ws)
        assert (event["kind"], event["taskId"]) == ("CREATED", bobs)
        assert await ws.nothing_within(0.3)


async def test_refused_and_rolled_back_writes_send_nothing(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    token = alice["accessToken"]
    alice_id = user_pk(alice["user"]["id"])
    async with socket(url, token=token) as ws:
        await ws.subscribe("1", EVENTS)
        await wait_subscribed(app, alice_id)
        refused = await graphql(client, CREATE, {"title": "   "}, token=token)
        assert error_codes(refused) == ["BAD_USER_INPUT"]
        async with app.state.services.session_factory() as session:
            new = NewTask("Rolled back", None, 0, None, None, ())
            await insert_task(session, owner_id=alice_id, new=new)
            await session.rollback()
        committed = await create(client, token, "Committed")
        event = await next_event(ws)
        assert (event["kind"], event["taskId"]) == ("CREATED", committed)
        assert await ws.nothing_within(0.3)


async def test_events_of_one_task_arrive_in_commit_order(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    token = alice["accessToken"]
    async with socket(url, token=token) as ws:
        await ws.subscribe("1", "subscription { taskEvents { kind at } }")
        await wait_subscribed(app, user_pk(alice["user"]["id"]))
        task = await create(client, token, "Busy")
        for number in range(20):
            await update(client, token, task, title=f"Version {number}")
        # Read before the delete: an event whose task is gone when it is read is dropped.
        events = [await next_event(ws) for _ in range(21)]
        await graphql(client, DELETE, {"id": task}, token=token)
        events.append(await next_event(ws))
    assert [event["kind"] for event in events] == ["CREATED"] + ["UPDATED"] * 20 + ["DELETED"]
    moments = [event["at"] for event in events]
    assert moments == sorted(moments)
    assert len(set(moments)) == 22


async def test_queries_and_mutations_run_over_the_socket_as_its_user(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    async with socket(url, token=alice["accessToken"]) as ws:
        await ws.subscribe("events", EVENTS)
        await wait_subscribed(app, user_pk(alice["user"]["id"]))
        await ws.subscribe("create", CREATE, {"title": "Over the socket"})
        replies = [await ws.receive() for _ in range(3)]
        by_kind = {(reply["type"], reply["id"]): reply for reply in replies}
        created = by_kind[("next", "create")]["payload"]["data"]["createTask"]
        assert ("complete", "create") in by_kind
        event = by_kind[("next", "events")]["payload"]["data"]["taskEvents"]
        assert (event["kind"], event["taskId"]) == ("CREATED", created["id"])
        await ws.subscribe("me", "{ me { email } tasks { totalCount } }")
        answer = await ws.receive()
        assert answer["payload"]["data"] == {
            "me": {"email": "alice@example.com"},
            "tasks": {"totalCount": 1},
        }


async def test_document_errors_are_coded_on_their_id_and_the_socket_stays_open(
    client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    deep = "subscription { taskEvents { task { " + "parent { " * 12 + "id" + " }" * 15
    async with socket(url, token=alice["accessToken"]) as ws:
        for number, (document, code) in enumerate(
            [
                ("subscription { taskEvents { ", "GRAPHQL_PARSE_FAILED"),
                (deep, "GRAPHQL_VALIDATION_FAILED"),
                ("subscription { taskEvents { nope } }", "GRAPHQL_VALIDATION_FAILED"),
                (
                    "subscription { taskEvents(parentId: true) { kind } }",
                    "GRAPHQL_VALIDATION_FAILED",
                ),
            ]
        ):
            await ws.subscribe(str(number), document)
            message = await ws.receive()
            assert (message["type"], message["id"]) == ("error", str(number)), message
            assert [error["extensions"]["code"] for error in message["payload"]] == [code]
        await ws.subscribe("last", "{ me { email } }")
        assert (await ws.receive())["type"] == "next"


async def test_an_eleventh_subscription_is_rate_limited(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    alice = await signup(client, "alice@example.com")
    async with socket(url, token=alice["accessToken"]) as ws:
        for number in range(10):
            await ws.subscribe(str(number), EVENTS)
        await wait_subscribed(app, user_pk(alice["user"]["id"]), 10)
        await ws.subscribe("10", EVENTS)
        message = await ws.receive()
        assert (message["type"], message["id"]) == ("error", "10")
        assert message["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
        await ws.send({"id": "3", "type": "complete"})
        await ws.subscribe("11", EVENTS)  # a freed place can be taken again
        await wait_subscribed(app, user_pk(alice["user"]["id"]), 10)
        task = await create(client, alice["accessToken"], "Seen ten times")
        seen = [await ws.receive() for _ in range(10)]
        assert {message["payload"]["data"]["taskEvents"]["taskId"] for message in seen} == {task}
        assert sorted(message["id"] for message in seen) == sorted(
            [str(n) for n in range(10) if n != 3] + ["11"]
        )
