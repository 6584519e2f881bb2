"""APP_ENV=production: no introspection, no suggestions, no GraphiQL, no debug data."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import error_codes, post_graphql


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"app_env": "production"}


async def test_introspection_is_refused(client: httpx.AsyncClient) -> None:
    for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Task") { name } }'):
        body = (await post_graphql(client, query)).json()
        assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
        assert "introspection" in body["errors"][0]["message"]
        assert "data" not in body


async def test_a_misspelled_field_gets_no_suggestion(client: httpx.AsyncClient) -> None:
    body = (await post_graphql(client, "{ taks { totalCount } }")).json()
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert body["errors"][0]["message"] == "Cannot query field 'taks' on type 'Query'."


async def test_a_misspelled_enum_value_gets_no_suggestion(client: httpx.AsyncClient) -> None:
    query = "query Q($o: TaskOrder) { tasks(orderBy: $o) { totalCount } }"
    variables = {"o": {"field": "TITEL", "direction": "ASC"}}
    body = (await post_graphql(client, query, variables)).json()
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "Did you mean" not in body["errors"][0]["message"]


async def test_there_is_no_graphiql_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert not response.headers["content-type"].startswith("text/html")
    assert "<html" not in response.text.lower()


async def test_typename_still_answers(client: httpx.AsyncClient) -> None:
    response = await post_graphql(client, "{ __typename }")
    assert response.json() == {"data": {"__typename": "Query"}}


class TestDevelopmentKeepsThem:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"app_env": "development"}

    async def test_introspection_and_suggestions(self, client: httpx.AsyncClient) -> None:
        schema = (await post_graphql(client, "{ __schema { queryType { name } } }")).json()
        typo = (await post_graphql(client, "{ taks { totalCount } }")).json()
        assert schema == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        assert "Did you mean 'task' or 'tasks'?" in typo["errors"][0]["message"]
