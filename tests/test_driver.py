"""Task pages read on asyncpg itself (db/driver.py) answer exactly as through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from db.driver import driver_statement, fetch_all
from db.pagination import Ordering, PageRequest, PageShape, Position, SortField, page_params
from db.tasks import _TASKS_BY_IDS, TaskFilter, _FilterShape, _page_statements
from schema.errors import database_unavailable
from tests.helpers import graphql, signup
from tests.statement_counter import count_statements

CREATE = "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }"
PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $order: TaskOrder,
                 $filter: TaskFilter) {
  tasks(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
        filter: $filter) {
    edges { cursor node { id title priority dueAt createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
ORDERS = [
    {"field": field, "direction": direction}
    for field in ("CREATED_AT", "DUE_AT", "PRIORITY", "TITLE")
    for direction in ("ASC", "DESC")
]


@pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)
async def test_pages_on_the_driver_match_pages_through_sqlalchemy(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = (await signup(client, "ada@example.com"))["accessToken"]
    for n in range(7):
        task: dict[str, Any] = {"title": f"task {n % 3}", "priority": ["LOW", "HIGH"][n % 2]}
        if n % 3:
            task["dueAt"] = f"2031-0{n}-01T00:00:00Z"
        body = await graphql(client, CREATE, {"input": task}, token=token)
        assert "errors" not in body, body

    async def walk(order: dict[str, str], *, backwards: bool) -> list[dict[str, Any]]:
        pages, cursor = [], None
        for _ in range(10):
            size, position = ("last", "before") if backwards else ("first", "after")
            variables = {size: 3, position: cursor, "order": order, "filter": {"search": "task"}}
            page = (await graphql(client, PAGE, variables, token=token))["data"]["tasks"]
            pages.append(page)
            more = page["pageInfo"]["hasPreviousPage" if backwards else "hasNextPage"]
            cursor = page["pageInfo"]["startCursor" if backwards else "endCursor"]
            if not more:
                break
        return pages

    for order in ORDERS:
        for backwards in (False, True):
            on_driver = await walk(order, backwards=backwards)
            # A statement counter observes execution, so these go through SQLAlchemy.
            with count_statements(app.state.services.engine) as statements:
                through_sqlalchemy = await walk(order, backwards=backwards)
            assert statements, "the observed walk must have run through SQLAlchemy"
            assert on_driver == through_sqlalchemy
            assert sum(len(page["edges"]) for page in on_driver) == 7


def test_every_page_shape_qualifies_for_the_driver_and_in_lists_do_not() -> None:
    dialect = PGDialect_asyncpg()
    now = datetime.now(UTC)
    values = {SortField.DUE_AT: None, SortField.PRIORITY: 2, SortField.TITLE: "t"}
    for field in SortField:
        for descending in (True, False):
            ordering = Ordering(field, descending)
            at = Position(values.get(field, now), 7)
            for request in (
                PageRequest(ordering, 20),
                PageRequest(ordering, 20, after=at),
                PageRequest(ordering, 20, backward=True, before=at),
            ):
                shape = PageShape.of(request)
                statement, _probe = _page_statements(_FilterShape.of(TaskFilter()), shape)
                assert driver_statement(statement, dialect) is not None, (field, request)
    assert driver_statement(_TASKS_BY_IDS, dialect) is None


async def test_a_page_read_on_a_dead_connection_fails_as_sqlalchemy_reports_it(
    postgres_database: str,
) -> None:
    """The driver's error is not the answer: the read runs again through SQLAlchemy,
    which reports the lost connection (and retires it) as on the ordinary path."""
    engine = create_async_engine(postgres_database)
    request = PageRequest(Ordering(), 20)
    statement, _probe = _page_statements(_FilterShape.of(TaskFilter()), PageShape.of(request))
    params = {"owner_id": 1, **page_params(request)}
    try:
        async with engine.connect() as connection:
            await fetch_all(connection, statement, params)  # the connection works
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
            async with engine.connect() as admin:
                await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DBAPIError) as failure:
                await fetch_all(connection, statement, params)
            assert failure.value.connection_invalidated
            assert database_unavailable(failure.value)
    finally:
        await engine.dispose()


async def test_a_statement_that_fails_on_the_driver_is_reported_once_as_it_is(
    postgres_database: str,
) -> None:
    """A failure of the statement itself (here a lock timeout) is not run again."""
    engine = create_async_engine(postgres_database)
    request = PageRequest(Ordering(), 20)
    statement, _probe = _page_statements(_FilterShape.of(TaskFilter()), PageShape.of(request))
    params = {"owner_id": 1, **page_params(request)}
    try:
        async with engine.connect() as locker, engine.connect() as connection:
            await connection.execute(text("SET lock_timeout = '300ms'"))
            await locker.execute(text("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE"))
            # asyncpg's own error: not run again through SQLAlchemy, which would have
            # met the aborted transaction and reported that instead.
            with pytest.raises(asyncpg.LockNotAvailableError):
                await fetch_all(connection, statement, params)
            await locker.rollback()
            await connection.rollback()
            assert await fetch_all(connection, statement, params) is not None
    finally:
        await engine.dispose()
