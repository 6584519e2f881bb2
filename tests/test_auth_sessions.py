"""Sessions through /graphql: refresh rotation and reuse, logout, logoutAll, changePassword,
and the tokens of users and sessions that are gone."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import scalar
from tests.helpers import DEFAULT_PASSWORD, graphql, post_graphql, signup
from tests.session_helpers import (
    CHANGE_PASSWORD,
    GENEROUS_RATE_LIMITS,
    LOGOUT,
    LOGOUT_ALL,
    ME,
    NEW_PASSWORD,
    bad_field,
    execute_sql,
    logged_in,
    login,
    me_status,
    reason,
    refresh,
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Generous limits: these tests are about sessions; test_auth_rate_limits covers limits."""
    return dict(GENEROUS_RATE_LIMITS)


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
