"""Findings of a black-box audit against the contract, each pinned through /graphql."""

from __future__ import annotations

import httpx
import pytest

from tests.test_tasks import create_task, titles, user_token

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    return await user_token(client, "audit@example.com")


async def test_search_ignores_case_beyond_ascii(client: httpx.AsyncClient, token: str) -> None:
    """`search` is case-insensitive for every letter, on SQLite as on PostgreSQL."""
    await create_task(client, token, title="ÉCOLE Été")
    await create_task(client, token, title="plain", description="Ünïcode ÑANDÚ")

    async def matching(search: str) -> list[str]:
        return await titles(client, token, filter={"search": search})

    assert await matching("école été") == ["ÉCOLE Été"]
    assert await matching("ünïcode ñandú") == ["plain"]
    assert await matching("ÜNÏCODE") == ["plain"]


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 64}])
async def test_size_refusals_answer_in_the_media_type_the_client_accepts(
    client: httpx.AsyncClient,
) -> None:
    """413 and 431 come before parsing, yet a graphql-response+json client still gets it."""
    accept = {"Accept": GRAPHQL_RESPONSE_JSON}
    body = await client.post(
        "/graphql", json={"query": "{ __typename }" + " " * 64}, headers=accept
    )
    header = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={**accept, "Authorization": "Bearer " + "a" * 9000},
    )
    for response, status in ((body, 413), (header, 431)):
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    legacy = await client.post("/graphql", json={"query": "{ __typename }" + " " * 64})
    assert legacy.status_code == 413
    assert legacy.headers["content-type"].startswith("application/json")


async def test_paths_besides_graphql_refuse_with_coded_json_errors(
    client: httpx.AsyncClient,
) -> None:
    """An unknown path or a wrong method answers an `errors` array with codes, as /graphql."""
    missing = await client.get("/no-such-path")
    assert missing.status_code == 404
    assert [error["extensions"]["code"] for error in missing.json()["errors"]] == ["NOT_FOUND"]
    wrong_method = await client.post("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET"
    codes = [error["extensions"]["code"] for error in wrong_method.json()["errors"]]
    assert codes == ["GRAPHQL_VALIDATION_FAILED"]


async def test_an_oversized_authorization_is_refused_whichever_line_carries_it(
    client: httpx.AsyncClient,
) -> None:
    """Several Authorization lines make one field (RFC 9110): over 8 KiB in all is 431."""
    big = "Bearer " + "a" * 9000
    for lines in (
        [("Authorization", big), ("Authorization", "Bearer x")],
        [("Authorization", "Bearer " + "a" * 5000), ("Authorization", "Bearer " + "b" * 5000)],
    ):
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers=httpx.Headers(lines)
        )
        assert response.status_code == 431, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
