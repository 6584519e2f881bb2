"""A network partition (PostgreSQL's packets dropped, not refused): fail fast, recover fast.

Deadlines on every connection attempt and statement end the first waits; the circuit
breaker (db/breaker.py) then answers 503 with Retry-After at once, and its probe closes
it again once the database answers. The proxy's blackhole holds what was sent meanwhile
and delivers it on restore, as TCP's retransmissions would.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from main import create_app
from tests.conftest import make_settings, scalar
from tests.helpers import error_codes, signup
from tests.tcp_proxy import TcpProxy

ME = "{ me { email } tasks(first: 5) { edges { node { title tags } } } }"
CREATE = 'mutation($t: String!) { createTask(input: {title: $t, tags: ["p"]}) { id tags } }'
ANSWER_WITHIN_SECONDS = 2.0
CUT_SECONDS = 2.5
RECOVER_WITHIN_SECONDS = 1.0


@dataclass
class Answer:
    started: float
    seconds: float
    status: int
    body: Any
    retry_after: str | None
    title: str | None = None


@pytest.fixture
async def proxied_app(
    postgres_database: str, _empty_postgres: None
) -> AsyncIterator[tuple[FastAPI, TcpProxy]]:
    target = urlsplit(postgres_database)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    proxied = postgres_database.replace(f":{target.port}/", f":{proxy.port}/")
    settings = make_settings(
        proxied,
        db_connect_timeout_seconds=0.5,
        db_command_timeout_seconds=0.5,
        db_probe_interval_seconds=0.2,
        db_pool_timeout_seconds=1,
        db_pool_size=4,
        db_max_overflow=2,
        session_cache_seconds=0,
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            yield app, proxy
    finally:
        proxy.restore()
        await proxy.stop()


async def test_a_partition_is_answered_within_two_seconds_and_reads_recover_within_one(
    proxied_app: tuple[FastAPI, TcpProxy],
) -> None:
    app, proxy = proxied_app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        token = (await signup(client, "ada@example.com"))["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        answers: list[Answer] = []
        titles = (f"t{n}" for n in itertools.count())
        stop = asyncio.Event()

        async def ask(body: dict[str, Any], title: str | None = None) -> None:
            started = time.monotonic()
            response = await client.post("/graphql", json=body, headers=headers, timeout=10)
            answers.append(
                Answer(
                    started,
                    time.monotonic() - started,
                    response.status_code,
                    response.json(),
                    response.headers.get("retry-after"),
                    title,
                )
            )

        async def reader() -> None:
            while not stop.is_set():
                await ask({"query": ME})
                await asyncio.sleep(0.01)

        async def writer() -> None:
            while not stop.is_set():
                title = next(titles)
                await ask({"query": CREATE, "variables": {"t": title}}, title)
                await asyncio.sleep(0.01)

        load = [asyncio.create_task(reader()) for _ in range(4)]
        load.append(asyncio.create_task(writer()))
        await asyncio.sleep(0.5)
        assert answers
        assert all(answer.status == 200 for answer in answers)

        proxy.blackhole()
        cut_at = time.monotonic()
        readyz_started = time.monotonic()
        readyz = await client.get("/readyz")
        readyz_seconds = time.monotonic() - readyz_started
        await asyncio.sleep(CUT_SECONDS)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*load), timeout=ANSWER_WITHIN_SECONDS + 1)
        restored_at = time.monotonic()
        proxy.restore()

        recovered: float | None = None
        async with asyncio.timeout(5):
            while recovered is None:
                response = await client.post("/graphql", json={"query": ME}, headers=headers)
                if response.status_code == 200 and "errors" not in response.json():
                    recovered = time.monotonic() - restored_at
                else:
                    await asyncio.sleep(0.05)

    assert readyz.status_code == 503
    assert readyz_seconds < ANSWER_WITHIN_SECONDS
    during = [answer for answer in answers if answer.started + answer.seconds > cut_at]
    slowest = max(answer.seconds for answer in during)
    assert slowest < ANSWER_WITHIN_SECONDS, slowest
    unavailable = [answer for answer in during if answer.status == 503]
    # Answered throughout the cut, mostly at once by the open breaker.
    assert len(during) >= 20, len(during)
    assert unavailable
    for answer in during:
        assert answer.status in {200, 503}, answer
        if answer.status == 503:
            assert answer.retry_after is not None
            assert error_codes(answer.body) == ["SERVICE_UNAVAILABLE"]
            assert answer.body["errors"][0]["extensions"]["retryAfter"] > 0
    assert recovered < RECOVER_WITHIN_SECONDS, recovered
    # Never 503 for work that committed: a create answered 503 is not stored.
    for answer in answers:
        if answer.title is not None and answer.status == 503:
            stored = await scalar(
                app, "SELECT count(*) FROM tasks WHERE title = :t", t=answer.title
            )
            assert stored == 0, answer
        elif answer.title is not None and "errors" not in answer.body:
            stored = await scalar(
                app, "SELECT count(*) FROM tasks WHERE title = :t", t=answer.title
            )
            assert stored == 1, answer
