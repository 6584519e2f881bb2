"""Rate limits on login, signup, refreshToken and changePassword, per address and per account."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import coredis
import httpx
import pytest

from tests.helpers import DEFAULT_PASSWORD, TEST_SECRET, error_codes, graphql, post_graphql, signup
from tests.live_server import live_server
from tests.session_helpers import CHANGE_PASSWORD, LOGIN, REFRESH, SIGNUP_TOKEN

REDIS_URL = "redis://127.0.0.1:6379/3"
WRONG_PASSWORD = "not the password"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit_per_address": "4/minute", "rate_limit_per_account": "2/minute"}


def login_variables(email: str, password: str = WRONG_PASSWORD) -> dict[str, Any]:
    return {"input": {"email": email, "password": password}}


def assert_rate_limited(body: dict[str, Any]) -> int:
    assert error_codes(body) == ["RATE_LIMITED"], body
    retry_after: int = body["errors"][0]["extensions"]["retryAfter"]
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= 60
    return retry_after


async def test_login_is_limited_per_account_with_retry_after(client: httpx.AsyncClient) -> None:
    await signup(client, "ada@example.com")
    for _ in range(2):
        body = await graphql(client, LOGIN, login_variables("ada@example.com"))
        assert error_codes(body) == ["UNAUTHENTICATED"]
    # Over the account's budget even with the right password, and whatever the email's case.
    assert_rate_limited(
        await graphql(client, LOGIN, login_variables("ADA@example.com", DEFAULT_PASSWORD))
    )
    other = await graphql(client, LOGIN, login_variables("bob@example.com"))
    assert error_codes(other) == ["UNAUTHENTICATED"]


async def test_login_is_limited_per_address(client: httpx.AsyncClient) -> None:
    for number in range(4):
        body = await graphql(client, LOGIN, login_variables(f"user{number}@example.com"))
        assert error_codes(body) == ["UNAUTHENTICATED"]
    assert_rate_limited(await graphql(client, LOGIN, login_variables("user9@example.com")))


async def test_every_alias_counts(client: httpx.AsyncClient) -> None:
    """Three successful logins in one document: the third alias is over the account's budget."""
    await signup(client, "ada@example.com")
    aliases = " ".join(
        f'a{n}: login(input: {{email: "ada@example.com", password: "{DEFAULT_PASSWORD}"}})'
        " { accessToken }"
        for n in range(3)
    )
    body = await graphql(client, f"mutation {{ {aliases} }}")
    assert body["errors"][0]["path"] == ["a2"]
    assert_rate_limited(body)
    assert_rate_limited(
        await graphql(client, LOGIN, login_variables("ada@example.com", DEFAULT_PASSWORD))
    )


async def test_signup_is_limited(client: httpx.AsyncClient) -> None:
    for number in range(4):
        await signup(client, f"user{number}@example.com")
    body = await graphql(
        client,
        SIGNUP_TOKEN,
        {"input": {"email": "late@example.com", "password": DEFAULT_PASSWORD}},
    )
    assert_rate_limited(body)


async def test_refresh_is_limited_per_account(client: httpx.AsyncClient) -> None:
    payload = await signup(client, "ada@example.com")
    refresh_token = payload["refreshToken"]
    for _ in range(2):
        body = await graphql(client, REFRESH, {"token": refresh_token})
        assert "errors" not in body, body
        refresh_token = body["data"]["refreshToken"]["refreshToken"]
    assert_rate_limited(await graphql(client, REFRESH, {"token": refresh_token}))


