"""Documents and steps shared by the account and session tests: login, refresh, logout."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.helpers import DEFAULT_PASSWORD, error_codes, graphql, post_graphql

PAIR = "accessToken refreshToken tokenType expiresIn user { id email }"
LOGIN = f"mutation($input: LoginInput!) {{ login(input: $input) {{ {PAIR} }} }}"
REFRESH = f"mutation($token: String!) {{ refreshToken(refreshToken: $token) {{ {PAIR} }} }}"
LOGOUT = "mutation($token: String!) { logout(refreshToken: $token) }"
LOGOUT_ALL = "mutation { logoutAll }"
CHANGE_PASSWORD = f"""
mutation($current: String!, $new: String!) {{
  changePassword(currentPassword: $current, newPassword: $new) {{ {PAIR} }}
}}
"""
SIGNUP_TOKEN = "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }"
ME = "{ me { id email name createdAt } }"
NEW_PASSWORD = "a brand new passphrase"

GENEROUS_RATE_LIMITS = {
    "rate_limit_per_address": "1000/minute",
    "rate_limit_per_account": "1000/minute",
}
"""Settings for tests about accounts and sessions; test_auth_rate_limits covers the limits."""


async def login(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, Any]:
    return await graphql(client, LOGIN, {"input": {"email": email, "password": password}})


async def logged_in(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, Any]:
    body = await login(client, email, password)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["login"]
    return payload


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
    return await graphql(client, REFRESH, {"token": refresh_token})


async def me_status(client: httpx.AsyncClient, access_token: str) -> int:
    """200 while the access token's session lives, 401 once it is over."""
    response = await post_graphql(client, ME, token=access_token)
    if response.status_code == 200:
        assert "errors" not in response.json(), response.text
    return response.status_code


def reason(body: dict[str, Any]) -> str:
    assert error_codes(body) == ["UNAUTHENTICATED"], body
    value: str = body["errors"][0]["extensions"]["reason"]
    return value


def bad_field(body: dict[str, Any]) -> str:
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    field: str = body["errors"][0]["extensions"]["field"]
    return field


async def execute_sql(app: FastAPI, sql: str, **params: Any) -> None:
    async with app.state.services.engine.begin() as connection:
        await connection.execute(text(sql), params)
