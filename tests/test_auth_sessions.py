"""Accounts and sessions through /graphql: signup, login, refresh rotation, logout, passwords."""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time
from collections.abc import Iterator
from typing import Any

import bcrypt
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import scalar
from tests.helpers import DEFAULT_PASSWORD, error_codes, graphql, post_graphql, signup

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


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Generous limits: these tests are about sessions; test_auth_rate_limits covers limits."""
    return {"rate_limit_per_address": "1000/minute", "rate_limit_per_account": "1000/minute"}


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


@pytest.fixture
def auth_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The taskql loggers do not propagate to the root logger, so attach caplog directly."""
    auth_logger = logging.getLogger("taskql.auth")
    auth_logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="taskql.auth")
    try:
        yield caplog
    finally:
        auth_logger.removeHandler(caplog.handler)


async def test_signup_returns_a_working_pair(client: httpx.AsyncClient) -> None:
    payload = await signup(client, "ada@example.com", name="Ada")
    assert payload["tokenType"] == "Bearer"
    assert payload["expiresIn"] == 900
    assert payload["user"]["email"] == "ada@example.com"
    body = await graphql(client, ME, token=payload["accessToken"])
    assert body["data"]["me"]["email"] == "ada@example.com"
    assert body["data"]["me"]["name"] == "Ada"


