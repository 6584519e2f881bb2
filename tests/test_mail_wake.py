"""A request that writes mail is answered before its process starts on that mail.

The outbox sender composes a reset message only for an existing account; were it woken
while the answer was still being written, an existing address would be answered later
than an unknown one (bench/account_mail.py measures the two side by side).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from tests.smtp_server import Mailbox, mail_settings, smtp_server

REQUEST_RESET = b'{"query": "mutation { requestPasswordReset(email: \\"ada@example.com\\") }"}'


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def settings_overrides(smtp: tuple[int, Mailbox]) -> dict[str, Any]:
    return mail_settings(smtp[0])


async def test_the_sender_is_woken_after_the_answer_is_sent(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    sender = app.state.services.outbox_sender
    assert sender is not None
    monkeypatch.setattr(sender, "wake", lambda: events.append("sender woken"))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": REQUEST_RESET, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            events.append("answer sent")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("203.0.113.7", 40000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)

    assert events == ["answer sent", "sender woken"]
