"""Unexpected failures show a generic message, the code and the request id; the log the rest."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

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


class BrokenEngine:
    async def connect(self) -> object:
        raise RuntimeError(SECRET_DETAIL)


async def test_broken_database_access_is_masked_too(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query reads on the read engine's connection, a mutation through the session."""
    token = (await signup(client, "broken@example.com"))["accessToken"]

    def broken_factory() -> object:
        raise RuntimeError(SECRET_DETAIL)

    services = replace(
        app.state.services,
        session_factory=broken_factory,
        read_session_factory=broken_factory,
        read_engine=BrokenEngine(),
    )
    monkeypatch.setattr(app.state, "services", services)
    for number, document in enumerate(["{ me { id } }", CREATE]):
        request_id = f"mask-2-{number}"
        response = await post_graphql(
            client, document, token=token, headers={"X-Request-ID": request_id}
        )
        assert response.status_code == 500, document
        assert_masked(response.json(), request_id)


def driver_error(orig: Exception, *, invalidated: bool = False) -> DBAPIError:
    """A driver exception as SQLAlchemy's asyncpg dialect raises it: wrapped, with its cause."""
    wrapper_class = InterfaceError if isinstance(orig, asyncpg.InterfaceError) else DBAPIError
    wrapper = wrapper_class("INSERT ...", {}, orig, connection_invalidated=invalidated)
    wrapper.__cause__ = orig
    return wrapper


TOO_MANY_ARGUMENTS = "the number of query arguments cannot exceed 32767"


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (driver_error(asyncpg.InterfaceError(TOO_MANY_ARGUMENTS)), "INTERNAL_SERVER_ERROR"),
        (driver_error(asyncpg.InternalClientError("bad bind")), "INTERNAL_SERVER_ERROR"),
        (
            OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x")),
            "INTERNAL_SERVER_ERROR",
        ),
        (driver_error(asyncpg.InterfaceError("gone"), invalidated=True), "SERVICE_UNAVAILABLE"),
        (driver_error(asyncpg.ConnectionDoesNotExistError("lost")), "SERVICE_UNAVAILABLE"),
        (driver_error(asyncpg.CannotConnectNowError("starting")), "SERVICE_UNAVAILABLE"),
        (ConnectionRefusedError(111, "refused"), "SERVICE_UNAVAILABLE"),
        (ConnectionResetError(104, "reset"), "SERVICE_UNAVAILABLE"),
        (PoolTimeoutError("QueuePool limit reached"), "SERVICE_UNAVAILABLE"),
    ],
    ids=[
        "too-many-arguments",
        "internal-client-error",
        "sqlite-operational",
        "connection-invalidated",
        "connection-does-not-exist",
        "cannot-connect-now",
        "connection-refused",
        "connection-reset",
        "pool-timeout",
    ],
)
async def test_only_connection_failures_are_service_unavailable(
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Exception,
    code: str,
) -> None:
    token = (await signup(client, "driver@example.com"))["accessToken"]

    async def failing(*_: object, **__: object) -> object:
        raise failure

    monkeypatch.setattr(resolvers.tasks, "insert_task", failing)
    with caplog.at_level(logging.WARNING, logger="taskql.errors"):
        response = await post_graphql(
            client, CREATE, token=token, headers={"X-Request-ID": "driver-1"}
        )

    body = response.json()
    assert error_codes(body) == [code]
    if code == "INTERNAL_SERVER_ERROR":
        assert response.status_code == 200
        assert_masked(body, "driver-1")
    else:
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
    assert type(failure).__name__ in caplog.text
    assert "driver-1" in caplog.text