async def test_change_password_is_limited_per_account(client: httpx.AsyncClient) -> None:
    token = (await signup(client, "ada@example.com"))["accessToken"]
    wrong = {"current": WRONG_PASSWORD, "new": "a brand new passphrase"}
    for _ in range(2):
        body = await graphql(client, CHANGE_PASSWORD, wrong, token=token)
        assert error_codes(body) == ["UNAUTHENTICATED"]
    assert_rate_limited(await graphql(client, CHANGE_PASSWORD, wrong, token=token))


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(client: httpx.AsyncClient) -> None:
    for number in range(5):
        response = await post_graphql(
            client,
            LOGIN,
            login_variables(f"user{number}@example.com"),
            headers={"X-Forwarded-For": f"198.51.100.{number}"},
        )
        codes = error_codes(response.json())
    assert codes == ["RATE_LIMITED"]


@pytest.mark.parametrize(
    "settings_overrides",
    [{"rate_limit_per_address": "4/minute", "trusted_proxies": "203.0.113.0/24"}],
)
async def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(
    client: httpx.AsyncClient,
) -> None:
    async def attempt(forwarded_for: str, email: str) -> list[str]:
        response = await post_graphql(
            client, LOGIN, login_variables(email), headers={"X-Forwarded-For": forwarded_for}
        )
        return error_codes(response.json())

    for number in range(4):
        # The left-most entry is the client's own claim; the proxy appended the real one.
        assert await attempt(f"10.0.0.{number}, 198.51.100.1", f"u{number}@example.com") == [
            "UNAUTHENTICATED"
        ]
    assert await attempt("198.51.100.1", "late@example.com") == ["RATE_LIMITED"]
    assert await attempt("198.51.100.2", "other@example.com") == ["UNAUTHENTICATED"]


@pytest.fixture
async def redis_key_prefix() -> AsyncIterator[str]:
    """A prefix of this test's own; only keys under it are deleted afterwards."""
    prefix = f"taskql-test-{uuid.uuid4().hex}"
    yield prefix
    redis = coredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        assert keys, "the shared server stored no counters in Redis"
        await redis.delete(keys)
    finally:
        redis.connection_pool.disconnect()


async def _burst_of_logins(base_url: str, email: str, attempts: int) -> list[str]:
    """Concurrent wrong-password logins, each on its own connection, so both workers serve."""
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=no_reuse, timeout=30) as http:
        responses = await asyncio.gather(
            *(
                http.post("/graphql", json={"query": LOGIN, "variables": login_variables(email)})
                for _ in range(attempts)
            )
        )
    return [code for response in responses for code in error_codes(response.json())]


def _server_env(database_url: str, storage_url: str, key_prefix: str) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_SECRET,
        "BCRYPT_ROUNDS": "4",
        "AUTO_MIGRATE": "false",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_STORAGE_URL": storage_url,
        "RATE_LIMIT_KEY_PREFIX": key_prefix,
        "RATE_LIMIT_PER_ADDRESS": "1000/minute",
        "RATE_LIMIT_PER_ACCOUNT": "3/minute",
    }


def _bytes_written_by_children(parent_pid: int) -> dict[int, int]:
    """wchar (bytes written, sockets included) of each child process of `parent_pid`."""
    written = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent_pid:
                io = (stat.parent / "io").read_text()
                written[int(stat.parent.name)] = int(io.split("wchar:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            continue
    return written


async def test_the_limit_holds_across_two_workers_sharing_redis(
    database_url: str, redis_key_prefix: str
) -> None:
    """Bursts until both workers have answered some; each account still gets exactly 3."""
    attempts = 12
    env = _server_env(database_url, REDIS_URL, redis_key_prefix)
    with live_server(env, workers=2) as (base_url, process):
        before = _bytes_written_by_children(process.pid)
        for round_number in range(10):
            codes = await _burst_of_logins(base_url, f"user{round_number}@example.com", attempts)
            assert codes.count("UNAUTHENTICATED") == 3, codes
            assert codes.count("RATE_LIMITED") == attempts - 3, codes
            after = _bytes_written_by_children(process.pid)
            answering = [pid for pid in before if after.get(pid, 0) > before[pid]]
            if len(answering) >= 2:
                break
        assert len(answering) >= 2, "one worker answered every request; nothing was shared"
