"""Task pages read on asyncpg itself (db/driver.py) answer exactly as through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from db.driver import driver_statement, fetch_all
from db.pagination import Ordering, PageRequest, PageShape, Position, SortField, page_params
from db.tasks import _TASKS_BY_IDS, TaskFilter, _FilterShape, _page_statements
from schema.runtime.errors import database_unavailable
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
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
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

    engine = app.state.services.engine
    for order in ORDERS:
        for backwards in (False, True):
            with count_statements(engine) as on_driver_statements:
                on_driver = await walk(order, backwards=backwards)
            with monkeypatch.context() as patch:
                patch.setattr("db.driver.DRIVER", "no driver reads")
                with count_statements(engine) as through_sqlalchemy_statements:
                    through_sqlalchemy = await walk(order, backwards=backwards)
            assert on_driver == through_sqlalchemy
            assert sum(len(page["edges"]) for page in on_driver) == 7
            # The statement counter sees the driver's reads as it sees SQLAlchemy's.
            assert on_driver_statements == through_sqlalchemy_statements


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
    engine = create_async_engine(postgres_database, isolation_level="AUTOCOMMIT")
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


async def test_a_statement_that_fails_on_the_driver_is_reported_once_as_sqlalchemy_would(
    postgres_database: str,
) -> None:
    """A failure of the statement itself (here a lock timeout) is not run again: it is
    SQLAlchemy's DBAPIError around asyncpg's error, seen by the handle_error listeners
    (the breaker, tracing) and by the cursor listeners once."""
    engine = create_async_engine(postgres_database, isolation_level="AUTOCOMMIT")
    request = PageRequest(Ordering(), 20)
    statement, _probe = _page_statements(_FilterShape.of(TaskFilter()), PageShape.of(request))
    params = {"owner_id": 1, **page_params(request)}
    failures: list[BaseException] = []
    event.listen(
        engine.sync_engine,
        "handle_error",
        lambda context: failures.append(context.original_exception),
    )
    try:
        async with engine.connect() as locker, engine.connect() as connection:
            await connection.execute(text("SET lock_timeout = '300ms'"))
            await locker.execute(text("BEGIN"))
            await locker.execute(text("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE"))
            with count_statements(engine) as statements, pytest.raises(DBAPIError) as failure:
                await fetch_all(connection, statement, params)
            assert isinstance(failure.value.orig.__cause__, asyncpg.LockNotAvailableError)  # type: ignore[union-attr]
            assert not failure.value.connection_invalidated
            assert len(statements) == 1  # run once, never again through SQLAlchemy
            assert len(failures) == 1
            await locker.execute(text("ROLLBACK"))
            assert await fetch_all(connection, statement, params) is not None
    finally:
        await engine.dispose()


async def test_only_autocommit_connections_read_on_the_driver(postgres_database: str) -> None:
    """A transaction's reads go through SQLAlchemy, inside the transaction (they see its
    writes); a driver read on an autocommit connection inside a transaction is refused."""
    engine = create_async_engine(postgres_database)
    request = PageRequest(Ordering(), 20)
    statement, _probe = _page_statements(_FilterShape.of(TaskFilter()), PageShape.of(request))
    try:
        async with engine.connect() as connection:
            owner = await connection.scalar(
                text(
                    "INSERT INTO users (email, email_key, password_hash, created_at) "
                    "VALUES ('t@example.com', 't@example.com', 'x', now()) RETURNING id"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO tasks (owner_id, title, completed, priority, created_at,"
                    " updated_at) VALUES (:owner, 'mine', false, 0, now(), now())"
                ),
                {"owner": owner},
            )
            rows = await fetch_all(
                connection, statement, {"owner_id": owner, **page_params(request)}
            )
            assert [row[3] for row in rows] == ["mine"]  # its own uncommitted write
            await connection.rollback()
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("BEGIN")
            with pytest.raises(AssertionError, match="autocommit"):
                await fetch_all(autocommit, statement, {"owner_id": 1, **page_params(request)})
            await autocommit.exec_driver_sql("ROLLBACK")
    finally:
        await engine.dispose()


async def test_cursor_listeners_see_driver_reads_with_their_context(postgres_database: str) -> None:
    """What tracing needs: before and after events around the read, sharing one context."""
    engine = create_async_engine(postgres_database, isolation_level="AUTOCOMMIT")
    request = PageRequest(Ordering(), 20)
    statement, _probe = _page_statements(_FilterShape.of(TaskFilter()), PageShape.of(request))
    seen: list[tuple[str, str, Any]] = []

    def before(_conn: Any, _cursor: Any, sql: str, _params: Any, context: Any, _many: bool) -> None:
        context.started = "yes"
        seen.append(("before", sql, None))

    def after(_conn: Any, _cursor: Any, sql: str, _params: Any, context: Any, _many: bool) -> None:
        seen.append(("after", sql, context.started))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        async with engine.connect() as connection:
            await fetch_all(connection, statement, {"owner_id": 1, **page_params(request)})
    finally:
        await engine.dispose()
    sql = driver_statement(statement, engine.dialect)
    assert sql is not None
    assert seen == [("before", sql.sql, None), ("after", sql.sql, "yes")]
