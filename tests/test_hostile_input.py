"""Input that fuzzing found answered with a 500: each now gets the contract's answer.

Every case is one request through /graphql (or /metrics after it), on both databases.
Values beyond a signed 64-bit integer, lone surrogates (JSON carries them, UTF-8
cannot), signed cursors and tokens holding what taskql never issues, and a field
error that cancels its siblings while they share a dataloader's future.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import time
from typing import Any

import asyncpg
import httpx
import pytest
import strawberry
from fastapi import FastAPI

from schema.node import from_global_id, to_global_id
from schema.pagination import MAC_BYTES
from tests.helpers import TEST_SECRET, error_codes, graphql, post_graphql, signup
from tests.session_helpers import LOGOUT, ME, REFRESH
from tests.test_admission import graphql_endpoint
from tests.test_auth_tokens import claims_of, signed
from tests.test_tasks import create_task

INT64_MAX = 2**63 - 1
OUT_OF_RANGE = [INT64_MAX + 1, 2**64, 10**30]
LONE_SURROGATE = "\ud800"


def raw_id(type_name: str, key: object) -> str:
    """A global id of any key at all, spelled as taskql spells its own."""
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


async def post_json(client: httpx.AsyncClient, body: object, token: str | None = None) -> Any:
    """Post `body` as the standard encoder writes it: lone surrogates become \\ud800 escapes."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", content=json.dumps(body), headers=headers)


@pytest.fixture
async def session(client: httpx.AsyncClient) -> dict[str, Any]:
    payload: dict[str, Any] = await signup(client, "ada@example.com")
    return payload


@pytest.fixture
def token(session: dict[str, Any]) -> str:
    access_token: str = session["accessToken"]
    return access_token


