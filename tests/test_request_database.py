"""A request's database access (db/request.py): opened on first use, closed with the request."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from db.models import Task
from db.request import RequestDatabase
from tests.helpers import signup
from tests.statement_counter import pool_traffic


async def test_a_query_reads_on_one_lazily_opened_connection(app: FastAPI) -> None:
    services = app.state.services
    with pool_traffic(services.engine) as traffic:
        database = RequestDatabase(services.read_session_factory, services.read_engine)
        async with database:
            assert traffic == []
            first = await database.connection()
            assert await first.scalar(text("SELECT 1")) == 1
            assert await database.connection() is first
            assert traffic == ["out"]
        assert traffic == ["out", "in"]
    with pytest.raises(RuntimeError, match="closed"):
        await database.connection()
    with pytest.raises(RuntimeError, match="closed"):
        _ = database.session


async def test_an_unused_request_database_takes_nothing(app: FastAPI) -> None:
    services = app.state.services
    with pool_traffic(services.engine) as traffic:
        async with RequestDatabase(services.read_session_factory, services.read_engine):
            pass
        async with RequestDatabase(services.session_factory):
            pass
    assert traffic == []


async def test_a_mutations_reads_share_its_transaction(app: FastAPI, client: Any) -> None:
    """Without a read engine, reads run on the session's connection: they see what the
    session wrote before it commits, and a rollback takes both away."""
    await signup(client, "reads@example.com")
    services = app.state.services
    async with services.session_factory() as setup:
        owner_id = await setup.scalar(text("SELECT id FROM users"))
    async with RequestDatabase(services.session_factory) as database:
        database.session.add(Task(owner_id=owner_id, title="uncommitted", description=None))
        await database.session.flush()
        connection = await database.connection()
        count = select(func.count()).select_from(Task).where(Task.title == "uncommitted")
        assert await connection.scalar(count) == 1
        await database.session.rollback()
        assert await (await database.connection()).scalar(count) == 0
