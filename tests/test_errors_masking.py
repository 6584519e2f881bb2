"""Unexpected failures show a generic message, the code and the request id; the log the rest."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import resolvers.tasks
from tests.helpers import error_codes, post_graphql, signup

SECRET_DETAIL = "SELECT password_hash FROM users -- /srv/taskql/db/task_writes.py line 42"
CREATE = 'mutation { createTask(input: {title: "masked"}) { id } }'


def assert_masked(body: dict[str, Any], request_id: str) -> None:
    assert error_codes(body) == ["INTERNAL_SERVER_ERROR"]
    error = body["errors"][0]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert SECRET_DETAIL not in str(body)
    assert "Traceback" not in str(body)


async def test_a_failing_resolver_shows_only_code_and_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = (await signup(client, "mask@example.com"))["accessToken"]

    async def broken(*_: object, **__: object) -> object:
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr(resolvers.tasks, "insert_task", broken)
    with caplog.at_level(logging.ERROR, logger="taskql.errors"):
        response = await post_graphql(
            client, CREATE, token=token, headers={"X-Request-ID": "mask-1"}
        )
    assert response.status_code == 200
    assert_masked(response.json(), "mask-1")
    assert "mask-1" in caplog.text
    assert SECRET_DETAIL in caplog.text


async def test_a_broken_session_factory_is_masked_too(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = (await signup(client, "broken@example.com"))["accessToken"]

    def broken_factory() -> object:
        raise RuntimeError(SECRET_DETAIL)

    services = replace(
        app.state.services, session_factory=broken_factory, read_session_factory=broken_factory
    )
    monkeypatch.setattr(app.state, "services", services)
    response = await post_graphql(
        client, "{ me { id } }", token=token, headers={"X-Request-ID": "mask-2"}
    )
    assert response.status_code == 500
    assert_masked(response.json(), "mask-2")
