"""Signup and login through /graphql: passwords, unique emails, the same answer and time
for an unknown email as for a wrong password, hash upgrades, and logs without credentials."""

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

from tests.conftest import scalar
from tests.helpers import DEFAULT_PASSWORD, error_codes, graphql, post_graphql, signup
from tests.session_helpers import (
    GENEROUS_RATE_LIMITS,
    ME,
    SIGNUP_TOKEN,
    bad_field,
    execute_sql,
    logged_in,
    login,
    me_status,
    reason,
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Generous limits: these tests are about accounts; test_auth_rate_limits covers limits."""
    return dict(GENEROUS_RATE_LIMITS)


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
