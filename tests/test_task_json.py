"""Connections written as JSON by PostgreSQL answer byte for byte as stock Strawberry.

On PostgreSQL a task connection whose selection is nothing but data is answered by
its page's statement as JSON text (db/task_json.py, schema/task_json.py). Every
document here runs on taskql and on a stock `strawberry.Schema` of the same types
(tests/test_nested_fast_path.py's `apps`), on the same rows, and must answer the same
bytes: key order, escapes, DateTime text, enum names, global ids, nulls. The rows are
chosen to be awkward: quotes, backslashes, control characters and non-ASCII text,
every priority, datetimes with and without a fraction, empty and missing relations.
Which documents take the JSON path is asserted, so that the comparison is not one
of the rows path with itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
import strawberry
from fastapi import FastAPI
from strawberry.extensions import SchemaExtension

import db.loaders
import schema.runtime.fast_path
import schema.task_json
from main import create_app
from schema.runtime.errors import ErrorCodes
from schema.runtime.limits import Limits
from schema.runtime.operation import TaskqlSchema
from schema.runtime.prebuilt import PrebuiltJSON, may_answer_json
from tests.conftest import make_settings
from tests.helpers import graphql
from tests.test_nested_fast_path import _client, answers, apps  # noqa: F401 - a fixture
from tests.test_tasks import create_task, user_token
from tests.ws_client import serving, socket
from web.responses import encode_json

WRITTEN, ROWS = "written", "rows"
DOCUMENTS = [
    pytest.param(
        """{ tasks(first: 50) { __typename edges { __typename node { __typename id title
          description completed completedAt priority dueAt createdAt updatedAt tags } } } }""",
        {},
        WRITTEN,
        id="every-scalar",
    ),
    pytest.param(
        """{ tasks(first: 3) { edges { node { owner { __typename id email name createdAt
          emailVerified role suspended } } } } }""",
        {},
        WRITTEN,
        id="owner",
    ),
    pytest.param(
        """{ tasks(first: 50) { edges { node { title parent { id title parent { title
          parent { title tags } } } } } } }""",
        {},
        WRITTEN,
        id="parents",
    ),
    *(
        pytest.param(
            """query($n: Int) { tasks(first: 6) { edges { node { title
              none: subtasks(first: 0) { edges { node { id } } }
              some: subtasks(first: $n) { __typename edges { __typename node { title
                subtasks(first: 2) { edges { node { title priority } } } } } }
              plain: subtasks { edges { node { title } } } } } } }""",
            {"n": n},
            WRITTEN,
            id=f"subtasks-{n}",
        )
        for n in (1, None)
    ),
    pytest.param(
        """fragment A on Task { title parent { title } }
        fragment B on Node { id ... on Task { parent { id tags } } }
        { tasks(first: 50) { ... on TaskConnection { edges { node { ...A ...B } } }
          edges { node { title x: tags } } } }""",
        {},
        WRITTEN,
        id="fragments-merged",
    ),
    pytest.param(
        """{ tasks(last: 3, orderBy: {field: DUE_AT, direction: ASC}) {
          edges { node { title dueAt } } } }""",
        {},
        WRITTEN,
        id="last-by-due-date",
    ),
    pytest.param(
        """{ tasks(first: 5, filter: {search: "quote", completed: false}) {
          edges { node { title } } } }""",
        {},
        WRITTEN,
        id="filtered",
    ),
    pytest.param(
        '{ tasks(filter: {tags: ["nothing-has-this"]}) { edges { node { title } } } }',
        {},
        WRITTEN,
        id="empty",
    ),
    pytest.param(
        "{ me { email tasks(first: 2) { edges { node { title tags } } } } }",
        {},
        WRITTEN,
        id="user-tasks",
    ),
    pytest.param(
        """mutation { updateProfile(input: {name: "again"}) { name
          tasks(first: 3) { edges { node { title tags parent { title } } } } } }""",
        {},
        WRITTEN,
        id="in-a-mutation",
    ),
    # Selections only rows answer: the JSON path must leave them alone.
    pytest.param(
        "{ tasks(first: 3) { edges { cursor node { title } } pageInfo { hasNextPage } } }",
        {},
        ROWS,
        id="cursor",
    ),
    pytest.param(
        "{ tasks(first: 3) { totalCount edges { node { title } } } }",
        {},
        ROWS,
        id="total-count",
    ),
    pytest.param(
        """{ tasks(first: 3) { edges { node { title
          subtasks(last: 1) { edges { node { title } } } } } } }""",
        {},
        ROWS,
        id="subtasks-last",
    ),
    pytest.param(
        """query($a: Boolean!) { tasks(first: 3) { edges { node { title
          tags @include(if: $a) } } } }""",
        {"a": False},
        ROWS,
        id="directive",
    ),
    pytest.param(
        """{ tasks(first: 3) { edges { node { title
          subtasks(first: -1) { edges { node { title } } } } } } }""",
        {},
        ROWS,
        id="invalid-subtask-page",
    ),
]


@pytest.fixture
def pages_asked(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What each request's JSON page read answered (`db.loaders.task_page_json`): the
    page when PostgreSQL wrote it, None on SQLite; nothing when the plan was rows."""
    asked: list[object] = []
    read_json = db.loaders.task_page_json

    async def observed(*args: Any, **kwargs: Any) -> Any:
        page = await read_json(*args, **kwargs)
        asked.append(page)
        return page

    monkeypatch.setattr(db.loaders, "task_page_json", observed)
    return asked


