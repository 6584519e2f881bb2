"""GraphQL over HTTP: media types, methods, request errors as JSON, batching, headers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import error_codes

GRAPHQL_RESPONSE = "application/graphql-response+json"
TYPENAME = {"query": "{ __typename }"}


def assert_json_errors(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/")
    body: dict[str, Any] = response.json()
    assert error_codes(body) == [code]
    return body


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=xyz",
        None,
        "application/json; charset=latin-1",
    ],
)
async def test_post_bodies_that_are_not_json_get_415_without_execution(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post(
        "/graphql", content=b'{"query": "mutation { logoutAll }"}', headers=headers
    )
    body = assert_json_errors(response, 415, "GRAPHQL_PARSE_FAILED")
    assert "data" not in body


async def test_mutation_over_get_is_405_with_allow_post(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { logoutAll }"})
    assert_json_errors(response, 405, "GRAPHQL_VALIDATION_FAILED")
    assert response.headers["allow"] == "POST"


async def test_query_over_get_runs(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_other_methods_are_405_with_json(client: httpx.AsyncClient) -> None:
    response = await client.put("/graphql", json=TYPENAME)
    assert_json_errors(response, 405, "GRAPHQL_VALIDATION_FAILED")
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize("body", [b"{not json", b"", b'"a string"', b"42"])
async def test_unreadable_bodies_are_400_json(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert_json_errors(response, 400, "GRAPHQL_PARSE_FAILED")


DEEPLY_NESTED = "[" * 200_000 + "]" * 200_000


async def test_deeply_nested_json_body_is_a_json_400(client: httpx.AsyncClient) -> None:
    body = '{"query": "{ __typename }", "variables": ' + DEEPLY_NESTED + "}"
    response = await client.post(
        "/graphql",
        content=body.encode(),
        headers={"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE},
    )
    assert_json_errors(response, 400, "GRAPHQL_PARSE_FAILED")


async def test_deeply_nested_json_get_variables_are_a_json_400(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        # Deep enough for both JSON parsers, short enough for a URL.
        params={"query": "{ __typename }", "variables": "[" * 5_000 + "]" * 5_000},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    body = assert_json_errors(response, 400, "BAD_USER_INPUT")
    assert body["errors"][0]["extensions"]["field"] == "variables"


@pytest.mark.parametrize(
    ("field", "value"),
    [("variables", "a string"), ("variables", [1]), ("extensions", 5), ("operationName", 1)],
)
async def test_parameters_of_the_wrong_type_are_400_naming_the_field(
    client: httpx.AsyncClient, field: str, value: object
) -> None:
    response = await client.post("/graphql", json={**TYPENAME, field: value})
    body = assert_json_errors(response, 400, "BAD_USER_INPUT")
    assert body["errors"][0]["extensions"]["field"] == field


async def test_variables_that_do_not_coerce_are_bad_user_input(client: httpx.AsyncClient) -> None:
    query = "query Q($name: String!) { __type(name: $name) { name } }"
    legacy = await client.post("/graphql", json={"query": query, "variables": {"name": None}})
    modern = await client.post(
        "/graphql",
        json={"query": query, "variables": {"name": None}},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert_json_errors(legacy, 200, "BAD_USER_INPUT")
    body = assert_json_errors(modern, 400, "BAD_USER_INPUT")
    assert "data" not in body
    assert modern.headers["content-type"].startswith(GRAPHQL_RESPONSE)


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"i": {"title": 5}}, "i.title"),
        ({"i": {"title": "t", "tags": ["ok", 7]}}, "i.tags[1]"),
        ({"i": "not an object"}, "i"),
        ({}, "i"),
    ],
)
async def test_variable_coercion_errors_name_the_field(
    client: httpx.AsyncClient, variables: dict[str, Any], field: str
) -> None:
    query = "mutation M($i: CreateTaskInput!) { createTask(input: $i) { id } }"
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = assert_json_errors(response, 200, "BAD_USER_INPUT")
    assert body["errors"][0]["extensions"]["field"] == field


async def test_missing_query_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"qeury": "{ __typename }"})
    assert_json_errors(response, 400, "GRAPHQL_PARSE_FAILED")


async def test_document_errors_are_200_for_json_and_400_for_graphql_response_json(
    client: httpx.AsyncClient,
) -> None:
    for query, code in (("{", "GRAPHQL_PARSE_FAILED"), ("{ nope }", "GRAPHQL_VALIDATION_FAILED")):
        legacy = await client.post("/graphql", json={"query": query})
        modern = await client.post(
            "/graphql", json={"query": query}, headers={"Accept": GRAPHQL_RESPONSE}
        )
        assert_json_errors(legacy, 200, code)
        assert "data" not in assert_json_errors(modern, 400, code)


async def test_batches_are_refused_while_batching_is_off(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=[TYPENAME, TYPENAME])
    body = assert_json_errors(response, 400, "GRAPHQL_VALIDATION_FAILED")
    assert "BATCHING_ENABLED" in body["errors"][0]["message"]


async def test_security_headers_are_on_every_answer(client: httpx.AsyncClient) -> None:
    for response in (
        await client.post("/graphql", json=TYPENAME),
        await client.post("/graphql", content=b"x", headers={"Content-Type": "text/plain"}),
        await client.get("/healthz"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_responses_are_utf8_json_with_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=TYPENAME, headers={"X-Request-ID": "abc-1"})
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["x-request-id"] == "abc-1"


class TestBatchingOn:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"batching_enabled": True, "max_batch_operations": 3}

    async def test_up_to_the_limit_each_operation_answers(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/graphql", json=[TYPENAME] * 3)
        assert response.status_code == 200
        assert response.json() == [{"data": {"__typename": "Query"}}] * 3

    async def test_over_the_limit_is_one_error_naming_it(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/graphql", json=[TYPENAME] * 4)
        body = assert_json_errors(response, 400, "GRAPHQL_VALIDATION_FAILED")
        assert "MAX_BATCH_OPERATIONS" in body["errors"][0]["message"]


class TestGetQueriesOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"allow_get_queries": False}

    async def test_get_query_is_405(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/graphql", params=TYPENAME)
        assert_json_errors(response, 405, "GRAPHQL_VALIDATION_FAILED")
        assert response.headers["allow"] == "POST"


class TestCors:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"cors_origins": "https://app.example.com"}

    async def test_only_configured_origins_are_allowed(self, client: httpx.AsyncClient) -> None:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = await client.options(
            "/graphql", headers={"Origin": "https://app.example.com", **preflight}
        )
        refused = await client.options(
            "/graphql", headers={"Origin": "https://evil.example.com", **preflight}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        assert "access-control-allow-origin" not in refused.headers


async def test_several_operations_without_a_name_run_the_first_as_before(
    client: httpx.AsyncClient,
) -> None:
    """As Strawberry had it before taskql ran operations itself: the first one runs."""
    body = {"query": "query A { __typename } query B { me { email } }"}
    response = await client.post("/graphql", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}
    named = await client.post("/graphql", json={**body, "operationName": "A"})
    assert named.json() == {"data": {"__typename": "Query"}}
    unknown = await client.post("/graphql", json={**body, "operationName": "C"})
    assert unknown.status_code == 400


async def test_the_first_of_several_operations_decides_the_method_and_session(
    client: httpx.AsyncClient,
) -> None:
    """The transport judges the operation the schema will run: here the first, a mutation."""
    query = "mutation A { logoutAll } query B { __typename }"
    over_get = await client.get("/graphql", params={"query": query})
    assert over_get.status_code == 405
    assert over_get.headers["allow"] == "POST"
    over_post = await client.post("/graphql", json={"query": query})
    assert error_codes(over_post.json()) == ["UNAUTHENTICATED"]
