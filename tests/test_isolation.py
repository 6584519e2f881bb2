"""Per-user isolation: B reaches none of A's tasks by any path, and A's rows stay as they were.

Each path is tried with A's real id and with a well-formed id that exists for
nobody; the two answers must be identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from schema.node import to_global_id
from tests.conftest import scalar
from tests.helpers import graphql
from tests.test_tasks import CREATE, DELETE, UPDATE, create_task, user_token

MISSING_ID = to_global_id("Task", 999_999)


@dataclass
class World:
    a_token: str
    b_token: str
    a_root: dict[str, Any]
    a_child: dict[str, Any]
    b_task: dict[str, Any]
    a_user_id: str


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    a_token = await user_token(client, "alice@example.com")
    b_token = await user_token(client, "bob@example.com")
    a_root = await create_task(client, a_token, title="A secret", tags=["private"])
    a_child = await create_task(client, a_token, title="A child", parentId=a_root["id"])
    b_task = await create_task(client, b_token, title="B own")
    me = await graphql(client, "{ me { id } }", token=a_token)
    return World(a_token, b_token, a_root, a_child, b_task, me["data"]["me"]["id"])


async def a_rows(app: FastAPI) -> tuple[Any, ...]:
    """A's task rows and tags, straight from the database."""
    return (
        await scalar(
            app,
            "SELECT count(*) FROM tasks t JOIN users u ON u.id = t.owner_id "
            "WHERE u.email = 'alice@example.com'",
        ),
        await scalar(app, "SELECT title FROM tasks WHERE title LIKE 'A secret%'"),
        await scalar(
            app, "SELECT count(*) FROM tasks WHERE title = 'A child' AND parent_id IS NOT NULL"
        ),
        await scalar(app, "SELECT count(*) FROM task_tags WHERE tag = 'private'"),
        await scalar(app, "SELECT updated_at FROM tasks WHERE title = 'A secret'"),
    )


QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("task", "query($id: ID!) { task(id: $id) { id title } }", {}),
    ("node", "query($id: ID!) { node(id: $id) { id ... on Task { title } } }", {}),
    ("nodes", "query($id: ID!) { nodes(ids: [$id]) { id } }", {}),
    (
        "filter parentId",
        "query($id: ID!) { tasks(filter: {parentId: $id}) { totalCount edges { node { id } } } }",
        {},
    ),
    (
        "me.tasks filter parentId",
        "query($id: ID!) { me { tasks(filter: {parentId: $id}) { totalCount } } }",
        {},
    ),
    ("updateTask", UPDATE, {"input": {"title": "pwned", "completed": True}}),
    ("updateTask tags", UPDATE, {"input": {"tags": []}}),
    ("deleteTask", DELETE, {}),
]


def without_locations(body: dict[str, Any]) -> dict[str, Any]:
    """The answer, minus the parts that legitimately differ (request ids)."""
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)
    return body


@pytest.mark.parametrize("case", QUERIES, ids=[case[0] for case in QUERIES])
async def test_another_users_id_answers_like_a_missing_one(
    client: httpx.AsyncClient, app: FastAPI, world: World, case: tuple[str, str, dict[str, Any]]
) -> None:
    name, query, extra = case
    before = await a_rows(app)
    for target in (world.a_root["id"], world.a_child["id"]):
        foreign = await graphql(client, query, {"id": target, **extra}, token=world.b_token)
        missing = await graphql(client, query, {"id": MISSING_ID, **extra}, token=world.b_token)
        assert without_locations(foreign) == without_locations(missing), name
        assert "A secret" not in str(foreign)
        assert "A child" not in str(foreign)
    assert await a_rows(app) == before


async def test_parent_id_of_another_user_answers_like_a_missing_one(
    client: httpx.AsyncClient, app: FastAPI, world: World
) -> None:
    before = await a_rows(app)
    answers = []
    for parent in (world.a_root["id"], MISSING_ID):
        created = await graphql(
            client, CREATE, {"input": {"title": "x", "parentId": parent}}, token=world.b_token
        )
        moved = await graphql(
            client,
            UPDATE,
            {"id": world.b_task["id"], "input": {"parentId": parent}},
            token=world.b_token,
        )
        answers.append((without_locations(created), without_locations(moved)))
    assert answers[0] == answers[1]
    assert answers[0][0]["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "parentId",
    }
    assert await scalar(app, "SELECT count(*) FROM tasks WHERE title = 'x'") == 0
    assert await a_rows(app) == before


async def test_lists_counts_and_nested_paths_show_only_own_tasks(
    client: httpx.AsyncClient, app: FastAPI, world: World
) -> None:
    query = """
    {
      tasks { totalCount edges { node { title parent { title } owner { email } tags
        subtasks { totalCount edges { node { title } } } } } }
      me { email tasks(filter: {search: "A"}) { totalCount edges { node { title } } } }
      byTag: tasks(filter: {tags: ["private"]}) { totalCount }
      bySearch: tasks(filter: {search: "secret"}) { totalCount }
      children: tasks(filter: {topLevel: false}) { totalCount }
    }
    """
    body = await graphql(client, query, token=world.b_token)
    assert "errors" not in body, body
    data = body["data"]
    assert data["tasks"]["totalCount"] == 1
    node = data["tasks"]["edges"][0]["node"]
    assert node == {
        "title": "B own",
        "parent": None,
        "owner": {"email": "bob@example.com"},
        "tags": [],
        "subtasks": {"totalCount": 0, "edges": []},
    }
    assert data["me"]["tasks"]["totalCount"] == 0
    assert data["byTag"]["totalCount"] == 0
    assert data["bySearch"]["totalCount"] == 0
    assert data["children"]["totalCount"] == 0
    user_node = await graphql(
        client,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": world.a_user_id},
        token=world.b_token,
    )
    assert user_node == {"data": {"node": None}}


async def test_a_cursor_of_another_user_is_refused_like_garbage(
    client: httpx.AsyncClient, world: World
) -> None:
    page = "query($after: String) { tasks(first: 1, after: $after) { edges { node { title } } } }"
    a_page = await graphql(
        client,
        "{ tasks(first: 1) { pageInfo { endCursor } } }",
        token=world.a_token,
    )
    a_cursor = a_page["data"]["tasks"]["pageInfo"]["endCursor"]
    assert (await graphql(client, page, {"after": a_cursor}, token=world.a_token))["data"]
    foreign = await graphql(client, page, {"after": a_cursor}, token=world.b_token)
    garbage = await graphql(client, page, {"after": "garbage"}, token=world.b_token)
    assert without_locations(foreign) == without_locations(garbage)
    assert foreign["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    subtasks = """
    query($id: ID!, $after: String) {
      task(id: $id) { subtasks(after: $after) { edges { node { title } } } }
    }
    """
    b_foreign = await graphql(
        client, subtasks, {"id": world.b_task["id"], "after": a_cursor}, token=world.b_token
    )
    assert b_foreign["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
