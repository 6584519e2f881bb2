"""Roles and administration: promote/demote, the accounts list, suspension, the audit log."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import cli
from tests.account_helpers import (
    ME,
    REFRESH,
    REINSTATE,
    REQUEST_RESET,
    RESET,
    SUSPEND,
    USERS,
    extensions,
    login,
)
from tests.conftest import scalar
from tests.helpers import graphql, post_graphql, signup

MISSING_USER = "VXNlcjo5OTk5OTk="  # User:999999


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit_per_address": "1000/minute", "rate_limit_per_account": "1000/minute"}


async def promote(
    database_url: str, monkeypatch: pytest.MonkeyPatch, email: str, command: str = "promote"
) -> int:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return await asyncio.to_thread(cli.main, [command, email])


@pytest.fixture
async def admin(
    client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    payload = await signup(client, "root@example.com", name="Root")
    assert await promote(database_url, monkeypatch, "ROOT@example.com") == 0
    return payload


async def test_promote_and_demote_on_the_command_line(
    client: httpx.AsyncClient,
    app: FastAPI,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    payload = await signup(client, "ada@example.com")
    token = payload["accessToken"]
    assert (await graphql(client, ME, token=token))["data"]["me"]["role"] == "USER"
    forbidden = await graphql(client, USERS, token=token)
    assert extensions(forbidden)["code"] == "FORBIDDEN"
    assert forbidden["data"] is None

    assert await promote(database_url, monkeypatch, "ada@example.com") == 0
    assert "ada@example.com is now ADMIN" in capsys.readouterr().out
    assert (await graphql(client, ME, token=token))["data"]["me"]["role"] == "ADMIN"
    assert (await graphql(client, USERS, token=token))["data"]["users"]["totalCount"] == 1

    assert await promote(database_url, monkeypatch, "ada@example.com", "demote") == 0
    assert extensions(await graphql(client, USERS, token=token))["code"] == "FORBIDDEN"
    assert await promote(database_url, monkeypatch, "nobody@example.com") == 1
    assert "no account" in capsys.readouterr().err
    actions = await scalar(
        app,
        "SELECT count(*) FROM admin_audit "
        "WHERE actor_id IS NULL AND action IN ('promote', 'demote')",
    )
    assert actions == 2


async def test_users_lists_newest_first_pages_and_searches(
    client: httpx.AsyncClient, admin: dict[str, Any]
) -> None:
    for number in range(5):
        await signup(client, f"user{number}@example.com", name=f"Person {number}")
    token = admin["accessToken"]
    everyone = (await graphql(client, USERS, token=token))["data"]["users"]
    emails = [edge["node"]["email"] for edge in everyone["edges"]]
    assert emails == [f"user{n}@example.com" for n in (4, 3, 2, 1, 0)] + ["root@example.com"]
    assert everyone["totalCount"] == 6

    first = (await graphql(client, USERS, {"first": 2}, token=token))["data"]["users"]
    assert [e["node"]["email"] for e in first["edges"]] == emails[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    after = {"first": 3, "after": first["pageInfo"]["endCursor"]}
    second = (await graphql(client, USERS, after, token=token))["data"]["users"]
    assert [e["node"]["email"] for e in second["edges"]] == emails[2:5]
    assert second["pageInfo"]["hasPreviousPage"] is True
    before = {"last": 2, "before": second["pageInfo"]["startCursor"]}
    back = (await graphql(client, USERS, before, token=token))["data"]["users"]
    assert [e["node"]["email"] for e in back["edges"]] == emails[:2]

    by_name = (await graphql(client, USERS, {"search": "PERSON 3"}, token=token))["data"]["users"]
    assert [e["node"]["email"] for e in by_name["edges"]] == ["user3@example.com"]
    by_email = (await graphql(client, USERS, {"search": "ROOT@"}, token=token))["data"]["users"]
    assert by_email["totalCount"] == 1
    literal = (await graphql(client, USERS, {"search": "%"}, token=token))["data"]["users"]
    assert literal["totalCount"] == 0
    too_many = await graphql(client, USERS, {"first": 101}, token=token)
    assert extensions(too_many) == {"code": "BAD_USER_INPUT", "field": "first"}
    garbage = await graphql(client, USERS, {"after": "garbage"}, token=token)
    assert extensions(garbage) == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_suspension_ends_sessions_and_refuses_login_refresh_and_reset(
    client: httpx.AsyncClient, app: FastAPI, admin: dict[str, Any]
) -> None:
    ada = await signup(client, "ada@example.com", name="Ada")
    token = admin["accessToken"]
    suspended = await graphql(
        client, SUSPEND, {"id": ada["user"]["id"], "reason": "spam"}, token=token
    )
    assert suspended["data"]["suspendUser"]["suspended"] is True
    refused = await post_graphql(client, ME, token=ada["accessToken"])
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    right = await login(client, "ada@example.com")
    assert extensions(right) == {"code": "FORBIDDEN", "reason": "suspended"}
    wrong = await login(client, "ada@example.com", "not the password")
    assert extensions(wrong) == {"code": "UNAUTHENTICATED", "reason": "bad_credentials"}
    refresh = await graphql(client, REFRESH, {"token": ada["refreshToken"]})
    assert extensions(refresh) == {"code": "FORBIDDEN", "reason": "suspended"}
    reset = await graphql(client, REQUEST_RESET, {"email": "ada@example.com"})
    assert reset == {"data": {"requestPasswordReset": True}}

    again = await graphql(
        client, SUSPEND, {"id": ada["user"]["id"], "reason": "again"}, token=token
    )
    assert again["data"]["suspendUser"]["suspended"] is True
    reinstated = await graphql(client, REINSTATE, {"id": ada["user"]["id"]}, token=token)
    assert reinstated["data"]["reinstateUser"]["suspended"] is False
    assert "errors" not in await login(client, "ada@example.com")
    twice = await graphql(client, REINSTATE, {"id": ada["user"]["id"]}, token=token)
    assert twice["data"]["reinstateUser"]["suspended"] is False

    admin_id = await scalar(app, "SELECT id FROM users WHERE email = 'root@example.com'")
    ada_id = await scalar(app, "SELECT id FROM users WHERE email = 'ada@example.com'")
    async with app.state.services.engine.connect() as connection:
        from sqlalchemy import text  # noqa: PLC0415

        rows = (
            await connection.execute(
                text(
                    "SELECT actor_id, action, target_id, reason FROM admin_audit "
                    "WHERE actor_id IS NOT NULL ORDER BY id"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (admin_id, "suspend", ada_id, "spam"),
        (admin_id, "suspend", ada_id, "again"),
        (admin_id, "reinstate", ada_id, None),
        (admin_id, "reinstate", ada_id, None),
    ]


async def test_who_may_be_suspended(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = admin["accessToken"]
    other_admin = await signup(client, "second@example.com")
    await promote(database_url, monkeypatch, "second@example.com")
    unknown = await graphql(client, SUSPEND, {"id": MISSING_USER, "reason": "x"}, token=token)
    assert extensions(unknown)["code"] == "NOT_FOUND"
    task_id = await graphql(client, SUSPEND, {"id": "VGFzazox", "reason": "x"}, token=token)
    assert extensions(task_id)["code"] == "NOT_FOUND"
    itself = await graphql(client, SUSPEND, {"id": admin["user"]["id"], "reason": "x"}, token=token)
    assert extensions(itself)["code"] == "FORBIDDEN"
    peer = await graphql(
        client, SUSPEND, {"id": other_admin["user"]["id"], "reason": "x"}, token=token
    )
    assert extensions(peer)["code"] == "FORBIDDEN"
    ada = await signup(client, "ada@example.com")
    blank = await graphql(client, SUSPEND, {"id": ada["user"]["id"], "reason": "  "}, token=token)
    assert extensions(blank) == {"code": "BAD_USER_INPUT", "field": "reason"}


async def test_a_reset_token_issued_before_suspension_is_forbidden_and_kept(
    client: httpx.AsyncClient, app: FastAPI, admin: dict[str, Any]
) -> None:
    from db.account_tokens import TokenPurpose, issue_token  # noqa: PLC0415

    ada = await signup(client, "ada@example.com")
    ada_id = await scalar(app, "SELECT id FROM users WHERE email = 'ada@example.com'")
    async with app.state.services.session_factory() as session:
        token = await issue_token(
            session, user_id=ada_id, purpose=TokenPurpose.RESET_PASSWORD, ttl_seconds=600
        )
        await session.commit()
    await graphql(
        client, SUSPEND, {"id": ada["user"]["id"], "reason": "x"}, token=admin["accessToken"]
    )
    body = await graphql(client, RESET, {"token": token, "password": "a new password"})
    assert extensions(body) == {"code": "FORBIDDEN", "reason": "suspended"}
    await graphql(client, REINSTATE, {"id": ada["user"]["id"]}, token=admin["accessToken"])
    body = await graphql(client, RESET, {"token": token, "password": "a new password"})
    assert "errors" not in body, body


async def test_audit_rows_outlive_the_account_and_hold_no_email(
    client: httpx.AsyncClient, app: FastAPI, admin: dict[str, Any]
) -> None:
    from tests.account_helpers import DELETE_ACCOUNT  # noqa: PLC0415
    from tests.helpers import DEFAULT_PASSWORD  # noqa: PLC0415

    ada = await signup(client, "ada@example.com")
    await graphql(
        client, SUSPEND, {"id": ada["user"]["id"], "reason": "x"}, token=admin["accessToken"]
    )
    await graphql(client, REINSTATE, {"id": ada["user"]["id"]}, token=admin["accessToken"])
    fresh = (await login(client, "ada@example.com"))["data"]["login"]["accessToken"]
    await graphql(client, DELETE_ACCOUNT, {"password": DEFAULT_PASSWORD}, token=fresh)
    assert await scalar(app, "SELECT count(*) FROM users WHERE email = 'ada@example.com'") == 0
    assert await scalar(app, "SELECT count(*) FROM admin_audit WHERE actor_id IS NOT NULL") == 2
