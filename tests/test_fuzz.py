"""Property-based fuzzing of /graphql on both databases: whatever comes in, the contract holds.

Three generators, each sending TASKQL_FUZZ_EXAMPLES requests (tests/fuzzing.py) per
database: documents from schema.graphql, with and without a token; operations with
generated variables (tests/fuzz_values.py); and transport-level junk (methods, media
types, bodies, headers). Every answer must be JSON, carry a contract code on every
error (never INTERNAL_SERVER_ERROR), be no 5xx but a 503 with Retry-After, and leak no
trace, SQL, hash or token; no connection stays lent out after it; afterwards /healthz
and /metrics still answer 200.

Hypothesis runs synchronously in a worker thread and hands each request to the test's
event loop, where the app and its database live.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, note, seed
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from tests.fuzz_values import (
    HOSTILE_TEXT,
    VARIABLE_OPERATIONS,
    World,
    any_values,
    documents,
    forged_tokens,
    variables_of,
)
from tests.fuzzing import SEED, Sent, check_answer, fuzz_settings, send, url_safe
from tests.helpers import DEFAULT_PASSWORD, SIGNUP

T = TypeVar("T")
JSON = "application/json"
ACCEPT = st.sampled_from(
    [
        JSON,
        "application/graphql-response+json",
        "*/*",
        "application/xml",
        "",
        "application/graphql-response+json;q=0.5, application/json",
    ]
)
TOKENS = st.sampled_from(["valid", "valid", "valid", "none", "garbage", "refresh", "forged"])
LOGIN = """mutation($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken user { id } }
}"""
CREATE = "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }"
PAGE = """query($order: TaskOrder) {
  tasks(first: 5, orderBy: $order) { edges { cursor node { id } } }
}"""


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Generated logins must not use up the attempts the test's own logins need."""
    return {"rate_limit_per_address": "100000/minute", "rate_limit_per_account": "100000/minute"}


@pytest.fixture
async def fuzz_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI, with a 500 seen as an answer rather than raised in the test."""
    transport = httpx.ASGITransport(
        app=app, raise_app_exceptions=False, client=("203.0.113.9", 40000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _post(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    return response.json()


async def establish(client: httpx.AsyncClient, world: World, *, attempt: int = 0) -> None:
    """Log the world's user in again (or sign a new one up when a generated changePassword
    guessed the password), give it tasks, and collect their ids and cursors."""
    credentials = {"email": world.email, "password": world.password}
    body = await _post(client, LOGIN, {"input": credentials})
    if body.get("data") is None:
        world.email = f"fuzz{attempt}-{world.email}"
        body = await _post(client, SIGNUP, {"input": {**credentials, "email": world.email}})
        payload = body["data"]["signup"]
    else:
        payload = body["data"]["login"]
    world.access_token, world.refresh_token = payload["accessToken"], payload["refreshToken"]
    world.user_pk = int(base64.urlsafe_b64decode(payload["user"]["id"]).decode().split(":")[1])
    headers = {"Authorization": f"Bearer {world.access_token}"}
    for title in ("alpha", "beta"):
        created = await client.post(
            "/graphql",
            json={"query": CREATE, "variables": {"input": {"title": title, "tags": ["t"]}}},
            headers=headers,
        )
        parent = created.json()["data"]["createTask"]["id"]
        child = {"input": {"title": f"{title} child", "parentId": parent, "dueAt": None}}
        await client.post("/graphql", json={"query": CREATE, "variables": child}, headers=headers)
    world.ids, world.cursors = [], []
    for order in (
        None,
        {"field": "TITLE", "direction": "ASC"},
        {"field": "DUE_AT", "direction": "DESC"},
    ):
        page = await client.post(
            "/graphql", json={"query": PAGE, "variables": {"order": order}}, headers=headers
        )
        for edge in page.json()["data"]["tasks"]["edges"]:
            world.ids.append(edge["node"]["id"])
            world.cursors.append(edge["cursor"])


@pytest.fixture
async def world(fuzz_client: httpx.AsyncClient) -> World:
    known = World(email="fuzz@example.com", password=DEFAULT_PASSWORD)
    await establish(fuzz_client, known)
    return known


def bearer(data: st.DataObject, world: World) -> dict[str, str]:
    """An Authorization header: none, the world's, a refresh token, junk, or a forged one."""
    choice = data.draw(TOKENS, label="token")
    if choice == "none":
        return {}
    token = {"valid": world.access_token, "refresh": world.refresh_token, "garbage": "e30.e30.x"}
    if choice == "forged":
        return {"Authorization": f"Bearer {data.draw(forged_tokens(world), label='forged')}"}
    return {"Authorization": f"Bearer {token[choice]}"}


