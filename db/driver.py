"""The hottest reads run on asyncpg itself, from statements SQLAlchemy compiled once.

A page of tasks is read on nearly every request. SQLAlchemy's execution layers
(a greenlet hop, an execution context, a cursor adapter, a result with its row
objects) cost more CPU than asyncpg's own fetch of the rows (bench/README.md), so
a cached Core statement is compiled once for the asyncpg dialect and its SQL run
with `asyncpg.Connection.fetch` on the session's own connection, inside whatever
transaction SQLAlchemy holds there. Rows come back as asyncpg Records: positional,
like the SQLAlchemy rows they stand in for.

Only statements SQLAlchemy would not change at execution time qualify (no
expanding `IN` parameters), and only while nothing observes statement execution
(echo, cursor-execute listeners such as tracing or the tests' statement counter),
which then sees every statement. Bound values and result columns go through their
types' processors, as SQLAlchemy's own would. Any other statement and any other
driver take the ordinary path.

A failure that PostgreSQL reports about the statement (a timeout, say) is raised
as asyncpg reports it, never run twice. Any other failure means the connection is
gone (asyncpg's client-side errors for that vary): the read runs again through
SQLAlchemy, which meets the same dead connection, reports it as for any other
statement, and invalidates it and the pool's older connections.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import lost_connection

DRIVER = "asyncpg"
_REQUIRED: Any = object()
Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class DriverStatement:
    sql: str
    parameters: tuple[tuple[str, Any, Processor | None], ...]
    """Each positional parameter in order: its name, its value when the statement fixes
    one (`LIMIT 1`) or _REQUIRED, and its type's bind processor."""
    results: tuple[tuple[int, Processor], ...]
    """The result columns that need converting: their positions and processors."""

    def rows(self, records: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
        results = self.results
        if not results:
            return records
        rows = []
        for record in records:
            row = list(record)
            for index, process in results:
                row[index] = process(row[index])
            rows.append(row)
        return rows

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional values; KeyError for a required parameter `params` lacks."""
        values = []
        for name, fixed, process in self.parameters:
            value = params[name] if fixed is _REQUIRED else params.get(name, fixed)
            values.append(value if process is None else process(value))
        return values


@lru_cache(maxsize=512)
def driver_statement(statement: Select[Any], dialect: Dialect) -> DriverStatement | None:
    """`statement` compiled for asyncpg, or None when it must take SQLAlchemy's path."""
    compiled = statement.compile(dialect=dialect)
    if compiled.positiontup is None or compiled.post_compile_params:
        return None
    results = tuple(
        (index, process)
        for index, column in enumerate(statement.selected_columns)
        if (process := column.type.result_processor(dialect, None)) is not None
    )
    parameters = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        fixed = _REQUIRED if bind.required else bind.effective_value
        parameters.append((name, fixed, bind.type.bind_processor(dialect)))
    return DriverStatement(compiled.string, tuple(parameters), results)


def _observed(connection: AsyncConnection) -> bool:
    """Whether anything watches statements run (echo, cursor-execute listeners such as
    tracing or tests counting statements): those always see the ordinary path."""
    sync = connection.sync_connection
    if sync is None:
        return True
    dispatch = sync.dispatch
    return bool(sync.engine.echo or dispatch.before_cursor_execute or dispatch.after_cursor_execute)


async def fetch_all(
    connection: AsyncConnection, statement: Select[Any], params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Every row of a read-only `statement`, positional, on the driver where it qualifies."""
    dialect = connection.dialect
    prepared = (
        driver_statement(statement, dialect)
        if dialect.driver == DRIVER and not _observed(connection)
        else None
    )
    if prepared is not None:
        arguments = prepared.arguments(params)
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            records: Sequence[Sequence[Any]] = await driver.fetch(prepared.sql, *arguments)
        except asyncpg.PostgresError as error:
            if not lost_connection(error):
                raise  # the statement's own failure, as PostgreSQL reported it (a timeout, say)
        except Exception:  # noqa: S110 - the connection failed (asyncpg's client-side errors vary)
            pass
        else:
            return prepared.rows(records)
        # The connection is gone: SQLAlchemy meets it too, reports it and retires it.
    rows: Sequence[Sequence[Any]] = (await connection.execute(statement, params)).all()
    return rows
