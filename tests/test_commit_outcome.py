"""Answers never lie about a commit (CONTRACT.md, SERVICE_UNAVAILABLE).

Once a mutation has committed, whatever fails afterwards is an error beside its data in
a 200, never a 503 that invites a retry (a client or proxy retrying would create the
task twice). When the connection is lost while COMMIT's reply is awaited, nobody knows
whether it committed: 200, and the error says `outcome: "unknown"`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from main import create_app
from tests.conftest import make_settings, scalar
from tests.helpers import error_codes, signup
from tests.tcp_proxy import TcpProxy

CREATE = 'mutation { createTask(input: {title: "kept", tags: ["a"]}) { id tags } }'
CREATE_TITLE = 'mutation { createTask(input: {title: "kept"}) { title } }'
ME = "{ me { email } }"


class PoolThief:
    """Takes the pool's only connection as soon as a mutation's session hands it back.

    Armed, it starts waiting for a connection on the first checkout it sees (the
    mutation's); the commit releases that connection to this waiter, so whatever the
    mutation reads after its commit finds the pool exhausted.
    """

    def __init__(self, app: FastAPI) -> None:
        self.engine = app.state.services.engine
        self.release = asyncio.Event()
        self.holding = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.armed = False
        event.listen(self.engine.sync_engine, "checkout", self._on_checkout)

    def _on_checkout(self, *_: Any) -> None:
        if self.armed and self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._hold())

    async def _hold(self) -> None:
        async with self.engine.connect():
            self.holding.set()
            await self.release.wait()

    async def finish(self) -> None:
        self.release.set()
        if self.task is not None:
            await self.task
        event.remove(self.engine.sync_engine, "checkout", self._on_checkout)


@pytest.fixture
async def one_connection_app(
    postgres_database: str, _empty_postgres: None
) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        postgres_database,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=0.5,
        batching_enabled=True,
        session_cache_seconds=60,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_mutation_whose_later_read_finds_the_pool_exhausted_is_200_with_the_error(
    one_connection_app: FastAPI,
) -> None:
    app = one_connection_app
    async with await _client(app) as client:
        token = (await signup(client, "ada@example.com"))["accessToken"]
        thief = PoolThief(app)
        thief.armed = True
        try:
            response = await client.post(
                "/graphql", json={"query": CREATE}, headers={"Authorization": f"Bearer {token}"}
            )
            assert thief.holding.is_set()
        finally:
            await thief.finish()
    assert response.status_code == 200, response.text
    assert "retry-after" not in response.headers
    body = response.json()
    assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
    (error,) = body["errors"]
    assert error["extensions"]["outcome"] == "committed"
    assert "retryAfter" not in error["extensions"]
    assert await scalar(app, "SELECT count(*) FROM tasks WHERE title = 'kept'") == 1


@pytest.mark.usefixtures("_empty_postgres")
async def test_a_mutation_that_runs_out_of_time_after_its_commit_is_200(
    postgres_database: str,
) -> None:
    """The request time limit strikes while a read after the commit waits for the pool."""
    settings = make_settings(
        postgres_database,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=1.5,
        db_connect_timeout_seconds=0.2,
        db_command_timeout_seconds=0.5,
        request_timeout_seconds=1,
        session_cache_seconds=60,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), await _client(app) as client:
        token = (await signup(client, "ada@example.com"))["accessToken"]
        thief = PoolThief(app)
        thief.armed = True
        try:
            response = await client.post(
                "/graphql", json={"query": CREATE}, headers={"Authorization": f"Bearer {token}"}
            )
        finally:
            await thief.finish()
        assert response.status_code == 200, response.text
        assert "retry-after" not in response.headers
        (error,) = response.json()["errors"]
        assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE", "outcome": "committed"}
        assert await scalar(app, "SELECT count(*) FROM tasks WHERE title = 'kept'") == 1


async def test_a_batch_whose_mutation_committed_is_200_even_if_everything_failed_afterwards(
    one_connection_app: FastAPI,
) -> None:
    app = one_connection_app
    async with await _client(app) as client:
        token = (await signup(client, "ada@example.com"))["accessToken"]
        thief = PoolThief(app)
        thief.armed = True
        try:
            response = await client.post(
                "/graphql",
                json=[{"query": CREATE}, {"query": ME}],
                headers={"Authorization": f"Bearer {token}"},
            )
        finally:
            await thief.finish()
    assert response.status_code == 200, response.text
    assert "retry-after" not in response.headers
    created, read = response.json()
    assert created["errors"][0]["extensions"]["outcome"] == "committed"
    # The query did not run and did not commit: it says so, and may be retried alone.
    assert error_codes(read) == ["SERVICE_UNAVAILABLE"]
    assert read["errors"][0]["extensions"]["retryAfter"] == 5
    assert await scalar(app, "SELECT count(*) FROM tasks") == 1


async def test_a_refused_operation_in_a_batch_answers_alone(
    one_connection_app: FastAPI,
) -> None:
    async with await _client(one_connection_app) as client:
        token = (await signup(client, "ada@example.com"))["accessToken"]
        response = await client.post(
            "/graphql",
            json=[
                {"query": CREATE_TITLE},
                {"query": "subscription { ticks }"},
                {"query": "query A { me { email } }", "operationName": "B"},
                {},
                42,
                {"query": ME},
            ],
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/graphql-response+json",
            },
        )
    assert response.status_code == 200, response.text
    created, subscription, unknown_name, empty, number, me = response.json()
    assert created == {"data": {"createTask": {"title": "kept"}}}
    for refused in (subscription, unknown_name, empty, number):
        assert "data" not in refused
        assert refused["errors"][0]["extensions"]["code"], refused
    assert me == {"data": {"me": {"email": "ada@example.com"}}}


@pytest.mark.usefixtures("_empty_postgres")
async def test_a_connection_lost_while_committing_is_200_with_outcome_unknown(
    postgres_database: str,
) -> None:
    target = urlsplit(postgres_database)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    proxied = postgres_database.replace(f":{target.port}/", f":{proxy.port}/")
    # No session listener: its connection would be cut too, and it plays no part here.
    app = create_app(make_settings(proxied, db_connect_timeout_seconds=1, session_cache_seconds=0))
    cut = False

    def cut_before_commit(*_: Any) -> None:
        nonlocal cut
        if not cut:
            cut = True
            proxy.abort_connections()

    try:
        async with app.router.lifespan_context(app), await _client(app) as client:
            token = (await signup(client, "ada@example.com"))["accessToken"]
            engine = app.state.services.engine
            event.listen(engine.sync_engine, "commit", cut_before_commit)
            try:
                response = await client.post(
                    "/graphql",
                    json={"query": CREATE_TITLE},
                    headers={"Authorization": f"Bearer {token}"},
                )
            finally:
                event.remove(engine.sync_engine, "commit", cut_before_commit)
            assert cut
            assert response.status_code == 200, response.text
            assert "retry-after" not in response.headers
            body = response.json()
            assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
            assert body["errors"][0]["extensions"]["outcome"] == "unknown"
            assert "retryAfter" not in body["errors"][0]["extensions"]
    finally:
        await proxy.stop()