class TestCancelledSiblings:
    async def test_a_failing_alias_leaves_the_others_shared_loads_alone(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        """`b.subtasks` fails and nulls `b`, cancelling `b.tags`, whose load `a.tags` shares."""
        task = await create_task(client, token, tags=["x"])
        query = """query($id: ID!) {
          a: task(id: $id) { tags }
          b: task(id: $id) { tags subtasks(first: 1, last: 1) { totalCount } }
        }"""

        response = await post_graphql(client, query, {"id": task["id"]}, token=token)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] == {"a": {"tags": ["x"]}, "b": None}
        assert error_codes(body) == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"]["field"] == "last"

    async def test_an_interrupted_sibling_leaves_the_connection_usable(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        """`totalCount` is reading when its sibling `edges` fails: its statement must end
        normally, or the request's later statements (`b`) fail on PostgreSQL."""
        for number in range(10):
            await create_task(client, token, title=f"t{number}", tags=["x"])
        query = """{
          tasks(first: 10) {
            totalCount
            edges { node { tags subtasks(first: 1, last: 1) { totalCount } } }
          }
          b: tasks(filter: {search: "t"}) { totalCount }
        }"""

        for _ in range(3):
            body = await graphql(client, query, token=token)
            assert body["data"] is None
            assert set(error_codes(body)) == {"BAD_USER_INPUT"}, body

    async def test_a_cancellation_escaping_execution_is_a_json_error(
        self, app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The last line: a CancelledError out of the schema, while the request itself is
        not being cancelled, is INTERNAL_SERVER_ERROR as JSON, not a plain-text 500."""

        @strawberry.type
        class Query:
            @strawberry.field
            async def cancelled(self) -> str:
                raise asyncio.CancelledError

        monkeypatch.setattr(graphql_endpoint(app), "schema", strawberry.Schema(query=Query))

        response = await post_graphql(client, "{ cancelled }")

        assert response.status_code == 500
        assert error_codes(response.json()) == ["INTERNAL_SERVER_ERROR"]
        assert response.json()["errors"][0]["extensions"]["requestId"]


class TestOutOfRangeIds:
    """Keys past int64 answer exactly as a malformed id does, never INTERNAL_SERVER_ERROR."""

    @pytest.mark.parametrize("key", [*OUT_OF_RANGE, -(2**63), -(2**63) - 1])
    async def test_queries_answer_null(
        self, client: httpx.AsyncClient, token: str, key: int
    ) -> None:
        task_id, user_id = raw_id("Task", key), raw_id("User", key)
        body = await graphql(
            client,
            """query($task: ID!, $user: ID!) {
              task(id: $task) { id } node(id: $task) { id } user: node(id: $user) { id }
              nodes(ids: [$task, $user]) { id }
            }""",
            {"task": task_id, "user": user_id},
            token=token,
        )
        assert body == {"data": {"task": None, "node": None, "user": None, "nodes": [None, None]}}

    @pytest.mark.parametrize("key", OUT_OF_RANGE)
    async def test_mutations_answer_as_for_a_malformed_id(
        self, client: httpx.AsyncClient, token: str, key: int
    ) -> None:
        parent = await create_task(client, token)
        cases = [
            ("mutation($id: ID!) { deleteTask(id: $id) }", {}),
            ('mutation($id: ID!) { updateTask(id: $id, input: {title: "x"}) { id } }', {}),
            (
                "mutation($id: ID!, $parent: ID!) { updateTask(id: $parent, "
                "input: {parentId: $id}) { id } }",
                {"parent": parent["id"]},
            ),
            ('mutation($id: ID!) { createTask(input: {title: "x", parentId: $id}) { id } }', {}),
            ("query($id: ID!) { tasks(filter: {parentId: $id}) { totalCount } }", {}),
        ]
        for query, variables in cases:
            huge = await graphql(
                client, query, {"id": raw_id("Task", key), **variables}, token=token
            )
            malformed = await graphql(client, query, {"id": "garbage", **variables}, token=token)
            assert huge == malformed, query
            assert "INTERNAL_SERVER_ERROR" not in error_codes(huge), huge

    def test_the_largest_key_still_round_trips(self) -> None:
        assert from_global_id(to_global_id("Task", INT64_MAX)) == ("Task", INT64_MAX)
        assert from_global_id(raw_id("Task", INT64_MAX + 1)) is None


class TestTokensHoldingWhatTaskqlNeverIssues:
    """Signed with the right key, but with claims out of range: UNAUTHENTICATED, 401."""

    @pytest.mark.parametrize(
        "claims",
        [
            {"sub": str(INT64_MAX + 1)},
            {"sub": str(-(2**63) - 1)},
            {"sub": str(10**30)},
            {"sub": "1_0"},
            {"sid": "a\x00b"},
            {"sid": LONE_SURROGATE},
            {"jti": LONE_SURROGATE},
        ],
    )
    @pytest.mark.parametrize(
        "query",
        [
            ME,
            "mutation { logoutAll }",
            'mutation { changePassword(currentPassword: "x" '
            'newPassword: "yyyyyyyyyy") { accessToken } }',
            '{ task(id: "VGFzazox") { id } }',
        ],
    )
    async def test_a_bearer_token_is_refused(
        self,
        client: httpx.AsyncClient,
        session: dict[str, Any],
        claims: dict[str, str],
        query: str,
    ) -> None:
        forged = signed({**claims_of(session["accessToken"]), **claims})

        response = await post_graphql(client, query, token=forged)

        assert response.status_code == 401, response.text
        assert error_codes(response.json()) == ["UNAUTHENTICATED"]

    @pytest.mark.parametrize("sub", [str(INT64_MAX + 1), str(10**30)])
    async def test_a_refresh_token_is_refused(
        self, client: httpx.AsyncClient, session: dict[str, Any], sub: str
    ) -> None:
        forged = signed({**claims_of(session["refreshToken"]), "sub": sub})

        refreshed = await graphql(client, REFRESH, {"token": forged})
        logged_out = await graphql(client, LOGOUT, {"token": forged}, token=session["accessToken"])

        assert error_codes(refreshed) == ["UNAUTHENTICATED"]
        assert error_codes(logged_out) == ["BAD_USER_INPUT"]


class TestLoneSurrogates:
    async def test_in_a_refresh_token(self, client: httpx.AsyncClient, token: str) -> None:
        refreshed = await post_json(
            client, {"query": REFRESH, "variables": {"token": f"a.b{LONE_SURROGATE}.c"}}
        )
        logged_out = await post_json(
            client, {"query": LOGOUT, "variables": {"token": LONE_SURROGATE}}, token=token
        )

        assert refreshed.status_code == 200
        assert error_codes(refreshed.json()) == ["UNAUTHENTICATED"]
        assert error_codes(logged_out.json()) == ["BAD_USER_INPUT"]
        assert logged_out.json()["errors"][0]["extensions"]["field"] == "refreshToken"

    async def test_in_a_persisted_query(self, client: httpx.AsyncClient) -> None:
        query = f"{{ __typename }} # {LONE_SURROGATE}"
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}

        response = await post_json(client, {"query": query, "extensions": persisted})

        assert response.status_code == 200
        assert error_codes(response.json()) == ["BAD_USER_INPUT"]

    async def test_in_an_operation_name_leaves_metrics_readable(
        self, client: httpx.AsyncClient
    ) -> None:
        """The name of an unparsable document never becomes a metric label."""
        response = await post_json(
            client, {"query": "{", "operationName": f"Broken{LONE_SURROGATE}"}
        )
        named = await post_json(client, {"query": f"query {'N' * 300} {{ __typename }}"})

        assert error_codes(response.json()) == ["GRAPHQL_PARSE_FAILED"]
        assert named.status_code == 200
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert "Broken" not in metrics.text
        assert f'operation="{"N" * 64}"' in metrics.text
        assert "N" * 65 not in metrics.text


def forged_cursor(user_id: int, ordering: str, position: str) -> str:
    """A cursor signed with the server's key for `user_id`, holding any position text."""
    key = hmac.digest(TEST_SECRET.encode(), f"taskql-cursor:{user_id}".encode(), "sha256")
    payload = f"{ordering}|{position}".encode()
    mac = hmac.digest(key, payload, "sha256")[:MAC_BYTES]
    return base64.urlsafe_b64encode(mac + payload).decode("ascii")


class TestSignedCursorsHoldingWrongValues:
    @pytest.mark.parametrize(
        ("order_by", "ordering", "position"),
        [
            ({"field": "TITLE", "direction": "ASC"}, "title|a", "1|i5"),
            ({"field": "TITLE", "direction": "ASC"}, "title|a", "1|sa\x00b"),
            ({"field": "TITLE", "direction": "ASC"}, "title|a", "1|n"),
            (None, "created_at|d", "1|t2030-01-01T00:00:00"),
            (None, "created_at|d", "1|s2030-01-01T00:00:00+00:00"),
            (None, "created_at|d", "1|i1"),
            (None, "created_at|d", "1|n"),
            ({"field": "DUE_AT", "direction": "ASC"}, "due_at|a", "1|t0001-01-01T00:00:00+01:00"),
            ({"field": "PRIORITY", "direction": "ASC"}, "priority|a", f"1|i{2**40}"),
            ({"field": "PRIORITY", "direction": "ASC"}, "priority|a", "1|sHIGH"),
            (None, "created_at|d", f"{INT64_MAX + 1}|t2030-01-01T00:00:00+00:00"),
            (None, "created_at|d", " 1|t2030-01-01T00:00:00+00:00"),
        ],
    )
    @pytest.mark.parametrize("argument", ["after", "before"])
    async def test_bad_user_input_naming_the_argument(  # noqa: PLR0917
        self,
        client: httpx.AsyncClient,
        session: dict[str, Any],
        token: str,
        order_by: dict[str, str] | None,
        ordering: str,
        position: str,
        argument: str,
    ) -> None:
        decoded = from_global_id(session["user"]["id"])
        assert decoded is not None
        await create_task(client, token)
        cursor = forged_cursor(decoded[1], ordering, position)
        query = f"""query($cursor: String!, $orderBy: TaskOrder) {{
          tasks({argument}: $cursor, orderBy: $orderBy) {{ totalCount edges {{ cursor }} }}
        }}"""

        body = await graphql(client, query, {"cursor": cursor, "orderBy": order_by}, token=token)

        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == argument

    async def test_a_cursor_forged_with_a_right_value_pages(
        self, client: httpx.AsyncClient, session: dict[str, Any], token: str
    ) -> None:
        """The control: `forged_cursor` signs as the server does, so only the values differ."""
        first = await create_task(client, token, title="a")
        for title in ("b", "c"):
            await create_task(client, token, title=title)
        user, task = from_global_id(session["user"]["id"]), from_global_id(first["id"])
        assert user is not None
        assert task is not None
        cursor = forged_cursor(user[1], "title|a", f"{task[1]}|sa")
        query = """query($after: String) {
          tasks(first: 1, after: $after, orderBy: {field: TITLE, direction: ASC}) {
            edges { node { title } }
          }
        }"""

        body = await graphql(client, query, {"after": cursor}, token=token)

        assert body == {"data": {"tasks": {"edges": [{"node": {"title": "b"}}]}}}


class TestOtherMethods:
    @pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PROPFIND"])
    async def test_are_405_with_allow_and_json_errors(
        self, client: httpx.AsyncClient, method: str
    ) -> None:
        response = await client.request(method, "/graphql")

        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST"
        assert response.headers["content-type"].startswith("application/json")
        assert error_codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]


class TestRequestsEndingWhileALoaderReads:
    async def test_the_connection_goes_back_to_the_pool(
        self, app: FastAPI, client: httpx.AsyncClient, token: str
    ) -> None:
        """`subtasks` fails and nulls the created task while the batch `parent` waits for
        is still reading on the mutation's session: the request must end only once that
        statement has, not close the session under it (PostgreSQL: "another operation is
        in progress", a 500, and the connection lost to the pool)."""
        parent = await create_task(client, token, tags=["x"])
        query = """mutation($id: ID!) {
          createTask(input: {title: "child", parentId: $id}) {
            parent { tags owner { email } } subtasks(first: 1, last: 1) { totalCount }
          }
        }"""
        pool = app.state.services.engine.pool

        for _ in range(10):
            body = await graphql(client, query, {"id": parent["id"]}, token=token)
            assert body["data"] is None
            assert set(error_codes(body)) == {"BAD_USER_INPUT"}, body
            assert pool.checkedout() == 0


@pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)
@pytest.mark.parametrize("settings_overrides", [{"request_timeout_seconds": 0.5}])
async def test_the_time_limit_is_not_held_up_by_a_statement_left_to_finish(
    app: FastAPI, client: httpx.AsyncClient, token: str, settings_overrides: dict[str, Any]
) -> None:
    """Statements run to their end when only a field is cancelled, but a request at its
    time limit still answers then: its blocked page and count are cancelled with it."""
    await create_task(client, token)
    locker = await asyncpg.connect(
        str(app.state.services.settings.database_url).replace("+asyncpg", "")
    )
    try:
        await locker.execute("BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = await post_graphql(
            client, "{ tasks { totalCount edges { node { id } } } }", token=token
        )
        elapsed = time.monotonic() - started
    finally:
        await locker.close()

    assert response.status_code == 503, response.text
    assert error_codes(response.json()) == ["SERVICE_UNAVAILABLE"]
    assert elapsed < 2
    after = await graphql(client, "{ tasks { totalCount } }", token=token)
    assert after == {"data": {"tasks": {"totalCount": 1}}}
