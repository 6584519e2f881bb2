"""The outbox's delivery: outages, restarts, TLS, several senders, give-up, purge, logs.

Waits are short: the sender polls every 0.1 s and retries after 0.2 s here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from db.engine import create_engine, create_session_factory
from db.types import utcnow
from mail.sender import OutboxSender, purge, retry_delay, transport_for
from main import create_app
from tests.account_helpers import REQUEST_RESET, RESET
from tests.conftest import make_settings, scalar
from tests.helpers import graphql, signup
from tests.live_server import free_port, live_server, sqlite_env
from tests.smtp_server import (
    SMTP_PASSWORD,
    SMTP_USER,
    Mailbox,
    mail_settings,
    self_signed_certificate,
    smtp_server,
    text_of,
    token_of,
)


async def _serve(
    database_url: str, *, log_to: logging.Handler | None = None, **overrides: Any
) -> tuple[FastAPI, Any]:
    app = create_app(make_settings(database_url, **overrides))
    if log_to is not None:  # taskql's loggers do not propagate: listen on them directly
        logging.getLogger("taskql").addHandler(log_to)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    return app, lifespan


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_a_reset_requested_while_smtp_is_down_arrives_once_when_it_is_back(
    database_url: str,
) -> None:
    port = free_port()  # nothing listens here yet
    app, lifespan = await _serve(database_url, **mail_settings(port))
    try:
        async with _client(app) as client:
            await signup(client, "ada@example.com")
            body = await graphql(client, REQUEST_RESET, {"email": "ada@example.com"})
            assert body == {"data": {"requestPasswordReset": True}}
            await asyncio.sleep(0.5)  # attempts fail and are put off
            attempts = await scalar(app, "SELECT max(attempts) FROM outbox_messages")
            assert attempts >= 1
            assert (
                await scalar(app, "SELECT count(*) FROM outbox_messages WHERE status = 'pending'")
                == 2
            )
            with smtp_server(port=port) as (_, mailbox):
                messages = await mailbox.wait_for("ada@example.com", 2)
                await asyncio.sleep(0.6)  # time for any duplicate to show up
                assert len(mailbox.to("ada@example.com")) == 2
                reset = next(m for m in messages if "reset-password" in text_of(m))
                done = await graphql(
                    client, RESET, {"token": token_of(reset), "password": "a fine new password"}
                )
                assert "errors" not in done, done
    finally:
        await lifespan.__aexit__(None, None, None)


async def test_starttls_with_a_trusted_self_signed_certificate_and_authentication(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_path))
    with smtp_server(starttls=certificate, require_auth=True) as (port, mailbox):
        settings = mail_settings(port)
        settings["smtp_url"] = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@localhost:{port}"
        app, lifespan = await _serve(database_url, **settings)
        try:
            async with _client(app) as client:
                await signup(client, "ada@example.com")
                await mailbox.wait_for("ada@example.com")
        finally:
            await lifespan.__aexit__(None, None, None)


async def test_implicit_tls_with_smtps(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_path))
    with smtp_server(implicit_tls=certificate) as (port, mailbox):
        app, lifespan = await _serve(database_url, **mail_settings(port, scheme="smtps"))
        try:
            async with _client(app) as client:
                await signup(client, "ada@example.com")
                await mailbox.wait_for("ada@example.com")
        finally:
            await lifespan.__aexit__(None, None, None)


async def test_an_untrusted_certificate_is_not_sent_to(database_url: str, tmp_path: Path) -> None:
    certificate = self_signed_certificate(tmp_path)
    with smtp_server(starttls=certificate) as (port, mailbox):
        app, lifespan = await _serve(database_url, **mail_settings(port))
        try:
            async with _client(app) as client:
                await signup(client, "ada@example.com")
                await asyncio.sleep(0.5)
            assert mailbox.count() == 0
            assert await scalar(app, "SELECT status FROM outbox_messages") == "pending"
        finally:
            await lifespan.__aexit__(None, None, None)


async def test_a_temporary_refusal_is_retried_and_giving_up_is_counted(
    database_url: str,
) -> None:
    mailbox = Mailbox(refuse_with="451 4.3.0 try again later")
    with smtp_server(mailbox) as (port, _):
        app, lifespan = await _serve(database_url, **mail_settings(port, outbox_max_attempts=3))
        try:
            async with _client(app) as client:
                await signup(client, "ada@example.com")
                for _ in range(200):
                    if await scalar(app, "SELECT status FROM outbox_messages") == "failed":
                        break
                    await asyncio.sleep(0.05)
                assert await scalar(app, "SELECT status FROM outbox_messages") == "failed"
                assert await scalar(app, "SELECT attempts FROM outbox_messages") == 3
                assert await scalar(app, "SELECT body_text FROM outbox_messages") is None
                metrics = (await client.get("/metrics")).text
                assert 'taskql_mail_failed_total{kind="verify_email"}' in metrics
        finally:
            await lifespan.__aexit__(None, None, None)


def test_retries_start_within_a_minute_and_span_about_a_day() -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db")
    delays = [retry_delay(settings, attempt) for attempt in range(1, settings.outbox_max_attempts)]
    assert delays[0] <= timedelta(seconds=60)
    assert delays == sorted(delays)
    assert timedelta(hours=18) <= sum(delays, timedelta()) <= timedelta(hours=30)


async def test_several_senders_drain_one_outbox_each_message_once(
    database_url: str, database_kind: str
) -> None:
    """Three workers' senders (their own engines and pools) on one PostgreSQL outbox."""
    if database_kind != "postgresql":
        pytest.skip("SQLite serves one process; SKIP LOCKED is PostgreSQL's")
    with smtp_server() as (port, mailbox):
        settings = make_settings(database_url, **mail_settings(port, outbox_batch_size=5))
        app, lifespan = await _serve(database_url, **mail_settings(port))
        await app.state.services.outbox_sender.stop()
        try:
            async with _client(app) as client:
                for number in range(40):
                    await signup(client, f"user{number}@example.com")
            engines = [create_engine(settings) for _ in range(3)]
            senders = [
                OutboxSender(settings, create_session_factory(engine), transport_for(settings))
                for engine in engines
            ]
            try:
                drained = await asyncio.gather(*(_drain(sender) for sender in senders))
            finally:
                for engine in engines:
                    await engine.dispose()
            assert sum(drained) == 40
            assert all(count > 0 for count in drained), drained
            ids = [message["Message-ID"] for message in mailbox.messages]
            assert len(ids) == 40
            assert len(set(ids)) == 40
            assert (
                await scalar(app, "SELECT count(*) FROM outbox_messages WHERE status = 'sent'")
                == 40
            )
        finally:
            await lifespan.__aexit__(None, None, None)


