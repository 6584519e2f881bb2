"""Per-user isolation: B reaches none of A's tasks by any path, and A's rows stay as they were.

Each path is tried with A's real id and with a well-formed id that exists for
nobody; the two answers must be identical.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

import cli
from schema.node import to_global_id
from tests.conftest import scalar
from tests.helpers import graphql, post_graphql
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


# An administrator and a suspended user beside A and B: every account field and mutation,
# by every path (users, node, nodes, User.tasks), and the database checked afterwards.

ACCOUNT_FIELDS = "id email name role suspended emailVerified"


@dataclass
class RolesWorld:
    a_token: str
    b_token: str
    admin_token: str
    suspended_token: str
    a_user_id: str
    suspended_user_id: str
    a_task_id: str


@pytest.fixture
async def roles_world(
    client: httpx.AsyncClient,
    world: World,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> RolesWorld:
    admin_token = await user_token(client, "root@example.com")
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await asyncio.to_thread(cli.main, ["promote", "root@example.com"]) == 0
    suspended_token = await user_token(client, "sam@example.com")
    await create_task(client, suspended_token, title="S own")
    me = await graphql(client, "{ me { id } }", token=suspended_token)
    suspended_id = me["data"]["me"]["id"]
    body = await graphql(
        client,
        'mutation($id: ID!) { suspendUser(id: $id, reason: "abuse") { suspended } }',
        {"id": suspended_id},
        token=admin_token,
    )
    assert body == {"data": {"suspendUser": {"suspended": True}}}
    return RolesWorld(
        a_token=world.a_token,
        b_token=world.b_token,
        admin_token=admin_token,
        suspended_token=suspended_token,
        a_user_id=world.a_user_id,
        suspended_user_id=suspended_id,
        a_task_id=world.a_root["id"],
    )


async def account_rows(app: FastAPI) -> list[Any]:
    """Every account's state, straight from the database."""
    async with app.state.services.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT email, name, role, email_verified, suspended_at IS NOT NULL, "
                "(SELECT count(*) FROM tasks WHERE owner_id = users.id) FROM users ORDER BY id"
            )
        )
        return [tuple(row) for row in rows]


ADMIN_ONLY: list[tuple[str, str, dict[str, Any]]] = [
    ("users", f"{{ users {{ totalCount edges {{ node {{ {ACCOUNT_FIELDS} }} }} }} }}", {}),
    (
        "suspendUser",
        'mutation($id: ID!) { suspendUser(id: $id, reason: "x") { suspended } }',
        {"id": "a"},
    ),
    ("reinstateUser", "mutation($id: ID!) { reinstateUser(id: $id) { suspended } }", {"id": "s"}),
]


@pytest.mark.parametrize("case", ADMIN_ONLY, ids=[case[0] for case in ADMIN_ONLY])
async def test_a_user_gets_forbidden_for_admin_fields(
    client: httpx.AsyncClient, app: FastAPI, roles_world: RolesWorld, case: tuple[str, str, Any]
) -> None:
    name, query, variables = case
    before = (await a_rows(app), await account_rows(app))
    ids = {"a": roles_world.a_user_id, "s": roles_world.suspended_user_id}
    resolved = {key: ids[value] for key, value in variables.items()}
    body = await graphql(client, query, resolved, token=roles_world.b_token)
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"], name
    assert body["data"] is None
    assert "alice" not in str(body)
    assert (await a_rows(app), await account_rows(app)) == before


async def test_a_user_sees_no_other_account_by_node_or_nodes(
    client: httpx.AsyncClient, roles_world: RolesWorld
) -> None:
    for target in (roles_world.a_user_id, roles_world.suspended_user_id):
        query = f"query($id: ID!) {{ node(id: $id) {{ id ... on User {{ {ACCOUNT_FIELDS} }} }} }}"
        assert await graphql(client, query, {"id": target}, token=roles_world.b_token) == {
            "data": {"node": None}
        }
        nodes = await graphql(
            client,
            "query($id: ID!) { nodes(ids: [$id]) { id } }",
            {"id": target},
            token=roles_world.b_token,
        )
        assert nodes == {"data": {"nodes": [None]}}


