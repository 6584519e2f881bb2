"""Tasks through /graphql: create, update, delete, validation, filters and ordering."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from schema.node import from_global_id, to_global_id
from tests.conftest import scalar
from tests.helpers import error_codes, graphql, signup

TASK_FIELDS = """
id title description completed completedAt priority dueAt tags createdAt updatedAt
parent { id title }
"""
CREATE = f"mutation($input: CreateTaskInput!) {{ createTask(input: $input) {{ {TASK_FIELDS} }} }}"
UPDATE = f"""
mutation($id: ID!, $input: UpdateTaskInput!) {{
  updateTask(id: $id, input: $input) {{ {TASK_FIELDS} }}
}}
"""
DELETE = "mutation($id: ID!) { deleteTask(id: $id) }"
TASK = f"query($id: ID!) {{ task(id: $id) {{ {TASK_FIELDS} }} }}"
TITLES = """
query($filter: TaskFilter, $orderBy: TaskOrder, $first: Int) {
  tasks(filter: $filter, orderBy: $orderBy, first: $first) { edges { node { title } } }
}
"""


async def user_token(client: httpx.AsyncClient, email: str) -> str:
    token: str = (await signup(client, email))["accessToken"]
    return token


async def create_task(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    """Create a task through the API (title defaults to "task") and return it."""
    body = await graphql(client, CREATE, {"input": {"title": "task", **fields}}, token=token)
    assert "errors" not in body, body
    task: dict[str, Any] = body["data"]["createTask"]
    return task


async def titles(
    client: httpx.AsyncClient, token: str, *, first: int = 100, **variables: Any
) -> list[str]:
    body = await graphql(client, TITLES, {"first": first, **variables}, token=token)
    assert "errors" not in body, body
    return [edge["node"]["title"] for edge in body["data"]["tasks"]["edges"]]


def bad_field(body: dict[str, Any]) -> str:
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    field: str = body["errors"][0]["extensions"]["field"]
    return field


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    return await user_token(client, "ada@example.com")


async def test_create_task_normalises_and_answers_utc(
    client: httpx.AsyncClient, token: str
) -> None:
    task = await create_task(
        client,
        token,
        title="  Write report  ",
        description="quarterly",
        priority="HIGH",
        dueAt="2030-01-31T09:00:00+02:00",
        tags=["Work", "work", " urgent "],
    )
    assert task["title"] == "Write report"
    assert task["description"] == "quarterly"
    assert task["priority"] == "HIGH"
    assert task["dueAt"] == "2030-01-31T07:00:00+00:00"
    assert task["tags"] == ["urgent", "work"]
    assert task["completed"] is False
    assert task["completedAt"] is None
    assert task["parent"] is None
    assert task["createdAt"].endswith("+00:00")
    assert task["createdAt"] == task["updatedAt"]
    defaults = await create_task(client, token, title="plain")
    assert (defaults["priority"], defaults["tags"], defaults["dueAt"]) == ("NONE", [], None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": "x" * 1001}, "description"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": [" "]}, "tags"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"dueAt": "2030-01-31T09:00:00"}, "dueAt"),
        ({"parentId": "not-an-id"}, "parentId"),
        ({"parentId": "VGFzazo5OTk5"}, "parentId"),
    ],
)
async def test_create_task_rejects_invalid_input(
    client: httpx.AsyncClient, token: str, app: FastAPI, fields: dict[str, Any], field: str
) -> None:
    body = await graphql(client, CREATE, {"input": {"title": "ok", **fields}}, token=token)
    assert bad_field(body) == field
    assert await scalar(app, "SELECT count(*) FROM tasks") == 0


async def test_create_task_accepts_the_limits(client: httpx.AsyncClient, token: str) -> None:
    task = await create_task(
        client,
        token,
        title="x" * 200,
        description="d" * 1000,
        tags=[f"{i:02d}" + "t" * 48 for i in range(20)],
    )
    assert len(task["title"]) == 200
    assert len(task["tags"]) == 20


async def test_update_omitted_fields_stay_and_nulls_clear(
    client: httpx.AsyncClient, token: str
) -> None:
    parent = await create_task(client, token, title="parent")
    task = await create_task(
        client,
        token,
        title="child",
        description="keep me",
        dueAt="2030-01-01T00:00:00Z",
        tags=["a"],
        parentId=parent["id"],
        priority="LOW",
    )
    body = await graphql(
        client, UPDATE, {"id": task["id"], "input": {"title": "renamed"}}, token=token
    )
    renamed = body["data"]["updateTask"]
    assert renamed["title"] == "renamed"
    assert renamed["description"] == "keep me"
    assert renamed["dueAt"] == "2030-01-01T00:00:00+00:00"
    assert renamed["tags"] == ["a"]
    assert renamed["parent"] == {"id": parent["id"], "title": "parent"}
    assert renamed["priority"] == "LOW"
    assert renamed["updatedAt"] > task["updatedAt"]
    cleared = await graphql(
        client,
        UPDATE,
        {
            "id": task["id"],
            "input": {"description": None, "dueAt": None, "tags": None, "parentId": None},
        },
        token=token,
    )
    task_now = cleared["data"]["updateTask"]
    assert (task_now["description"], task_now["dueAt"], task_now["tags"], task_now["parent"]) == (
        None,
        None,
        [],
        None,
    )
    assert task_now["title"] == "renamed"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": None}, "title"),
        ({"title": " "}, "title"),
        ({"completed": None}, "completed"),
        ({"priority": None}, "priority"),
        ({"description": "x" * 1001}, "description"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"dueAt": "2030-01-31T09:00:00"}, "dueAt"),
    ],
)
async def test_update_rejects_invalid_input_and_changes_nothing(
    client: httpx.AsyncClient, token: str, app: FastAPI, fields: dict[str, Any], field: str
) -> None:
    task = await create_task(client, token, title="stays")
    body = await graphql(client, UPDATE, {"id": task["id"], "input": fields}, token=token)
    assert bad_field(body) == field
    assert await scalar(app, "SELECT title FROM tasks") == "stays"


async def test_completed_at_follows_completed(client: httpx.AsyncClient, token: str) -> None:
    task = await create_task(client, token)
    done = (
        await graphql(client, UPDATE, {"id": task["id"], "input": {"completed": True}}, token=token)
    )["data"]["updateTask"]
    assert done["completed"] is True
    assert done["completedAt"].endswith("+00:00")
    again = (
        await graphql(client, UPDATE, {"id": task["id"], "input": {"completed": True}}, token=token)
    )["data"]["updateTask"]
    assert again["completedAt"] == done["completedAt"]
    undone = (
        await graphql(
            client, UPDATE, {"id": task["id"], "input": {"completed": False}}, token=token
        )
    )["data"]["updateTask"]
    assert (undone["completed"], undone["completedAt"]) == (False, None)


async def test_parent_is_never_itself_or_a_descendant(
    client: httpx.AsyncClient, token: str, app: FastAPI
) -> None:
    root = await create_task(client, token, title="root")
    child = await create_task(client, token, title="child", parentId=root["id"])
    grandchild = await create_task(client, token, title="grandchild", parentId=child["id"])
    for parent in (root, child, grandchild):
        body = await graphql(
            client, UPDATE, {"id": root["id"], "input": {"parentId": parent["id"]}}, token=token
        )
        assert bad_field(body) == "parentId"
    assert await scalar(app, "SELECT count(*) FROM tasks WHERE parent_id IS NULL") == 1
    moved = await graphql(
        client, UPDATE, {"id": grandchild["id"], "input": {"parentId": root["id"]}}, token=token
    )
    assert moved["data"]["updateTask"]["parent"]["title"] == "root"


async def test_delete_removes_subtasks_and_tags(
    client: httpx.AsyncClient, token: str, app: FastAPI
) -> None:
    root = await create_task(client, token, title="root", tags=["x"])
    child = await create_task(client, token, title="child", parentId=root["id"], tags=["y"])
    await create_task(client, token, title="grandchild", parentId=child["id"])
    survivor = await create_task(client, token, title="survivor")
    body = await graphql(client, DELETE, {"id": root["id"]}, token=token)
    assert body == {"data": {"deleteTask": root["id"]}}
    assert await scalar(app, "SELECT count(*) FROM tasks") == 1
    assert await scalar(app, "SELECT count(*) FROM task_tags") == 0
    again = await graphql(client, DELETE, {"id": root["id"]}, token=token)
    assert error_codes(again) == ["NOT_FOUND"]
    assert (await graphql(client, TASK, {"id": survivor["id"]}, token=token))["data"]["task"][
        "title"
    ] == "survivor"


async def test_task_fields_need_a_token(client: httpx.AsyncClient) -> None:
    for query in ("{ tasks { edges { node { id } } } }", '{ task(id: "VGFzazox") { id } }'):
        assert error_codes(await graphql(client, query)) == ["UNAUTHENTICATED"]
    body = await graphql(client, CREATE, {"input": {"title": "x"}})
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_filters(client: httpx.AsyncClient, token: str) -> None:
    parent = await create_task(client, token, title="parent", dueAt="2030-01-10T00:00:00Z")
    await create_task(client, token, title="child", parentId=parent["id"], tags=["home", "urgent"])
    done = await create_task(client, token, title="Done 100%", tags=["home"])
    await graphql(client, UPDATE, {"id": done["id"], "input": {"completed": True}}, token=token)
    await create_task(client, token, title="plain", description="under_score \\ back")
    await create_task(client, token, title="late", dueAt="2030-02-01T00:00:00Z")

    async def matching(**task_filter: Any) -> set[str]:
        return set(await titles(client, token, filter=task_filter))

    assert await matching(completed=True) == {"Done 100%"}
    assert await matching(search="DONE") == {"Done 100%"}
    assert await matching(search="100%") == {"Done 100%"}
    assert await matching(search="%") == {"Done 100%"}
    assert await matching(search="_") == {"plain"}
    assert await matching(search="\\") == {"plain"}
    assert await matching(search="unde_") == set()
    assert await matching(search="Do%100") == set()
    assert await matching(tags=["HOME"]) == {"child", "Done 100%"}
    assert await matching(tags=["home", "urgent"]) == {"child"}
    assert await matching(dueBefore="2030-01-20T00:00:00Z") == {"parent"}
    assert await matching(dueAfter="2030-01-20T00:00:00Z") == {"late"}
    assert await matching(dueAfter="2030-01-10T00:00:00Z", dueBefore="2030-02-01T00:00:00Z") == {
        "parent"
    }
    assert await matching(parentId=parent["id"]) == {"child"}
    assert await matching(topLevel=True) == {"parent", "Done 100%", "plain", "late"}
    assert await matching(topLevel=False) == {"child"}
    body = await graphql(
        client, TITLES, {"filter": {"dueBefore": "2030-01-01T00:00:00"}}, token=token
    )
    assert bad_field(body) == "dueBefore"


@pytest.mark.parametrize("field", ["CREATED_AT", "UPDATED_AT", "DUE_AT", "PRIORITY", "TITLE"])
async def test_every_order_breaks_ties_by_id(
    client: httpx.AsyncClient, token: str, field: str
) -> None:
    specs = [
        ("b", "LOW", "2030-01-02T00:00:00Z"),
        ("a", "HIGH", "2030-01-01T00:00:00Z"),
        ("c", "LOW", None),
        ("a", "LOW", "2030-01-01T00:00:00Z"),
    ]
    made = [
        await create_task(client, token, title=title, priority=priority, dueAt=due)
        for title, priority, due in specs
    ]
    rank = {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "URGENT": 4}
    keys: dict[str, Any] = {
        "CREATED_AT": lambda task: task["createdAt"],
        "UPDATED_AT": lambda task: task["updatedAt"],
        "DUE_AT": lambda task: (task["dueAt"] is None, task["dueAt"] or ""),
        "PRIORITY": lambda task: rank[task["priority"]],
        "TITLE": lambda task: task["title"],
    }
    order = [(keys[field](task), position) for position, task in enumerate(made)]
    ascending = [made[position]["title"] for _, position in sorted(order)]
    assert await titles(client, token, orderBy={"field": field, "direction": "ASC"}) == ascending
    descending = await titles(client, token, orderBy={"field": field, "direction": "DESC"})
    assert descending == ascending[::-1]


@pytest.mark.parametrize("type_name", ["Task", "User", "T?>~"])
def test_global_ids_are_url_safe_base64_of_type_and_key(type_name: str) -> None:
    for pk in (1, 9, 10, 12345, 2**63 - 1):
        expected = base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()
        assert to_global_id(type_name, pk) == expected
        assert from_global_id(expected) == (type_name, pk)
    assert "-" in to_global_id("T?>~", 1) or "_" in to_global_id("T?>~", 1)


async def test_a_deleted_tasks_id_never_names_a_later_task(client: httpx.AsyncClient) -> None:
    """Clients cache by global id: SQLite must not hand the newest deleted id out again."""
    token = await user_token(client, "reuse@example.com")
    await create_task(client, token, title="kept")
    doomed = await create_task(client, token, title="doomed")
    body = await graphql(client, DELETE, {"id": doomed["id"]}, token=token)
    assert body["data"]["deleteTask"] == doomed["id"], body

    later = await create_task(client, token, title="later")

    assert later["id"] != doomed["id"]
    later_key, doomed_key = from_global_id(later["id"]), from_global_id(doomed["id"])
    assert later_key is not None
    assert doomed_key is not None
    assert later_key[1] > doomed_key[1]
    gone = await graphql(client, TASK, {"id": doomed["id"]}, token=token)
    assert gone["data"]["task"] is None