async def make_rows(client: httpx.AsyncClient, token: str) -> None:
    """Tasks with awkward values, and a parent chain three deep."""
    top = await create_task(
        client, token, title='a "quote" and a \\ backslash', tags=["b", "a", "é", "z"]
    )
    middle = await create_task(
        client, token, title="naïve ✓ 😀", description="line\nbreak\ttab", parentId=top["id"]
    )
    low = await create_task(
        client,
        token,
        title="low",
        priority="URGENT",
        dueAt="2031-01-01T00:00:00.123456Z",
        parentId=middle["id"],
    )
    await create_task(client, token, title="lowest", tags=["deep"], parentId=low["id"])
    for number, priority in enumerate(("NONE", "LOW", "MEDIUM", "HIGH", "URGENT")):
        await create_task(
            client,
            token,
            title=f"p{number} quote",
            priority=priority,
            dueAt=f"2030-0{number + 1}-01T12:00:00{'.5' if number % 2 else ''}+02:00",
        )
    done = await create_task(client, token, title="done", description="")
    finished = await graphql(
        client,
        "mutation($id: ID!) { updateTask(id: $id, input: {completed: true}) { id } }",
        {"id": done["id"]},
        token=token,
    )
    assert "errors" not in finished, finished
    named = await graphql(
        client, 'mutation { updateProfile(input: {name: "Zoë \\"Z\\""}) { name } }', token=token
    )
    assert "errors" not in named, named


@pytest.mark.parametrize(("document", "variables", "path"), DOCUMENTS)
async def test_written_connections_answer_as_stock_strawberry(  # noqa: PLR0917
    client: httpx.AsyncClient,
    apps: dict[str, FastAPI],  # noqa: F811 - the fixture
    database_kind: str,
    pages_asked: list[object],
    document: str,
    variables: dict[str, Any],
    path: str,
) -> None:
    token = await user_token(client, "written@example.com")
    await make_rows(client, token)
    bodies = await answers(apps, document, variables, token)
    answered_as_json = any(page is not None for page in pages_asked)
    expect_json = path == WRITTEN and database_kind == "postgresql"
    assert answered_as_json == expect_json, (path, pages_asked)
    assert not bodies["stock"][1] or path == ROWS
    assert bodies["taskql"] == bodies["stock"]


