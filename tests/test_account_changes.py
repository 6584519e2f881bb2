"""Email change, profile, account deletion and the rate limits of the account mutations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.account_helpers import (
    CHANGE_EMAIL,
    DELETE_ACCOUNT,
    ME,
    REQUEST_RESET,
    RESET,
    UPDATE_PROFILE,
    VERIFY,
    extensions,
    login,
)
from tests.conftest import scalar
from tests.helpers import DEFAULT_PASSWORD, graphql, post_graphql, signup
from tests.smtp_server import Mailbox, links_of, mail_settings, smtp_server, text_of, token_of
from tests.test_tasks import create_task


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def mailbox(smtp: tuple[int, Mailbox]) -> Mailbox:
    return smtp[1]


@pytest.fixture
def settings_overrides(smtp: tuple[int, Mailbox]) -> dict[str, Any]:
    return mail_settings(smtp[0])


async def test_change_email_switches_when_the_new_address_confirms(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    payload = await signup(client, "ada@example.com")
    token = payload["accessToken"]
    wrong = await graphql(
        client,
        CHANGE_EMAIL,
        {"email": "ada@new.example", "password": "not the password"},
        token=token,
    )
    assert extensions(wrong) == {"code": "UNAUTHENTICATED", "reason": "bad_credentials"}
    body = await graphql(
        client,
        CHANGE_EMAIL,
        {"email": "Ada@New.example", "password": DEFAULT_PASSWORD},
        token=token,
    )
    assert body == {"data": {"changeEmail": True}}
    # Nothing changes yet, and no session ends.
    me = await graphql(client, ME, token=token)
    assert me["data"]["me"]["email"] == "ada@example.com"
    (message,) = await mailbox.wait_for("Ada@New.example")
    (link,) = links_of(message)
    assert link.startswith("https://app.taskql.test/verify-email?token=")

    verified = await graphql(client, VERIFY, {"token": token_of(message)})
    assert verified["data"]["verifyEmail"]["email"] == "Ada@New.example"
    assert verified["data"]["verifyEmail"]["emailVerified"] is True
    notice = (await mailbox.wait_for("ada@example.com", 2))[-1]
    assert "changed" in text_of(notice)
    assert links_of(notice) == []
    assert "errors" not in await login(client, "ada@new.example")
    assert "errors" in await login(client, "ada@example.com")
    # The old address is free again.
    await signup(client, "ada@example.com")


async def test_an_email_change_voids_the_links_sent_to_the_old_address(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    """Whoever still reads the old mailbox cannot take the account back after the switch."""
    token = (await signup(client, "old@example.com"))["accessToken"]
    await graphql(client, REQUEST_RESET, {"email": "old@example.com"})
    reset = (await mailbox.wait_for("old@example.com", 2))[-1]
    assert "reset-password" in links_of(reset)[0]
    await graphql(
        client,
        CHANGE_EMAIL,
        {"email": "new@example.com", "password": DEFAULT_PASSWORD},
        token=token,
    )
    (change,) = await mailbox.wait_for("new@example.com")
    assert "errors" not in await graphql(client, VERIFY, {"token": token_of(change)})

    stale = await graphql(
        client, RESET, {"token": token_of(reset), "password": "a new password here"}
    )

    assert extensions(stale) == {"code": "BAD_USER_INPUT", "field": "token", "reason": "invalid"}
    assert "errors" not in await login(client, "new@example.com")


async def test_change_email_to_a_taken_address_is_a_conflict(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    payload = await signup(client, "ada@example.com")
    await signup(client, "bob@example.com")
    body = await graphql(
        client,
        CHANGE_EMAIL,
        {"email": "BOB@example.com", "password": DEFAULT_PASSWORD},
        token=payload["accessToken"],
    )
    assert extensions(body)["code"] == "CONFLICT"


async def test_an_address_taken_before_the_link_is_used_answers_conflict_and_spends_it(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    payload = await signup(client, "ada@example.com")
    await graphql(
        client,
        CHANGE_EMAIL,
        {"email": "wanted@example.com", "password": DEFAULT_PASSWORD},
        token=payload["accessToken"],
    )
    (message,) = await mailbox.wait_for("wanted@example.com")
    await signup(client, "Wanted@example.com")  # a pending change holds no address
    body = await graphql(client, VERIFY, {"token": token_of(message)})
    assert extensions(body)["code"] == "CONFLICT"
    again = await graphql(client, VERIFY, {"token": token_of(message)})
    assert extensions(again) == {"code": "BAD_USER_INPUT", "field": "token", "reason": "invalid"}
    me = await graphql(client, ME, token=payload["accessToken"])
    assert me["data"]["me"]["email"] == "ada@example.com"


async def test_update_profile(client: httpx.AsyncClient) -> None:
    payload = await signup(client, "ada@example.com", name="Ada")
    token = payload["accessToken"]
    unchanged = await graphql(client, UPDATE_PROFILE, {"input": {}}, token=token)
    assert unchanged["data"]["updateProfile"]["name"] == "Ada"
    renamed = await graphql(client, UPDATE_PROFILE, {"input": {"name": "  Ada L.  "}}, token=token)
    assert renamed["data"]["updateProfile"]["name"] == "Ada L."
    too_long = await graphql(client, UPDATE_PROFILE, {"input": {"name": "x" * 101}}, token=token)
    assert extensions(too_long) == {"code": "BAD_USER_INPUT", "field": "name"}
    longest = await graphql(client, UPDATE_PROFILE, {"input": {"name": "x" * 100}}, token=token)
    assert longest["data"]["updateProfile"]["name"] == "x" * 100
    cleared = await graphql(client, UPDATE_PROFILE, {"input": {"name": None}}, token=token)
    assert cleared["data"]["updateProfile"]["name"] is None
    assert (await graphql(client, ME, token=token))["data"]["me"]["name"] is None
    anonymous = await graphql(client, UPDATE_PROFILE, {"input": {"name": "x"}})
    assert extensions(anonymous)["code"] == "UNAUTHENTICATED"


async def test_delete_account_removes_everything_at_once(
    client: httpx.AsyncClient, app: FastAPI, mailbox: Mailbox
) -> None:
    payload = await signup(client, "ada@example.com")
    token = payload["accessToken"]
    parent = await create_task(client, token, title="mine", tags=["a", "b"])
    await create_task(client, token, title="child", parentId=parent["id"])
    await login(client, "ada@example.com")
    other = await signup(client, "bob@example.com")
    await create_task(client, other["accessToken"], title="bob's")
    user_id = await scalar(app, "SELECT id FROM users WHERE email = 'ada@example.com'")
    wrong = await graphql(client, DELETE_ACCOUNT, {"password": "not the password"}, token=token)
    assert extensions(wrong) == {"code": "UNAUTHENTICATED", "reason": "bad_credentials"}

    body = await graphql(client, DELETE_ACCOUNT, {"password": DEFAULT_PASSWORD}, token=token)
    assert body == {"data": {"deleteAccount": True}}
    for table, column in [
        ("users", "id"),
        ("tasks", "owner_id"),
        ("task_tags", "owner_id"),
        ("auth_sessions", "user_id"),
        ("account_tokens", "user_id"),
        ("outbox_messages", "user_id"),
    ]:
        count = await scalar(app, f"SELECT count(*) FROM {table} WHERE {column} = :id", id=user_id)  # noqa: S608
        assert count == 0, table
    assert await scalar(app, "SELECT count(*) FROM tasks") == 1  # bob's stays
    refused = await post_graphql(client, ME, token=token)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = await signup(client, "ada@example.com")
    assert again["user"]["id"] != payload["user"]["id"]


async def test_a_deleted_users_pending_mail_is_dropped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await app.state.services.outbox_sender.stop()  # nothing is sent from here on
    payload = await signup(client, "ada@example.com")
    assert await scalar(app, "SELECT count(*) FROM outbox_messages") == 1
    await graphql(
        client, DELETE_ACCOUNT, {"password": DEFAULT_PASSWORD}, token=payload["accessToken"]
    )
    assert await scalar(app, "SELECT count(*) FROM outbox_messages") == 0


async def test_a_deleted_users_pending_reset_request_is_dropped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A reset request is stored before the sender looks its address up: deleting the
    account must drop it too, or a later account with that address gets the link."""
    await app.state.services.outbox_sender.stop()  # nothing is sent from here on
    payload = await signup(client, "ada@example.com")
    await graphql(client, REQUEST_RESET, {"email": "Ada@Example.com"})
    await graphql(client, REQUEST_RESET, {"email": "bob@example.com"})
    await graphql(
        client, DELETE_ACCOUNT, {"password": DEFAULT_PASSWORD}, token=payload["accessToken"]
    )
    assert await scalar(app, "SELECT count(*) FROM outbox_messages") == 1
    assert await scalar(app, "SELECT recipient FROM outbox_messages") == "bob@example.com"


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_per_account": "2/minute"}])
async def test_reset_requests_are_limited_alike_for_known_and_unknown_addresses(
    client: httpx.AsyncClient,
) -> None:
    await signup(client, "ada@example.com")
    answers: dict[str, list[Any]] = {}
    for email in ("ada@example.com", "nobody@example.com"):
        answers[email] = []
        for typed in (email, email.upper(), email):
            body = await graphql(client, REQUEST_RESET, {"email": typed})
            answers[email].append(body.get("data") or extensions(body)["code"])
    assert answers["ada@example.com"] == answers["nobody@example.com"]
    assert answers["ada@example.com"][-1] == "RATE_LIMITED"


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_per_account": "1/minute"}])
async def test_account_mutations_are_rate_limited_per_account(client: httpx.AsyncClient) -> None:
    payload = await signup(client, "ada@example.com")
    token = payload["accessToken"]
    cases = [
        (CHANGE_EMAIL, {"email": "x@example.com", "password": "wrong password"}),
        (DELETE_ACCOUNT, {"password": "wrong password"}),
        ("mutation { requestEmailVerification }", None),
    ]
    for query, variables in cases:
        await graphql(client, query, variables, token=token)
        limited = await graphql(client, query, variables, token=token)
        assert extensions(limited)["code"] == "RATE_LIMITED", query
        assert limited["errors"][0]["extensions"]["retryAfter"] >= 1


LONE_SURROGATE_CASES = [
    ("mutation($v: String!) { requestPasswordReset(email: $v) }", "email"),
    (
        'mutation($v: String!) { resetPassword(token: $v, newPassword: "long enough") { '
        "tokenType } }",
        "token",
    ),
    ("mutation($v: String!) { verifyEmail(token: $v) { id } }", "token"),
    ('mutation($v: String!) { changeEmail(newEmail: $v, password: "long enough") }', "newEmail"),
    ("mutation($v: String!) { updateProfile(input: {name: $v}) { id } }", "name"),
]


@pytest.mark.parametrize(("query", "field"), LONE_SURROGATE_CASES)
async def test_text_that_is_not_utf8_is_bad_input_not_a_crash(
    client: httpx.AsyncClient, query: str, field: str
) -> None:
    token = (await signup(client, "ada@example.com"))["accessToken"]
    body = '{"query": %s, "variables": {"v": "x\\ud800@example.com"}}' % json.dumps(query)  # noqa: UP031
    response = await client.post(
        "/graphql",
        content=body.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", response.text
    assert response.json()["errors"][0]["extensions"]["field"] == field