async def test_an_admin_sees_every_account_but_no_other_accounts_tasks(
    client: httpx.AsyncClient, app: FastAPI, roles_world: RolesWorld
) -> None:
    before = (await a_rows(app), await account_rows(app))
    token = roles_world.admin_token
    listed = await graphql(
        client, f"{{ users {{ edges {{ node {{ {ACCOUNT_FIELDS} }} }} }} }}", token=token
    )
    accounts = {edge["node"]["email"]: edge["node"] for edge in listed["data"]["users"]["edges"]}
    assert set(accounts) == {
        "alice@example.com",
        "bob@example.com",
        "root@example.com",
        "sam@example.com",
    }
    assert accounts["sam@example.com"]["suspended"] is True
    assert accounts["root@example.com"]["role"] == "ADMIN"

    with_tasks = await graphql(
        client, "{ users { edges { node { email tasks { totalCount } } } } }", token=token
    )
    assert with_tasks["data"] is None
    assert {error["extensions"]["code"] for error in with_tasks["errors"]} == {"FORBIDDEN"}
    own = await graphql(client, "{ me { tasks { totalCount } } }", token=token)
    assert own == {"data": {"me": {"tasks": {"totalCount": 0}}}}

    node_query = (
        "query($id: ID!) { node(id: $id) { id ... on User { email tasks { totalCount } } } }"
    )
    for target in (roles_world.a_user_id, roles_world.suspended_user_id):
        body = await graphql(client, node_query, {"id": target}, token=token)
        assert body["data"] == {"node": None}
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["errors"][0]["path"] == ["node", "tasks"]
        fields = await graphql(
            client,
            f"query($id: ID!) {{ node(id: $id) {{ ... on User {{ {ACCOUNT_FIELDS} }} }} }}",
            {"id": target},
            token=token,
        )
        assert fields["data"]["node"]["id"] == target
        listed_nodes = await graphql(
            client,
            "query($id: ID!) { nodes(ids: [$id]) { ... on User { email tasks { totalCount } } } }",
            {"id": target},
            token=token,
        )
        assert listed_nodes["data"] == {"nodes": [None]}
        assert listed_nodes["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # A's task stays out of reach, exactly like a task that does not exist.
    for name, query, extra in QUERIES:
        foreign = await graphql(client, query, {"id": roles_world.a_task_id, **extra}, token=token)
        missing = await graphql(client, query, {"id": MISSING_ID, **extra}, token=token)
        assert without_locations(foreign) == without_locations(missing), name
    assert (await a_rows(app), await account_rows(app)) == before


SUSPENDED_PATHS = [
    "{ me { id } }",
    "{ tasks { totalCount } }",
    "{ users { totalCount } }",
    "query($id: ID!) { node(id: $id) { id } }",
    "query($id: ID!) { nodes(ids: [$id]) { id } }",
    "mutation { requestEmailVerification }",
    'mutation { changeEmail(newEmail: "new@example.com", password: "correct horse battery") }',
    'mutation { updateProfile(input: {name: "x"}) { name } }',
    'mutation { deleteAccount(password: "correct horse battery") }',
    'mutation { createTask(input: {title: "x"}) { id } }',
    'mutation($id: ID!) { suspendUser(id: $id, reason: "x") { id } }',
    "mutation($id: ID!) { reinstateUser(id: $id) { id } }",
    "mutation { logoutAll }",
]


@pytest.mark.parametrize("query", SUSPENDED_PATHS)
async def test_a_suspended_users_tokens_open_nothing(
    client: httpx.AsyncClient, app: FastAPI, roles_world: RolesWorld, query: str
) -> None:
    before = (await a_rows(app), await account_rows(app))
    variables = {"id": roles_world.suspended_user_id} if "$id" in query else None
    response = await post_graphql(client, query, variables, token=roles_world.suspended_token)
    assert response.status_code == 401
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]
    assert (await a_rows(app), await account_rows(app)) == before
