"""The hottest reads run on asyncpg itself, from statements SQLAlchemy compiled once.

A page of tasks is read on nearly every request. SQLAlchemy's execution layers
(a greenlet hop, an execution context, a cursor adapter, a result with its row
objects) cost more CPU than asyncpg's own fetch of the rows (bench/README.md), so
a cached Core statement is compiled once for the asyncpg dialect and its SQL run
with `asyncpg.Connection.fetch` on the connection's own asyncpg connection. Rows
come back as asyncpg Records, positional; db/ turns them into named rows.

Only a query's autocommit read connection (`db/request.py`) qualifies, asserted to
be outside any transaction: a mutation's reads go through its session, so they see
its writes. Only statements SQLAlchemy would not change at execution time qualify
(no expanding `IN` parameters), and not with echo on. Bound values and result
columns go through their types' processors, as SQLAlchemy's own would.

The engine's `before_cursor_execute` and `after_cursor_execute` listeners (tracing,
the tests' statement counter) are fired around the driver's fetch as around any
statement, so what observes statements observes this path, not another one; with
no listener, asking costs nothing.

A failure is never run again: it goes through SQLAlchemy's own error handling as a
failure of any statement would (`_report`): the asyncpg adapter's DBAPI error, the
engine's `handle_error` listeners (the database breaker, tracing), and for a lost
connection its invalidation along with the pool's older connections.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from sqlalchemy import Select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util.concurrency import greenlet_spawn

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


class _DriverExecution:
    """Stands for SQLAlchemy's execution context in the cursor events a driver read fires:
    listeners may keep what they need on it between before and after (a tracing span)."""

    __slots__ = ("__dict__",)


def _report(
    sync: Connection, adapted: Any, error: Exception, sql: str, arguments: tuple[Any, ...]
) -> NoReturn:
    """Raise `error` as SQLAlchemy would have: translated by the asyncpg adapter into its
    DBAPI error, then through the connection's own error handling."""
    try:
        adapted._handle_exception(error)  # raises the DBAPI error standing for `error`
    except Exception as translated:
        sync._handle_dbapi_exception(translated, sql, arguments, None, None)
    raise error  # the adapter always raises; kept for the type checker


async def _fetch_on_driver(
    sync: Connection,
    *,
    adapted: Any,
    driver: Any,
    prepared: DriverStatement,
    params: Mapping[str, Any],
) -> Sequence[Sequence[Any]]:
    """The read on asyncpg, seen by the engine's cursor and error listeners."""
    arguments = prepared.arguments(params)
    dispatch = sync.dispatch
    observed = bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)
    if observed:  # tracing, the tests' statement counter: they see this read as any other
        cursor, execution = adapted.cursor(), _DriverExecution()
        dispatch.before_cursor_execute(
            sync, cursor, prepared.sql, tuple(arguments), execution, False
        )
    try:
        records: Sequence[Sequence[Any]] = await driver.fetch(prepared.sql, *arguments)
    except Exception as error:
        # Reported as SQLAlchemy reports a failure of any statement: the adapter's DBAPI
        # error, the engine's handle_error listeners (the breaker, tracing), a lost
        # connection invalidated; never run again.
        await greenlet_spawn(_report, sync, adapted, error, prepared.sql, tuple(arguments))
        raise  # _report raises; this line is never reached
    if observed:
        dispatch.after_cursor_execute(
            sync, cursor, prepared.sql, tuple(arguments), execution, False
        )
    return prepared.rows(records)


async def fetch_all(
    connection: AsyncConnection, statement: Select[Any], params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Every row of a read-only `statement`, positional, on the driver where it qualifies:
    an autocommit asyncpg connection (a query's reads, `db/request.py`) without echo."""
    dialect, sync = connection.dialect, connection.sync_connection
    prepared = (
        driver_statement(statement, dialect)
        if dialect.driver == DRIVER and sync is not None and not sync.engine.echo
        else None
    )
    if prepared is not None:
        assert sync is not None
        # The pooled connection the request holds; asking AsyncConnection for it is a
        # greenlet hop, needed only when it must be revalidated (then it may do I/O).
        raw = sync._dbapi_connection
        if raw is None or not raw.is_valid:
            raw = await connection.get_raw_connection()
        adapted, driver = raw.dbapi_connection, raw.driver_connection
        assert adapted is not None
        assert driver is not None
        if getattr(adapted, "autocommit", False):  # else a transaction's read: SQLAlchemy's
            # Outside any transaction: a read inside one must see its writes, in it.
            assert not driver.is_in_transaction(), "driver reads run on autocommit connections"
            return await _fetch_on_driver(
                sync, adapted=adapted, driver=driver, prepared=prepared, params=params
            )
    rows: Sequence[Sequence[Any]] = (await connection.execute(statement, params)).all()
    return rows
