"""Nested task shapes answer through taskql's runtime exactly as through stock Strawberry.

The same app serves taskql's schema and, beside it, a stock `strawberry.Schema` built
from the same types (`create_app(settings, schema=...)`), on the same database. Every
document runs on both, through HTTP; data must match byte for byte (key order
included) and errors by message and path. The shapes are the ones the fast path and
the read-ahead of `schema/relations.py` take apart: fragments, interfaces, aliases,
@include/@skip with variables, arguments from literals and from variables, errors
and nulls inside nested lists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry
from fastapi import FastAPI

from main import create_app
from schema import Mutation, Query
from schema.node import Node
from tests.conftest import make_settings
from tests.test_tasks import create_task, user_token

NESTED = """
  tasks(first: 50) { edges { node { owner { email } parent { title } tags
    subtasks(first: 5) { edges { node { title tags } } } } } }
"""
DOCUMENTS = [
    pytest.param("{" + NESTED + "}", {}, id="w2"),
    pytest.param(
        """
        fragment T on Task { title tags owner { email name } }
        fragment N on Node { id }
        { tasks(first: 6) { edges { cursor node { ...T ...N parent { ...T }
            subtasks(first: 2) { edges { node { ...T ... on Task { completed } } }
              pageInfo { hasNextPage endCursor } } } } } }
        """,
        {},
        id="fragments",
    ),
    pytest.param(
        """
        query($id: ID!) { node(id: $id) { __typename id ... on Task { title parent { title }
          subtasks { edges { node { title tags owner { email } } } } } } }
        """,
        {"id": "PARENT"},
        id="interface",
    ),
    pytest.param(
        """
        query($ids: [ID!]!) { nodes(ids: $ids) { ... on Task { title tags
          subtasks(last: 1) { edges { node { title } } } } } }
        """,
        {"ids": ["PARENT", "CHILD", "VGFzazo5OTk5"]},
        id="interface-list",
    ),
    pytest.param(
        """
        { a: tasks(first: 3) { edges { node { t: title s1: subtasks(first: 1) { edges {
              n: node { title } } } s2: subtasks(last: 1) { edges { node { title tags } } }
              again: tags o: owner { e: email } } } }
          b: tasks(first: 2, orderBy: {field: TITLE, direction: ASC}) {
              edges { node { title parent { t: title tags } } } } }
        """,
        {},
        id="aliases",
    ),
    *(
        pytest.param(
            """
            query($a: Boolean!, $b: Boolean!) { tasks(first: 4) { edges { node { title
              tags @include(if: $a) parent @skip(if: $b) { title }
              subtasks(first: 2) @include(if: $a) { edges { node { title tags @skip(if: $b) } } }
              ... on Task @skip(if: $a) { owner { email } } } } } }
            """,
            {"a": a, "b": b},
            id=f"directives-{a}-{b}",
        )
        for a in (True, False)
        for b in (True, False)
    ),
    pytest.param(
        """
        query($n: Int) { tasks(first: 3) { edges { node { title
          subtasks(first: $n) { totalCount edges { node { title } } } } } } }
        """,
        {"n": 1},
        id="variable-arguments",
    ),
    pytest.param(
        "{ tasks(first: 3) { edges { node { title subtasks(first: -1) { edges { node { id } } } } } } }",  # noqa: E501
        {},
        id="error-in-nested-list",
    ),
    pytest.param(
        """
        { tasks(first: 4) { edges { node { title description dueAt completedAt
          subtasks(first: 1, last: 1) { edges { node { title } } } } } } }
        """,
        {},
        id="error-and-nulls",
    ),
    pytest.param(
        """
        { me { email tasks(first: 3, filter: {topLevel: true}) { edges { node { title tags
          subtasks(first: 3) { edges { node { title parent { title tags } } } } } } } } }
        """,
        {},
        id="user-tasks",
    ),
]


@pytest.fixture
async def apps(database_url: str) -> AsyncIterator[dict[str, FastAPI]]:
    settings = make_settings(database_url)
    stock = strawberry.Schema(query=Query, mutation=Mutation, types=[Node])
    made = {"taskql": create_app(settings), "stock": create_app(settings, schema=stock)}
    async with (
        made["taskql"].router.lifespan_context(made["taskql"]),
        made["stock"].router.lifespan_context(made["stock"]),
    ):
        yield made


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.mark.parametrize(("document", "variables"), DOCUMENTS)
async def test_nested_shapes_answer_as_stock_strawberry(
    client: httpx.AsyncClient, apps: dict[str, FastAPI], document: str, variables: dict[str, Any]
) -> None:
    token = await user_token(client, "nested@example.com")
    parent = await create_task(client, token, title="parent", tags=["b", "a"])
    child = await create_task(client, token, title="child", tags=["c"], parentId=parent["id"])
    await create_task(client, token, title="second child", parentId=parent["id"])
    await create_task(client, token, title="grandchild", tags=["g"], parentId=child["id"])
    await create_task(
        client, token, title="alone", description="text", dueAt="2031-01-01T00:00:00Z"
    )
    ids = {"PARENT": parent["id"], "CHILD": child["id"]}
    variables = {
        name: ids.get(value, value)
        if isinstance(value, str)
        else [ids.get(v, v) for v in value]
        if isinstance(value, list)
        else value
        for name, value in variables.items()
    }
    bodies = await answers(apps, document, variables, token)
    assert bodies["taskql"] == bodies["stock"]


Answer = tuple[bytes, list[tuple[str, Any]]]


async def answers(
    apps: dict[str, FastAPI], document: str, variables: dict[str, Any], token: str
) -> dict[str, Answer]:
    """Each app's answer: its data byte for byte (what precedes `"errors"`), and its errors
    by message and path (stock Strawberry adds no codes)."""
    found = {}
    for name, app in apps.items():
        async with _client(app) as http:
            response = await http.post(
                "/graphql",
                json={"query": document, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body.get("data") is not None or body.get("errors"), body
        found[name] = (
            response.content.split(b'"errors"')[0],
            [(error["message"], error.get("path")) for error in body.get("errors", [])],
        )
    return found
