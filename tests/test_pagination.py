"""Relay keyset pagination through /graphql: page walks, pageInfo, limits, cursors, totalCount."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.helpers import error_codes, graphql
from tests.statement_counter import count_statements
from tests.test_tasks import DELETE, bad_field, create_task, user_token

PAGE = """
query($first: Int, $after: String, $last: Int, $before: String, $orderBy: TaskOrder) {
  tasks(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    edges { cursor node { title } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
COUNTED = "query { tasks(first: 2) { totalCount edges { node { id } } } }"
UNCOUNTED = "query { tasks(first: 2) { edges { node { id } } } }"


async def page(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    body = await graphql(client, PAGE, variables, token=token)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["tasks"]
    return connection


def page_titles(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["title"] for edge in connection["edges"]]


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    token = await user_token(client, "pages@example.com")
    for number in range(7):
        await create_task(client, token, title=f"t{number}")
    return token


NEWEST_FIRST = [f"t{number}" for number in range(6, -1, -1)]


async def test_first_after_walks_every_task_once(client: httpx.AsyncClient, token: str) -> None:
    seen: list[str] = []
    after = None
    flags = []
    while True:
        connection = await page(client, token, first=3, after=after)
        seen += page_titles(connection)
        info = connection["pageInfo"]
        flags.append((info["hasPreviousPage"], info["hasNextPage"]))
        assert info["startCursor"] == connection["edges"][0]["cursor"]
        assert info["endCursor"] == connection["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == NEWEST_FIRST
    assert flags == [(False, True), (True, True), (True, False)]


async def test_last_before_walks_backwards(client: httpx.AsyncClient, token: str) -> None:
    tail = await page(client, token, last=3)
    assert page_titles(tail) == ["t2", "t1", "t0"]
    assert (tail["pageInfo"]["hasPreviousPage"], tail["pageInfo"]["hasNextPage"]) == (True, False)
    middle = await page(client, token, last=3, before=tail["pageInfo"]["startCursor"])
    assert page_titles(middle) == ["t5", "t4", "t3"]
    assert (middle["pageInfo"]["hasPreviousPage"], middle["pageInfo"]["hasNextPage"]) == (
        True,
        True,
    )
    head = await page(client, token, last=3, before=middle["pageInfo"]["startCursor"])
    assert page_titles(head) == ["t6"]
    assert (head["pageInfo"]["hasPreviousPage"], head["pageInfo"]["hasNextPage"]) == (False, True)


async def test_after_and_before_bound_a_window(client: httpx.AsyncClient, token: str) -> None:
    everything = await page(client, token, first=7)
    cursors = [edge["cursor"] for edge in everything["edges"]]
    window = await page(client, token, first=10, after=cursors[1], before=cursors[5])
    assert page_titles(window) == ["t4", "t3", "t2"]


async def test_pages_neither_repeat_nor_skip_while_tasks_change(
    client: httpx.AsyncClient, token: str
) -> None:
    first = await page(client, token, first=3)
    assert page_titles(first) == ["t6", "t5", "t4"]
    await create_task(client, token, title="newer")
    doomed = await page(client, token, first=1, after=first["edges"][-1]["cursor"])
    cursor_task = await graphql(
        client, "{ tasks(first: 7) { edges { node { id title } } } }", token=token
    )
    ids = {
        edge["node"]["title"]: edge["node"]["id"] for edge in cursor_task["data"]["tasks"]["edges"]
    }
    await graphql(client, DELETE, {"id": ids["t4"]}, token=token)
    second = await page(client, token, first=3, after=first["pageInfo"]["endCursor"])
    assert page_titles(doomed) == ["t3"]
    assert page_titles(second) == ["t3", "t2", "t1"]


async def test_default_and_maximum_page_sizes(client: httpx.AsyncClient) -> None:
    token = await user_token(client, "many@example.com")
    for number in range(21):
        await create_task(client, token, title=f"n{number}")
    assert len((await page(client, token))["edges"]) == 20
    assert len((await page(client, token, first=100))["edges"]) == 21
    for variables, field in [
        ({"first": 101}, "first"),
        ({"last": 101}, "last"),
        ({"first": -1}, "first"),
        ({"first": 1, "last": 1}, "last"),
    ]:
        assert bad_field(await graphql(client, PAGE, variables, token=token)) == field


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "",
        "!!!",
        base64.urlsafe_b64encode(b"created_at|d|1|t2030-01-01T00:00:00+00:00").decode(),
        base64.urlsafe_b64encode(b"\x00" * 12 + b"created_at|d|1|n").decode(),
    ],
)
async def test_malformed_cursor_is_bad_user_input(
    client: httpx.AsyncClient, token: str, cursor: str
) -> None:
    for argument in ("after", "before"):
        body = await graphql(client, PAGE, {"first": 2, argument: cursor}, token=token)
        assert bad_field(body) == argument
        assert body["data"] is None


async def test_cursor_of_another_ordering_is_bad_user_input(
    client: httpx.AsyncClient, token: str
) -> None:
    by_title = await page(client, token, first=2, orderBy={"field": "TITLE", "direction": "ASC"})
    body = await graphql(
        client, PAGE, {"first": 2, "after": by_title["pageInfo"]["endCursor"]}, token=token
    )
    assert bad_field(body) == "after"
    same = await page(
        client,
        token,
        first=2,
        after=by_title["pageInfo"]["endCursor"],
        orderBy={"field": "TITLE", "direction": "ASC"},
    )
    assert page_titles(same) == ["t2", "t3"]


async def test_due_at_pages_through_missing_dates_both_ways(client: httpx.AsyncClient) -> None:
    token = await user_token(client, "due@example.com")
    for number, due in enumerate(["2030-01-02T00:00:00Z", None, "2030-01-01T00:00:00Z", None]):
        await create_task(client, token, title=f"d{number}", dueAt=due)
    for direction, expected in [
        ("ASC", ["d2", "d0", "d1", "d3"]),
        ("DESC", ["d3", "d1", "d0", "d2"]),
    ]:
        order = {"field": "DUE_AT", "direction": direction}
        seen: list[str] = []
        after = None
        for _ in range(4):
            connection = await page(client, token, first=1, after=after, orderBy=order)
            seen += page_titles(connection)
            after = connection["pageInfo"]["endCursor"]
        assert seen == expected
        backwards: list[str] = []
        before = None
        for _ in range(4):
            connection = await page(client, token, last=1, before=before, orderBy=order)
            backwards = page_titles(connection) + backwards
            before = connection["pageInfo"]["startCursor"]
        assert backwards == expected


async def test_total_count_is_queried_only_when_selected(
    client: httpx.AsyncClient, token: str, engine: Any
) -> None:
    with count_statements(engine) as uncounted:
        body = await graphql(client, UNCOUNTED, token=token)
    assert len(body["data"]["tasks"]["edges"]) == 2
    with count_statements(engine) as counted:
        body = await graphql(client, COUNTED, token=token)
    assert body["data"]["tasks"]["totalCount"] == 7
    assert len(counted) == len(uncounted) + 1
    assert not any("count(" in statement.lower() for statement in uncounted)


SUBTASKS = """
query($id: ID!, $first: Int, $after: String) {
  task(id: $id) {
    subtasks(first: $first, after: $after) {
      totalCount edges { node { title } } pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}
"""


async def test_subtasks_are_a_connection(client: httpx.AsyncClient) -> None:
    token = await user_token(client, "subs@example.com")
    parent = await create_task(client, token, title="parent")
    for number in range(5):
        await create_task(client, token, title=f"s{number}", parentId=parent["id"])
    body = await graphql(client, SUBTASKS, {"id": parent["id"], "first": 2}, token=token)
    first = body["data"]["task"]["subtasks"]
    assert [edge["node"]["title"] for edge in first["edges"]] == ["s4", "s3"]
    assert first["totalCount"] == 5
    assert (first["pageInfo"]["hasNextPage"], first["pageInfo"]["hasPreviousPage"]) == (True, False)
    body = await graphql(
        client,
        SUBTASKS,
        {"id": parent["id"], "first": 5, "after": first["pageInfo"]["endCursor"]},
        token=token,
    )
    rest = body["data"]["task"]["subtasks"]
    assert [edge["node"]["title"] for edge in rest["edges"]] == ["s2", "s1", "s0"]
    assert (rest["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasPreviousPage"]) == (False, True)
    body = await graphql(client, SUBTASKS, {"id": parent["id"], "first": 101}, token=token)
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_null_and_omitted_arguments_mean_the_defaults(
    client: httpx.AsyncClient, token: str
) -> None:
    """The arguments have no SDL default (as in CONTRACT.md): left out or null, the same page."""
    nulls = "first: null, after: null, last: null, before: null"
    query = f"""{{
      omitted: tasks {{ edges {{ node {{ title }} }} }}
      nulls: tasks({nulls}, filter: null, orderBy: null) {{ edges {{ node {{ title }} }} }}
      me {{
        omitted: tasks {{ edges {{ node {{ title subtasks {{ totalCount }} }} }} }}
        nulls: tasks({nulls}, filter: null, orderBy: null) {{
          edges {{ node {{ title subtasks({nulls}) {{ totalCount }} }} }}
        }}
      }}
    }}"""
    body = await graphql(client, query, token=token)
    assert "errors" not in body, body
    data = body["data"]
    assert page_titles(data["omitted"]) == page_titles(data["nulls"]) == NEWEST_FIRST
    assert data["me"]["omitted"] == data["me"]["nulls"]
    assert page_titles(data["me"]["nulls"]) == NEWEST_FIRST