async def test_a_field_that_is_not_plain_keeps_the_rows_path(
    client: httpx.AsyncClient, pages_asked: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field with a permission class or field extension is not in the fast path's index
    of plain fields: a selection holding it is answered from rows, where Strawberry
    applies them (here the index is made to lack `Task.title`, as such a field would)."""
    token = await user_token(client, "guarded@example.com")
    await create_task(client, token, title="guarded", tags=["t"])
    index = schema.runtime.fast_path.plain_fields

    def without_title(graphql_schema: Any) -> Any:
        return {
            key: field for key, field in index(graphql_schema).items() if key != ("Task", "title")
        }

    query = "{ tasks(first: 2) { edges { node { tags } } } }"
    assert (await graphql(client, query, token=token))["data"]["tasks"]["edges"] == [
        {"node": {"tags": ["t"]}}
    ]
    assert len(pages_asked) == 1  # asked on both databases; SQLite answers None, then rows
    monkeypatch.setattr(schema.task_json, "plain_fields", without_title)
    pages_asked.clear()
    body = await graphql(
        client, "{ tasks(first: 2) { edges { node { title tags } } } }", token=token
    )
    assert body["data"]["tasks"]["edges"] == [{"node": {"title": "guarded", "tags": ["t"]}}]
    assert pages_asked == []


async def test_a_query_over_websocket_answers_what_http_answers(
    database_url: str, database_kind: str, pages_asked: list[object]
) -> None:
    """graphql-transport-ws sends the written JSON as HTTP does (web/websocket.py encodes
    results with the same encoder), on both databases."""
    app = create_app(make_settings(database_url))
    query = (
        "{ tasks(first: 5) { edges { node { id title tags owner { email } parent { title } } } } }"
    )
    async with app.router.lifespan_context(app), serving(app) as url:
        async with _client(app) as http:
            token = await user_token(http, "socket-json@example.com")
            await make_rows(http, token)
            over_http = await graphql(http, query, token=token)
        async with socket(url, token=token) as ws:
            await ws.subscribe("1", query)
            message = await ws.receive()
            assert (await ws.receive())["type"] == "complete"
    assert message["type"] == "next", message
    assert message["payload"] == over_http
    assert len(over_http["data"]["tasks"]["edges"]) == 5
    written = [page for page in pages_asked if page is not None]
    assert len(written) == (2 if database_kind == "postgresql" else 0)


@strawberry.type
class Pair:
    a: int
    b: str


@strawberry.type
class Written:
    @strawberry.field
    def pair(self) -> Pair:
        if may_answer_json():
            return cast("Pair", PrebuiltJSON('{"a":1,"b":"x"}'))
        return Pair(a=1, b="x")


class Noted(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        yield


async def test_prebuilt_json_is_parsed_by_execute_and_embedded_by_the_encoder() -> None:
    """`execute` answers JSON-native data; `execute_for_encoder` leaves the text for
    encode_json; a schema with any extension never lets a resolver answer JSON."""

    def schema(*extensions: type[SchemaExtension]) -> TaskqlSchema:
        return TaskqlSchema(
            query=Written,
            limits=Limits(1000, 10, 10, 10, 1000, 20),
            error_codes=ErrorCodes(),
            introspection=True,
            extensions=extensions,
        )

    plain = schema()
    result = await plain.execute("{ pair { a b } }")
    assert result.data == {"pair": {"a": 1, "b": "x"}}
    for_encoder = await plain.execute_for_encoder("{ pair { a b } }")
    assert for_encoder.data is not None
    assert isinstance(for_encoder.data["pair"], PrebuiltJSON)
    assert encode_json({"data": for_encoder.data}) == b'{"data":{"pair":{"a":1,"b":"x"}}}'
    extended = await schema(Noted).execute_for_encoder("{ pair { b } }")
    assert extended.data == {"pair": {"b": "x"}}
    assert not may_answer_json()  # only while an execution runs