async def test_signup_stores_no_token_and_no_password(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    payload = await signup(client, "ada@example.com")
    stored_hash = await scalar(app, "SELECT password_hash FROM users")
    assert stored_hash.startswith("$2b$04$")
    assert DEFAULT_PASSWORD not in stored_hash
    jti_hash = await scalar(app, "SELECT current_jti_hash FROM auth_sessions")
    assert len(jti_hash) == 64
    assert jti_hash not in payload["refreshToken"]


async def test_emails_are_unique_whatever_their_case(client: httpx.AsyncClient) -> None:
    await signup(client, "Mixed.Case@Example.COM")
    body = await graphql(
        client,
        SIGNUP_TOKEN,
        {"input": {"email": "mixed.case@example.com", "password": DEFAULT_PASSWORD}},
    )
    assert error_codes(body) == ["CONFLICT"]
    payload = await logged_in(client, "MIXED.case@example.com")
    assert payload["user"]["email"] == "Mixed.Case@Example.COM"


@pytest.mark.parametrize(
    ("password", "acceptable"),
    [
        ("x" * 7, False),
        ("x" * 8, True),
        ("x" * 72, True),
        ("x" * 73, False),
        ("é" * 36, True),  # 72 bytes of UTF-8
        ("é" * 36 + "x", False),  # 73 bytes, though only 37 characters
    ],
)
async def test_passwords_are_8_to_72_bytes_at_signup(
    client: httpx.AsyncClient, password: str, acceptable: bool
) -> None:
    body = await graphql(
        client,
        SIGNUP_TOKEN,
        {"input": {"email": "ada@example.com", "password": password}},
    )
    if acceptable:
        assert "errors" not in body, body
    else:
        assert bad_field(body) == "password"


@pytest.mark.parametrize("password", ["x" * 7, "x" * 73])
async def test_passwords_of_the_wrong_size_at_login_are_bad_input(
    client: httpx.AsyncClient, password: str
) -> None:
    await signup(client, "ada@example.com")
    assert bad_field(await login(client, "ada@example.com", password)) == "password"
    assert bad_field(await login(client, "nobody@example.com", password)) == "password"


async def test_unencodable_text_is_bad_input_not_a_server_error(
    client: httpx.AsyncClient,
) -> None:
    """JSON can carry lone surrogates and NUL characters; neither may reach bcrypt or SQL."""
    cases = [
        ({"email": "ada@example.com", "password": "\ud800" * 10}, "password"),
        ({"email": "ad\ud800a@example.com", "password": DEFAULT_PASSWORD}, "email"),
        ({"email": "ada\x00@example.com", "password": DEFAULT_PASSWORD}, "email"),
        ({"email": "ada@example.com", "password": DEFAULT_PASSWORD, "name": "A\x00"}, "name"),
    ]
    for variables, field in cases:
        response = await client.post(
            "/graphql",
            content=json.dumps(
                {
                    "query": SIGNUP_TOKEN,
                    "variables": {"input": variables},
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        assert bad_field(response.json()) == field


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    await signup(client, "ada@example.com")
    wrong_password = await login(client, "ada@example.com", "not the password")
    unknown_email = await login(client, "nobody@example.com", "not the password")
    assert wrong_password == unknown_email
    assert reason(wrong_password) == "bad_credentials"
    assert wrong_password["data"] is None


@pytest.mark.parametrize(
    "settings_overrides",
    [{"bcrypt_rounds": 10, "rate_limit_per_address": "1000/minute"}],
)
async def test_unknown_email_takes_as_long_as_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    await signup(client, "ada@example.com")

    async def median_seconds(email: str) -> float:
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            await login(client, email, "not the password")
            timings.append(time.perf_counter() - started)
        return statistics.median(timings)

    await login(client, "warm-up@example.com", "not the password")  # builds the dummy hash
    wrong_password = await median_seconds("ada@example.com")
    unknown_email = await median_seconds("nobody@example.com")
    assert 0.5 < unknown_email / wrong_password < 2.0, (unknown_email, wrong_password)


async def test_an_older_hash_is_upgraded_at_login(client: httpx.AsyncClient, app: FastAPI) -> None:
    await signup(client, "ada@example.com")
    old = bcrypt.hashpw(DEFAULT_PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    await execute_sql(app, "UPDATE users SET password_hash = :hash", hash=old)
    await logged_in(client, "ada@example.com")
    assert (await scalar(app, "SELECT password_hash FROM users")).startswith("$2b$04$")


async def test_refresh_rotates_the_pair(client: httpx.AsyncClient) -> None:
    first = await signup(client, "ada@example.com")
    body = await refresh(client, first["refreshToken"])
    assert "errors" not in body, body
    second = body["data"]["refreshToken"]
    assert second["refreshToken"] != first["refreshToken"]
    assert second["user"]["email"] == "ada@example.com"
    assert await me_status(client, second["accessToken"]) == 200
    third = await refresh(client, second["refreshToken"])
    assert "errors" not in third, third


async def test_reusing_a_spent_refresh_token_revokes_the_whole_session(
    client: httpx.AsyncClient,
) -> None:
    first = await signup(client, "ada@example.com")
    second = (await refresh(client, first["refreshToken"]))["data"]["refreshToken"]
    other_session = await logged_in(client, "ada@example.com")

    assert reason(await refresh(client, first["refreshToken"])) == "invalid"

    assert reason(await refresh(client, second["refreshToken"])) == "invalid"
    assert await me_status(client, second["accessToken"]) == 401
    assert await me_status(client, first["accessToken"]) == 401
    assert await me_status(client, other_session["accessToken"]) == 200


async def test_two_concurrent_refreshes_of_one_token_give_exactly_one_pair(
    client: httpx.AsyncClient,
) -> None:
    for round_number in range(3):
        payload = await logged_in(client, "ada@example.com") if round_number else None
        payload = payload or await signup(client, "ada@example.com")
        results = await asyncio.gather(
            refresh(client, payload["refreshToken"]), refresh(client, payload["refreshToken"])
        )
        winners = [body for body in results if "errors" not in body]
        losers = [body for body in results if "errors" in body]
        assert len(winners) == 1, results
        assert len(losers) == 1, results
        assert reason(losers[0]) == "invalid"
        # The loser presented a spent token, which ends the family, the winner's pair included.
        won = winners[0]["data"]["refreshToken"]
        assert reason(await refresh(client, won["refreshToken"])) == "invalid"


async def test_access_token_used_as_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    payload = await signup(client, "ada@example.com")
    assert reason(await refresh(client, payload["accessToken"])) == "invalid"
    assert reason(await refresh(client, "not-a-token")) == "invalid"
    assert "errors" not in await refresh(client, payload["refreshToken"])


async def test_logout_ends_only_that_session(client: httpx.AsyncClient) -> None:
    first = await signup(client, "ada@example.com")
    second = await logged_in(client, "ada@example.com")

    body = await graphql(
        client, LOGOUT, {"token": first["refreshToken"]}, token=first["accessToken"]
    )
    assert body == {"data": {"logout": True}}

    assert await me_status(client, first["accessToken"]) == 401
    assert reason(await refresh(client, first["refreshToken"])) == "invalid"
    assert await me_status(client, second["accessToken"]) == 200
    assert "errors" not in await refresh(client, second["refreshToken"])
    again = await graphql(
        client, LOGOUT, {"token": first["refreshToken"]}, token=second["accessToken"]
    )
    assert again == {"data": {"logout": False}}


async def test_logout_refuses_another_users_refresh_token(client: httpx.AsyncClient) -> None:
    ada = await signup(client, "ada@example.com")
    bob = await signup(client, "bob@example.com")
    body = await graphql(client, LOGOUT, {"token": bob["refreshToken"]}, token=ada["accessToken"])
    assert bad_field(body) == "refreshToken"
    assert await me_status(client, bob["accessToken"]) == 200


async def test_logout_all_ends_every_session_of_the_user(client: httpx.AsyncClient) -> None:
    first = await signup(client, "ada@example.com")
    second = await logged_in(client, "ada@example.com")
    bob = await signup(client, "bob@example.com")

    assert await graphql(client, LOGOUT_ALL, token=second["accessToken"]) == {
        "data": {"logoutAll": True}
    }

    for session in (first, second):
        assert await me_status(client, session["accessToken"]) == 401
        assert reason(await refresh(client, session["refreshToken"])) == "invalid"
    assert await me_status(client, bob["accessToken"]) == 200


async def test_change_password_ends_all_sessions_but_the_one_it_returns(
    client: httpx.AsyncClient,
) -> None:
    first = await signup(client, "ada@example.com")
    second = await logged_in(client, "ada@example.com")

    body = await graphql(
        client,
        CHANGE_PASSWORD,
        {"current": DEFAULT_PASSWORD, "new": NEW_PASSWORD},
        token=first["accessToken"],
    )
    assert "errors" not in body, body
    fresh = body["data"]["changePassword"]

    for session in (first, second):
        assert await me_status(client, session["accessToken"]) == 401
        assert reason(await refresh(client, session["refreshToken"])) == "invalid"
    assert await me_status(client, fresh["accessToken"]) == 200
    assert "errors" not in await refresh(client, fresh["refreshToken"])
    assert reason(await login(client, "ada@example.com")) == "bad_credentials"
    await logged_in(client, "ada@example.com", NEW_PASSWORD)


async def test_change_password_with_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    payload = await signup(client, "ada@example.com")
    wrong = await graphql(
        client,
        CHANGE_PASSWORD,
        {"current": "not the password", "new": NEW_PASSWORD},
        token=payload["accessToken"],
    )
    assert reason(wrong) == "bad_credentials"
    too_short = await graphql(
        client,
        CHANGE_PASSWORD,
        {"current": DEFAULT_PASSWORD, "new": "short"},
        token=payload["accessToken"],
    )
    assert bad_field(too_short) == "newPassword"
    assert await me_status(client, payload["accessToken"]) == 200
    await logged_in(client, "ada@example.com")


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (ME, None),
        (LOGOUT, {"token": "anything"}),
        (LOGOUT_ALL, None),
        (CHANGE_PASSWORD, {"current": DEFAULT_PASSWORD, "new": NEW_PASSWORD}),
    ],
)
async def test_without_a_token_only_the_anonymous_fields_work(
    client: httpx.AsyncClient, document: str, variables: dict[str, Any] | None
) -> None:
    body = await graphql(client, document, variables)
    assert reason(body) == "missing"


async def test_a_deleted_users_token_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    payload = await signup(client, "ada@example.com")
    await execute_sql(app, "DELETE FROM users")
    response = await post_graphql(client, ME, token=payload["accessToken"])
    assert response.status_code == 401
    assert reason(response.json()) == "invalid"
    assert reason(await refresh(client, payload["refreshToken"])) == "invalid"


async def test_dead_sessions_are_cleaned_up_when_the_user_logs_in(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    expiring = await signup(client, "ada@example.com")
    revoked = await logged_in(client, "ada@example.com")
    bob = await signup(client, "bob@example.com")
    await graphql(client, LOGOUT, {"token": revoked["refreshToken"]}, token=revoked["accessToken"])
    await execute_sql(app, "UPDATE auth_sessions SET expires_at = created_at WHERE user_id = 1")
    assert await me_status(client, expiring["accessToken"]) == 401
    assert await scalar(app, "SELECT count(*) FROM auth_sessions") == 3

    await logged_in(client, "ada@example.com")

    assert await scalar(app, "SELECT count(*) FROM auth_sessions WHERE user_id = 1") == 1
    assert await me_status(client, bob["accessToken"]) == 200


async def test_failures_are_logged_without_credentials(
    client: httpx.AsyncClient, auth_log: pytest.LogCaptureFixture
) -> None:
    payload = await signup(client, "ada@example.com")
    await login(client, "ada@example.com", "not the password")
    await post_graphql(client, ME, token=payload["refreshToken"])
    messages = [record.getMessage() for record in auth_log.records]
    assert "login refused (wrong password) from 203.0.113.7" in messages
    assert "access token refused (invalid) from 203.0.113.7" in messages
    logged = " ".join(messages) + " ".join(str(vars(record)) for record in auth_log.records)
    for secret in ("ada@example.com", "not the password", payload["refreshToken"]):
        assert secret not in logged


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "bcrypt_rounds": 10,
            "db_pool_size": 2,
            "db_max_overflow": 0,
            "db_pool_timeout_seconds": 1,
            "rate_limit_per_address": "1000/minute",
            "rate_limit_per_account": "1000/minute",
        }
    ],
)
async def test_logins_waiting_for_bcrypt_hold_no_database_connection(
    client: httpx.AsyncClient,
) -> None:
    """More logins than pooled connections (PostgreSQL pool of 2) must not starve `me`."""
    payload = await signup(client, "ada@example.com")
    logins = [asyncio.create_task(login(client, "ada@example.com")) for _ in range(6)]
    await asyncio.sleep(0.05)
    assert await me_status(client, payload["accessToken"]) == 200
    for body in await asyncio.gather(*logins):
        assert "errors" not in body, body