async def _drain(sender: OutboxSender) -> int:
    total = 0
    while claimed := await sender.drain_once():
        total += claimed
        await asyncio.sleep(0)
    return total


async def test_purge_removes_old_sent_mail_and_old_tokens(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await signup(client, "ada@example.com")
    long_ago = utcnow() - timedelta(days=31)
    engine = app.state.services.engine
    from sqlalchemy import update  # noqa: PLC0415

    from db.models import AccountToken, OutboxMessage  # noqa: PLC0415

    async with engine.begin() as connection:
        await connection.execute(
            update(OutboxMessage).values(status="sent", sent_at=long_ago, body_text=None)
        )
        await connection.execute(update(AccountToken).values(expires_at=long_ago))
    await signup(client, "bob@example.com")  # recent: stays
    await purge(create_session_factory(engine), older_than=utcnow() - timedelta(days=30))
    assert await scalar(app, "SELECT count(*) FROM outbox_messages") == 1
    assert await scalar(app, "SELECT count(*) FROM account_tokens") == 1


async def test_development_without_smtp_logs_each_message(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, lifespan = await _serve(
        database_url, log_to=caplog.handler, app_env="development", outbox_poll_seconds=0.1
    )
    try:
        async with _client(app) as client:
            await signup(client, "ada@example.com")
            for _ in range(100):
                if "verify-email?token=" in caplog.text:
                    break
                await asyncio.sleep(0.02)
        assert "http://localhost:3000/verify-email?token=" in caplog.text
    finally:
        await lifespan.__aexit__(None, None, None)


async def test_production_without_smtp_keeps_messages_and_warns(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, lifespan = await _serve(
        database_url, log_to=caplog.handler, app_env="production", outbox_poll_seconds=0.1
    )
    try:
        assert "SMTP_URL is not set" in caplog.text
        async with _client(app) as client:
            await signup(client, "ada@example.com")
            await asyncio.sleep(0.3)
        assert await scalar(app, "SELECT status FROM outbox_messages") == "pending"
        assert await scalar(app, "SELECT body_text IS NOT NULL FROM outbox_messages")
        assert "verify-email" not in caplog.text
    finally:
        await lifespan.__aexit__(None, None, None)


def test_a_worker_killed_after_commit_sends_after_restart(tmp_path: Path) -> None:
    """A real uvicorn takes the request and commits, then dies (SIGKILL) before it can
    send; the next start delivers the message."""
    database = tmp_path / "taskql.db"
    smtp_port = free_port()  # down while the first worker runs, so it cannot send
    env = sqlite_env(
        database,
        {
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "OUTBOX_POLL_SECONDS": "0.1",
            "OUTBOX_RETRY_SECONDS": "0.2",
        },
    )
    with live_server(env) as (base_url, process):
        created = httpx.post(
            f"{base_url}/graphql",
            json={
                "query": "mutation($i: SignupInput!) { signup(input: $i) { user { id } } }",
                "variables": {
                    "i": {"email": "ada@example.com", "password": "correct horse battery"}
                },
            },
        )
        assert "errors" not in created.json()
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT status FROM outbox_messages").fetchall() == [("pending",)]
    with smtp_server(port=smtp_port) as (_, mailbox), live_server(env):
        asyncio.run(mailbox.wait_for("ada@example.com"))
    assert len(mailbox.to("ada@example.com")) == 1
