"""Task inputs that used to reach the database and answer 500: each is BAD_USER_INPUT now."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import error_codes, graphql, signup
from tests.test_tasks import CREATE, UPDATE, bad_field, create_task, user_token

LONE_SURROGATE = "\ud800"
NUL = "\u0000"
TITLES = "query($filter: TaskFilter) { tasks(filter: $filter) { edges { node { title } } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
PARENT = (
    "mutation($id: ID!, $parentId: ID) { updateTask(id: $id, input: {parentId: $parentId}) { id } }"
)


async def raw_graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], *, token: str
) -> dict[str, Any]:
    """Post with JSON escapes, which carry lone surrogates that a UTF-8 body cannot."""
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    return await user_token(client, "ada@example.com")


BAD_TEXTS = {"surrogate": LONE_SURROGATE, "nul": f"a{NUL}b"}
TEXT_INPUTS = [
    pytest.param(value, field, id=f"{field}-{kind}")
    for kind, bad in BAD_TEXTS.items()
    for value, field in (
        ({"title": bad}, "title"),
        ({"description": bad}, "description"),
        ({"tags": ["ok", bad]}, "tags"),
    )
]
FILTER_INPUTS = [
    pytest.param(value, field, id=f"{field}-{kind}")
    for kind, bad in BAD_TEXTS.items()
    for value, field in (({"search": bad}, "search"), ({"tags": [bad]}, "tags"))
]


@pytest.mark.parametrize(("fields", "field"), TEXT_INPUTS)
async def test_create_task_refuses_unstorable_text(
    client: httpx.AsyncClient, token: str, app: FastAPI, fields: dict[str, Any], field: str
) -> None:
    body = await raw_graphql(client, CREATE, {"input": {"title": "ok", **fields}}, token=token)
    assert bad_field(body) == field
    assert await _task_count(app) == 0


@pytest.mark.parametrize(("fields", "field"), TEXT_INPUTS)
async def test_update_task_refuses_unstorable_text(
    client: httpx.AsyncClient, token: str, fields: dict[str, Any], field: str
) -> None:
    task = await create_task(client, token, title="kept", tags=["kept"])
    body = await raw_graphql(client, UPDATE, {"id": task["id"], "input": fields}, token=token)
    assert bad_field(body) == field
    assert await stored_tasks(client, token) == [
        {"title": "kept", "description": None, "tags": ["kept"]}
    ]


@pytest.mark.parametrize(("task_filter", "field"), FILTER_INPUTS)
async def test_filter_refuses_unstorable_text(
    client: httpx.AsyncClient, token: str, task_filter: dict[str, Any], field: str
) -> None:
    body = await raw_graphql(client, TITLES, {"filter": task_filter}, token=token)
    assert bad_field(body) == field


async def test_descriptions_keep_line_breaks_and_tabs(
    client: httpx.AsyncClient, token: str
) -> None:
    task = await create_task(client, token, description="first\r\n\tsecond")
    assert task["description"] == "first\r\n\tsecond"
    body = await graphql(client, TITLES, {"filter": {"search": "\n\tsec"}}, token=token)
    assert body["data"]["tasks"]["edges"] == [{"node": {"title": "task"}}]


OUT_OF_RANGE = [
    pytest.param("9999-12-31T23:59:59-05:00", id="after-9999"),
    pytest.param("0001-01-01T00:00:00+05:00", id="before-0001"),
]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
async def test_due_dates_beyond_the_utc_range_are_refused(
    client: httpx.AsyncClient, token: str, app: FastAPI, moment: str
) -> None:
    created = await graphql(client, CREATE, {"input": {"title": "t", "dueAt": moment}}, token=token)
    assert bad_field(created) == "dueAt"
    task = await create_task(client, token)
    updated = await graphql(
        client, UPDATE, {"id": task["id"], "input": {"dueAt": moment}}, token=token
    )
    assert bad_field(updated) == "dueAt"
    for argument in ("dueBefore", "dueAfter"):
        body = await graphql(client, TITLES, {"filter": {argument: moment}}, token=token)
        assert bad_field(body) == argument
    assert await _task_count(app) == 1


async def test_due_dates_at_the_edges_of_the_utc_range_are_kept(
    client: httpx.AsyncClient, token: str
) -> None:
    late = await create_task(client, token, dueAt="9999-12-31T23:59:59+00:00")
    early = await create_task(client, token, dueAt="0001-01-01T05:00:00+05:00")
    assert (late["dueAt"], early["dueAt"]) == (
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+00:00",
    )


async def test_nodes_takes_at_most_a_page_of_ids(client: httpx.AsyncClient, token: str) -> None:
    task = await create_task(client, token)
    accepted = await graphql(client, NODES, {"ids": [task["id"]] * 100}, token=token)
    assert "errors" not in accepted, accepted
    assert accepted["data"]["nodes"] == [{"id": task["id"]}] * 100
    refused = await graphql(client, NODES, {"ids": [task["id"]] * 101}, token=token)
    assert bad_field(refused) == "ids"


ROUNDS = 20


async def test_concurrent_reparenting_never_makes_a_cycle(
    client: httpx.AsyncClient, token: str, app: FastAPI
) -> None:
    """Each of a pair sees no cycle alone; together they would make one unless serialised."""
    first, second = (
        (await create_task(client, token))["id"],
        (await create_task(client, token))["id"],
    )
    for _ in range(ROUNDS):
        for each in (first, second):
            reset = await graphql(client, PARENT, {"id": each, "parentId": None}, token=token)
            assert "errors" not in reset, reset
        answers = await asyncio.gather(
            graphql(client, PARENT, {"id": first, "parentId": second}, token=token),
            graphql(client, PARENT, {"id": second, "parentId": first}, token=token),
        )
        assert sorted(error_codes(answer) for answer in answers) == [[], ["BAD_USER_INPUT"]]
        assert await _parent_walks_end(app)


async def test_sql_errors_never_carry_parameter_values(engine: AsyncEngine) -> None:
    """Logged database errors must not leak user data bound as parameters."""
    marker = "private-user-text"
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(
                text("SELECT * FROM no_such_table WHERE x = :v"), {"v": marker}
            )
    assert marker not in str(raised.value)


async def stored_tasks(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    body = await graphql(
        client, "{ tasks { edges { node { title description tags } } } }", token=token
    )
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["tasks"]["edges"]]


async def _task_count(app: FastAPI) -> int:
    async with app.state.services.engine.connect() as connection:
        count: int = await connection.scalar(text("SELECT count(*) FROM tasks"))
    return count


async def _parent_walks_end(app: FastAPI) -> bool:
    """Whether walking up the parents from every task reaches a top-level task."""
    async with app.state.services.engine.connect() as connection:
        result = await connection.execute(text("SELECT id, parent_id FROM tasks"))
        parents: dict[int, int | None] = dict(result.all())
    for start in parents:
        seen: set[int] = set()
        current: int | None = start
        while current is not None:
            if current in seen:
                return False
            seen.add(current)
            current = parents[current]
    return True


async def test_signup_helper_still_refuses_unstorable_names(client: httpx.AsyncClient) -> None:
    payload = await signup(client, "grace@example.com", name="Grace")
    body = await raw_graphql(
        client,
        "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }",
        {"input": {"email": "x@example.com", "password": "correct horse", "name": NUL}},
        token=payload["accessToken"],
    )
    assert bad_field(body) == "name"