async def fuzz(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    draw_request: Callable[[st.DataObject], Sent],
) -> int:
    """Send as many generated requests as the settings say, checking every answer and that
    no database connection stays lent out after it; then check the service is still well.
    Returns how many requests were sent."""
    loop = asyncio.get_running_loop()
    pool = app.state.services.engine.pool
    sent = 0

    def run(awaitable: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapped(), loop).result(timeout=60)

    @fuzz_settings()
    @given(data=st.data())
    def exchange(data: st.DataObject) -> None:
        nonlocal sent
        request = draw_request(data)
        note(repr(request))
        response = run(send(client, request))
        sent += 1
        check_answer(request, response, world.secrets())
        # A request's database work ends with it, whatever failed: nothing stays lent out.
        assert pool.checkedout() == 0, "a connection was not given back to the pool"
        valid = request.headers.get("Authorization") == f"Bearer {world.access_token}"
        if valid and response.status_code == 401:
            run(establish(client, world, attempt=sent))  # a generated mutation ended the session

    if SEED is not None:
        exchange = seed(int(SEED))(exchange)
    await asyncio.to_thread(exchange)
    healthz = await client.get("/healthz")
    metrics = await client.get("/metrics")
    assert healthz.status_code == 200
    assert metrics.status_code == 200
    assert list(text_string_to_metric_families(metrics.text))
    return sent


@cache
def _documents() -> st.SearchStrategy[str]:
    return documents()


async def test_generated_documents_with_and_without_a_token(
    app: FastAPI, fuzz_client: httpx.AsyncClient, world: World
) -> None:
    def draw_request(data: st.DataObject) -> Sent:
        document = data.draw(_documents(), label="query")
        headers = {"Accept": data.draw(ACCEPT, label="accept"), **bearer(data, world)}
        fields: dict[str, Any] = {"query": document}
        if data.draw(st.booleans(), label="named"):
            fields["operationName"] = data.draw(HOSTILE_TEXT, label="operationName")
        if data.draw(st.integers(0, 9), label="over GET") == 0:
            return Sent("GET", "/graphql", headers, params=url_safe(fields))
        return Sent(
            "POST", "/graphql", {**headers, "Content-Type": JSON}, json.dumps(fields).encode()
        )

    assert await fuzz(app, fuzz_client, world, draw_request) >= fuzz_settings().max_examples


async def test_generated_variables(
    app: FastAPI, fuzz_client: httpx.AsyncClient, world: World
) -> None:
    def draw_request(data: st.DataObject) -> Sent:
        query = data.draw(st.sampled_from(VARIABLE_OPERATIONS), label="query")
        variables: Any = data.draw(variables_of(world, query), label="variables")
        if data.draw(st.integers(0, 19), label="variables not an object") == 0:
            variables = data.draw(any_values(world), label="variables")
        headers = {"Content-Type": JSON, "Accept": data.draw(ACCEPT), **bearer(data, world)}
        if data.draw(st.integers(0, 2), label="the world's token") > 0:
            headers["Authorization"] = f"Bearer {world.access_token}"
        body = json.dumps({"query": query, "variables": variables}).encode()
        return Sent("POST", "/graphql", headers, body)

    assert await fuzz(app, fuzz_client, world, draw_request) >= fuzz_settings().max_examples


METHODS = st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "TRACE"])
CONTENT_TYPES = st.sampled_from(
    [JSON, f"{JSON}; charset=latin-1", "text/plain", "multipart/form-data", ""]
)
ENCODINGS = st.sampled_from(["gzip", "identity", "br, gzip;q=0.5", ""])
PRINTABLE_ASCII = st.characters(min_codepoint=32, max_codepoint=126)
REQUEST_FIELDS = st.sampled_from(["query", "variables", "operationName", "extensions"])
PERSISTED_QUERY = st.fixed_dictionaries(
    {"version": st.integers(0, 2)}, optional={"sha256Hash": HOSTILE_TEXT}
)
TRANSPORT_BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"[]", b'[{"query": "{ __typename }"}]', b'{"query": "{ __typename }"']),
    st.recursive(
        st.none() | st.booleans() | st.integers() | HOSTILE_TEXT,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(REQUEST_FIELDS, children),
        max_leaves=8,
    ).map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries(
        {"query": st.just("{ __typename }")},
        optional={"extensions": st.fixed_dictionaries({"persistedQuery": PERSISTED_QUERY})},
    ).map(lambda value: json.dumps(value).encode()),
)


async def test_generated_transport(
    app: FastAPI, fuzz_client: httpx.AsyncClient, world: World
) -> None:
    def draw_request(data: st.DataObject) -> Sent:
        method = data.draw(METHODS, label="method")
        headers = {
            "Content-Type": data.draw(CONTENT_TYPES, label="content type"),
            "Accept": data.draw(ACCEPT, label="accept"),
            "Accept-Encoding": data.draw(ENCODINGS, label="accept encoding"),
            "X-Request-ID": data.draw(st.text(PRINTABLE_ASCII, max_size=140), label="id"),
            **bearer(data, world),
        }
        if data.draw(st.booleans(), label="junk authorization"):
            headers["Authorization"] = data.draw(st.text(PRINTABLE_ASCII, max_size=80))
        if method in {"GET", "HEAD"}:
            params = data.draw(st.dictionaries(REQUEST_FIELDS, HOSTILE_TEXT), label="params")
            return Sent(
                method,
                "/graphql",
                headers,
                params=url_safe(params),
            )
        return Sent(method, "/graphql", headers, data.draw(TRANSPORT_BODIES, label="body"))

    assert await fuzz(app, fuzz_client, world, draw_request) >= fuzz_settings().max_examples
