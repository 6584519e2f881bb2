"""Small helpers so each test reads as query, call, assertion."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

DEFAULT_PASSWORD = "correct horse battery"
TEST_SECRET = "test-secret-that-is-at-least-32-bytes-long"


async def post_graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    request_headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        request_headers["Authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return await client.post("/graphql", json=body, headers=request_headers)


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """Post and return the JSON body, asserting the transport itself succeeded."""
    response = await post_graphql(client, query, variables, token=token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


SIGNUP = """
mutation Signup($input: SignupInput!) {
  signup(input: $input) { accessToken refreshToken tokenType expiresIn user { id email name } }
}
"""


async def signup(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD, name: str | None = None
) -> dict[str, Any]:
    """Sign a user up through the API and return the AuthPayload."""
    body = await graphql(
        client, SIGNUP, {"input": {"email": email, "password": password, "name": name}}
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["signup"]
    return payload


async def answered_within(
    seconds: float, ask: Callable[[], Awaitable[httpx.Response]], status: int = 200
) -> httpx.Response:
    """Ask again until the answer has `status`, for at most `seconds` (e.g. while the
    database breaker's probe notices that the database is back)."""
    async with asyncio.timeout(seconds):
        while True:
            response = await ask()
            if response.status_code == status:
                return response
            await asyncio.sleep(0.05)
