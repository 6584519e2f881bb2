"""Password reset and email verification, end to end through a real SMTP server.

Each flow starts from the message the SMTP server received and uses the token in
its link, as a person would. Both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.account_helpers import (
    ME,
    REFRESH,
    REQUEST_RESET,
    REQUEST_VERIFICATION,
    RESET,
    VERIFY,
    extensions,
    login,
)
from tests.conftest import scalar
from tests.helpers import DEFAULT_PASSWORD, graphql, post_graphql, signup
from tests.smtp_server import (
    Mailbox,
    html_of,
    links_of,
    mail_settings,
    smtp_server,
    text_of,
    token_of,
)

NEW_PASSWORD = "a brand new passphrase"


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


async def reset_token(client: httpx.AsyncClient, mailbox: Mailbox, email: str) -> str:
    """Ask for a reset and read the token from the newest reset message."""
    before = len([m for m in mailbox.to(email) if "reset-password" in text_of(m)])
    body = await graphql(client, REQUEST_RESET, {"email": email})
    assert body == {"data": {"requestPasswordReset": True}}
    for _ in range(500):
        resets = [m for m in mailbox.to(email) if "reset-password" in text_of(m)]
        if len(resets) > before:
            return token_of(resets[-1])
        await asyncio.sleep(0.02)
    raise AssertionError("no reset message arrived")


async def test_signup_mails_a_verification_link_that_verifies_once(
    client: httpx.AsyncClient, app: FastAPI, mailbox: Mailbox
) -> None:
    payload = await signup(client, "ada@example.com")
    (message,) = await mailbox.wait_for("ada@example.com")
    assert message["From"] == "taskql <no-reply@taskql.test>"
    assert message["Message-ID"].startswith("<")
    assert message["Message-ID"].endswith("@taskql.test>")
    (link,) = links_of(message)
    assert link.startswith("https://app.taskql.test/verify-email?token=")
    token = token_of(message)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert html_of(message).count("https://app.taskql.test/verify-email?token=") == 1
    me = await graphql(client, ME, token=payload["accessToken"])
    assert me["data"]["me"]["emailVerified"] is False

    verified = await graphql(client, VERIFY, {"token": token})
    assert verified["data"]["verifyEmail"]["emailVerified"] is True
    assert verified["data"]["verifyEmail"]["email"] == "ada@example.com"
    again = await graphql(client, VERIFY, {"token": token})
    assert extensions(again) == {"code": "BAD_USER_INPUT", "field": "token", "reason": "invalid"}
    # Delivered: the row keeps neither the link nor the token, only the token's digest.
    assert await scalar(app, "SELECT count(*) FROM outbox_messages WHERE status = 'sent'") == 1
    assert (
        await scalar(app, "SELECT count(*) FROM outbox_messages WHERE body_text IS NOT NULL") == 0
    )
    digests = await scalar(
        app, "SELECT count(*) FROM account_tokens WHERE token_hash = :t", t=token
    )
    assert digests == 0


async def test_request_email_verification_mails_a_new_link_and_voids_the_old(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    payload = await signup(client, "ada@example.com")
    (first,) = await mailbox.wait_for("ada@example.com")
    body = await graphql(client, REQUEST_VERIFICATION, token=payload["accessToken"])
    assert body == {"data": {"requestEmailVerification": True}}
    second = (await mailbox.wait_for("ada@example.com", 2))[1]
    stale = await graphql(client, VERIFY, {"token": token_of(first)})
    assert extensions(stale)["reason"] == "invalid"
    fresh = await graphql(client, VERIFY, {"token": token_of(second)})
    assert fresh["data"]["verifyEmail"]["emailVerified"] is True


async def test_links_stand_as_they_are_in_the_raw_message(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    """No transfer encoding that rewrites the link (quoted-printable turns `token=` into
    `token=3D` and breaks long lines): a reader of the raw message sees the exact link."""
    await signup(client, "ada@example.com")
    (verification,) = await mailbox.wait_for("ada@example.com")
    token = await reset_token(client, mailbox, "ada@example.com")
    reset = mailbox.to("ada@example.com")[-1]
    for message, link in [
        (verification, f"https://app.taskql.test/verify-email?token={token_of(verification)}"),
        (reset, f"https://app.taskql.test/reset-password?token={token}"),
    ]:
        raw = message.as_bytes()
        assert raw.count(link.encode()) == 2, raw  # the text part and the HTML part's href


async def test_password_reset_end_to_end(
    client: httpx.AsyncClient, app: FastAPI, mailbox: Mailbox
) -> None:
    first = await signup(client, "ada@example.com")
    other_login = await login(client, "ada@example.com")
    token = await reset_token(client, mailbox, "ada@example.com")
    reset_message = mailbox.to("ada@example.com")[-1]
    (link,) = links_of(reset_message)
    assert link == f"https://app.taskql.test/reset-password?token={token}"

    body = await graphql(client, RESET, {"token": token, "password": NEW_PASSWORD})
    assert "errors" not in body, body
    fresh = body["data"]["resetPassword"]
    assert fresh["user"]["email"] == "ada@example.com"
    assert (await graphql(client, ME, token=fresh["accessToken"]))["data"]["me"]
    # Every earlier session ended: access tokens are refused with 401, refresh tokens too.
    for access in (first["accessToken"], other_login["data"]["login"]["accessToken"]):
        refused = await post_graphql(client, ME, token=access)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    stale_refresh = await graphql(client, REFRESH, {"token": first["refreshToken"]})
    assert extensions(stale_refresh)["code"] == "UNAUTHENTICATED"
    # The new password works, the old one does not, and the token is spent.
    assert "errors" in await login(client, "ada@example.com")
    assert "errors" not in await login(client, "ada@example.com", NEW_PASSWORD)
    again = await graphql(client, RESET, {"token": token, "password": "yet another one"})
    assert extensions(again) == {"code": "BAD_USER_INPUT", "field": "token", "reason": "invalid"}
    # A notice follows, without a link.
    notices = await mailbox.wait_for("ada@example.com", 3)
    assert "password" in notices[-1]["Subject"].lower()
    assert links_of(notices[-1]) == []
    assert "http" not in html_of(notices[-1])
    assert (
        await scalar(
            app,
            "SELECT count(*) FROM account_tokens "
            "WHERE purpose = 'reset_password' AND used_at IS NULL",
        )
        == 0
    )


async def test_unknown_address_gets_the_same_answer_and_no_mail(
    client: httpx.AsyncClient, app: FastAPI, mailbox: Mailbox
) -> None:
    await signup(client, "ada@example.com")
    await mailbox.wait_for("ada@example.com")
    unknown = await graphql(client, REQUEST_RESET, {"email": "nobody@example.com"})
    known = await graphql(client, REQUEST_RESET, {"email": "ADA@example.com"})
    assert unknown == known == {"data": {"requestPasswordReset": True}}
    await mailbox.wait_for("ada@example.com", 2)
    for _ in range(100):  # the unknown request is dropped by the sender
        if await scalar(app, "SELECT count(*) FROM outbox_messages WHERE status = 'pending'") == 0:
            break
        await asyncio.sleep(0.02)
    assert await scalar(app, "SELECT count(*) FROM outbox_messages") == 2
    assert mailbox.to("nobody@example.com") == []
    assert mailbox.count() == 2


async def test_two_concurrent_resets_with_one_token_exactly_one_succeeds(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    await signup(client, "ada@example.com")
    token = await reset_token(client, mailbox, "ada@example.com")
    answers = await asyncio.gather(
        graphql(client, RESET, {"token": token, "password": "first new password"}),
        graphql(client, RESET, {"token": token, "password": "second new password"}),
    )
    succeeded = [answer for answer in answers if "errors" not in answer]
    failed = [answer for answer in answers if "errors" in answer]
    assert len(succeeded) == 1, answers
    assert extensions(failed[0]) == {
        "code": "BAD_USER_INPUT",
        "field": "token",
        "reason": "invalid",
    }


@pytest.mark.parametrize("ttl", [1])
async def test_an_expired_token_is_refused_as_expired(
    client: httpx.AsyncClient, mailbox: Mailbox, app: FastAPI, ttl: int
) -> None:
    await signup(client, "ada@example.com")
    settings = app.state.services.settings
    object.__setattr__(settings, "password_reset_token_ttl_seconds", ttl)
    object.__setattr__(settings, "email_verification_token_ttl_seconds", ttl)
    token = await reset_token(client, mailbox, "ada@example.com")
    await graphql(
        client,
        REQUEST_VERIFICATION,
        token=(await login(client, "ada@example.com"))["data"]["login"]["accessToken"],
    )
    verification = token_of((await mailbox.wait_for("ada@example.com", 3))[-1])
    await asyncio.sleep(ttl + 0.2)
    body = await graphql(client, RESET, {"token": token, "password": NEW_PASSWORD})
    assert extensions(body) == {"code": "BAD_USER_INPUT", "field": "token", "reason": "expired"}
    body = await graphql(client, VERIFY, {"token": verification})
    assert extensions(body) == {"code": "BAD_USER_INPUT", "field": "token", "reason": "expired"}
    assert "errors" not in await login(client, "ada@example.com")


async def test_a_newer_request_voids_the_older_token(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    await signup(client, "ada@example.com")
    older = await reset_token(client, mailbox, "ada@example.com")
    newer = await reset_token(client, mailbox, "ada@example.com")
    body = await graphql(client, RESET, {"token": older, "password": NEW_PASSWORD})
    assert extensions(body) == {"code": "BAD_USER_INPUT", "field": "token", "reason": "invalid"}
    body = await graphql(client, RESET, {"token": newer, "password": NEW_PASSWORD})
    assert "errors" not in body, body


async def test_a_bad_new_password_does_not_use_the_token_up(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    await signup(client, "ada@example.com")
    token = await reset_token(client, mailbox, "ada@example.com")
    body = await graphql(client, RESET, {"token": token, "password": "short"})
    assert extensions(body) == {"code": "BAD_USER_INPUT", "field": "newPassword"}
    for garbage in ("", "not-a-token", "x" * 500):
        body = await graphql(client, RESET, {"token": garbage, "password": NEW_PASSWORD})
        assert extensions(body) == {"code": "BAD_USER_INPUT", "field": "token", "reason": "invalid"}
    body = await graphql(client, RESET, {"token": token, "password": NEW_PASSWORD})
    assert "errors" not in body, body


async def test_anonymous_fields_ignore_a_stale_bearer_token(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    await signup(client, "ada@example.com")
    stale = "not.a.valid.token"
    response = await post_graphql(client, REQUEST_RESET, {"email": "ada@example.com"}, token=stale)
    assert response.json() == {"data": {"requestPasswordReset": True}}
    messages = await mailbox.wait_for("ada@example.com", 2)
    verification, reset = sorted(messages, key=lambda m: "reset-password" in text_of(m))
    response = await post_graphql(client, VERIFY, {"token": token_of(verification)}, token=stale)
    assert response.json()["data"]["verifyEmail"]["emailVerified"] is True
    response = await post_graphql(
        client, RESET, {"token": token_of(reset), "password": NEW_PASSWORD}, token=stale
    )
    assert "errors" not in response.json(), response.json()
    response = await post_graphql(client, REQUEST_VERIFICATION, token=stale)
    assert response.status_code == 401


async def test_change_password_sends_a_notice_without_a_link(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    from tests.account_helpers import CHANGE_PASSWORD  # noqa: PLC0415

    payload = await signup(client, "ada@example.com")
    await mailbox.wait_for("ada@example.com")
    body = await graphql(
        client,
        CHANGE_PASSWORD,
        {"current": DEFAULT_PASSWORD, "new": NEW_PASSWORD},
        token=payload["accessToken"],
    )
    assert "errors" not in body, body
    notice = (await mailbox.wait_for("ada@example.com", 2))[-1]
    assert "changed" in text_of(notice)
    assert links_of(notice) == []
    assert "token" not in text_of(notice)
