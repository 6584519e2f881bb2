"""SQL statements per query shape: fixed by the shape, never growing with the page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bench.tasks_load import W2
from tests.helpers import graphql
from tests.statement_counter import count_statements, pool_traffic
from tests.test_tasks import UPDATE, create_task, user_token

NESTED = """
query($first: Int!) {
  tasks(first: $first) { edges { node {
    id owner { email } parent { title } tags
    subtasks(first: 5) { edges { node { title tags } } }
  } } }
}
"""
# On SQLite: the page with each task's tags, parent and owner read along, and every
# subtask page with its subtasks' tags (one window query). On PostgreSQL the selection
# is nothing but data, and the page's one statement writes it as JSON (db/task_json.py).
NESTED_STATEMENTS = {"sqlite": 2, "postgresql": 1}


def split_session_check(statements: list[str], database_kind: str) -> list[str]:
    """The statements other than the token's session check, which is asserted here.

    On SQLite every request checks the session; a PostgreSQL worker remembers a
    live login (auth/live_sessions.py), and the fixture's requests already asked.
    """
    checks = [s for s in statements if "FROM auth_sessions" in s]
    assert len(checks) == (1 if database_kind == "sqlite" else 0), checks
    return [s for s in statements if "FROM auth_sessions" not in s]


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    """50 newest tasks under one root, each with 2 older subtasks; every task tagged.

    The subtasks are created first and moved under their parents afterwards, so
    that no page of the newest tasks already holds them (and their tags).
    """
    token = await user_token(client, "count@example.com")
    root = await create_task(client, token, title="root", tags=["root"])
    children = [await create_task(client, token, title=f"c{n}", tags=["sub"]) for n in range(100)]
    for number in range(50):
        parent = await create_task(client, token, title=f"p{number}", parentId=root["id"])
        for child in children[2 * number : 2 * number + 2]:
            moved = await graphql(
                client,
                UPDATE,
                {"id": child["id"], "input": {"parentId": parent["id"]}},
                token=token,
            )
            assert "errors" not in moved, moved
    # A PostgreSQL worker remembers a live login for session_cache_seconds (5 s) after a
    # check: ask once more now, so that the measured requests find it remembered even
    # when building the rows above took longer than that (split_session_check).
    assert "errors" not in await graphql(client, "{ me { email } }", token=token)
    return token


async def test_nested_page_costs_the_same_for_5_and_50_tasks(
    client: httpx.AsyncClient, token: str, engine: Any, database_kind: str
) -> None:
    counts = {}
    for size in (5, 50):
        with count_statements(engine) as statements:
            body = await graphql(client, NESTED, {"first": size}, token=token)
        assert "errors" not in body, body
        edges = body["data"]["tasks"]["edges"]
        assert len(edges) == size
        assert all(edge["node"]["parent"] == {"title": "root"} for edge in edges)
        assert all(len(edge["node"]["subtasks"]["edges"]) == 2 for edge in edges)
        counts[size] = len(split_session_check(statements, database_kind))
    expected = NESTED_STATEMENTS[database_kind]
    assert counts == {5: expected, 50: expected}


async def test_the_benchmark_w2_takes_one_statement_on_postgresql_two_on_sqlite(
    client: httpx.AsyncClient, token: str, engine: Any, database_kind: str
) -> None:
    """bench/README.md's W2, as the benchmark sends it (the issue asks 3 statements at most)."""
    with count_statements(engine) as statements:
        body = await graphql(client, W2, token=token)
    assert "errors" not in body, body
    assert len(body["data"]["tasks"]["edges"]) == 50
    reads = split_session_check(statements, database_kind)
    assert all("FROM tasks" in read for read in reads)
    if database_kind == "postgresql":  # written as JSON by the page's statement
        assert len(reads) == 1, reads
        assert "FROM users" in reads[0]
        assert "FROM task_tags" in reads[0]
    else:
        assert len(reads) == 2, reads
        assert "JOIN users" in reads[0]  # the owner, read along with the page


async def test_many_task_aliases_are_one_statement(
    client: httpx.AsyncClient, token: str, engine: Any, database_kind: str
) -> None:
    ids = await graphql(client, "{ tasks(first: 12) { edges { node { id } } } }", token=token)
    task_ids = [edge["node"]["id"] for edge in ids["data"]["tasks"]["edges"]]
    aliases = " ".join(
        f't{n}: task(id: "{task_id}") {{ title }}' for n, task_id in enumerate(task_ids)
    )
    with count_statements(engine) as statements:
        body = await graphql(client, f"{{ {aliases} }}", token=token)
    assert len(body["data"]) == 12
    assert all(task["title"] for task in body["data"].values())
    reads = split_session_check(statements, database_kind)
    assert len(reads) == 1  # every alias at once
    assert "FROM tasks" in reads[0]


PAGE_AFTER = """
query($after: String) {
  tasks(first: 10, after: $after) {
    edges { node { title } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


async def test_a_page_after_a_cursor_is_one_statement_with_its_page_info(
    client: httpx.AsyncClient, token: str, engine: Any, database_kind: str
) -> None:
    first = await graphql(client, PAGE_AFTER, {"after": None}, token=token)
    cursor = first["data"]["tasks"]["pageInfo"]["endCursor"]
    with count_statements(engine) as statements:
        body = await graphql(client, PAGE_AFTER, {"after": cursor}, token=token)
    page_info = body["data"]["tasks"]["pageInfo"]
    assert page_info["hasPreviousPage"] is True
    assert page_info["hasNextPage"] is True
    # The page itself, hasPreviousPage included.
    assert len(split_session_check(statements, database_kind)) == 1, statements


async def test_a_request_takes_one_connection_at_most_and_none_when_it_reads_nothing(
    client: httpx.AsyncClient, token: str, engine: Any, database_kind: str
) -> None:
    """Queries read on one connection opened on first use (db/request.py); a mutation's
    reads and writes share its session's connection."""
    with pool_traffic(engine) as traffic:
        body = await graphql(client, "{ __typename }")
    assert body == {"data": {"__typename": "Query"}}
    assert traffic == []
    with pool_traffic(engine) as traffic, count_statements(engine) as statements:
        body = await graphql(client, NESTED, {"first": 5}, token=token)
    assert "errors" not in body, body
    assert len(split_session_check(statements, database_kind)) == NESTED_STATEMENTS[database_kind]
    assert traffic.count("out") == 1
    parent_id = body["data"]["tasks"]["edges"][0]["node"]["id"]
    create = "mutation($input: CreateTaskInput!) { createTask(input: $input) { id title } }"
    with pool_traffic(engine) as traffic:
        created = await graphql(
            client, create, {"input": {"title": "one more", "parentId": parent_id}}, token=token
        )
    assert created["data"]["createTask"]["title"] == "one more", created
    assert traffic.count("out") == 1  # the parent's check (a loader's read) and the insert
