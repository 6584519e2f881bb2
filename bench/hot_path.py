"""CPU cost of W1 and of the pieces of its path that taskql chose between, in one process.

    uv run python -m bench.hot_path [DSN]   (default: the seeded taskql_bench database;
                                            run bench/run-tasks.sh or bench.seed first)

Every figure is process CPU time (the database server's own time is not counted),
the minimum over BATCHES batches. Rows:

- W1 through the ASGI app, in process: no network, no load generator; 32
  concurrent requests, as wrk sends them. The number to profile, e.g.
  `py-spy record -f raw -o w1.txt -- .venv/bin/python -m bench.hot_path`.
- the W1 page read: through SQLAlchemy (`connection.execute(...).all()`) and on
  asyncpg (`db.driver.fetch_all`), on one open connection.
- a query's database access: an autocommit AsyncSession with its connection (what
  queries used before), against the read connection of `db/request.py`.
- reading one task row: by column name (SQLAlchemy Row attributes) and by position.
- completing one DateTime value, against `datetime.isoformat()` alone.
- the fast path alone (`schema/runtime/fast_path.py`): a 20-item page of the fast-path
  tests' schema, from one parsed document, without and with variables.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import uvloop
from graphql import DocumentNode, execute, parse
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.engine.row import Row
from sqlalchemy.ext.asyncio import create_async_engine

from bench.seed import PASSWORD, email
from bench.tasks_load import LOGIN, W1, W2
from db.driver import fetch_all
from db.engine import autocommit_engine, create_session_factory
from db.pagination import Ordering, PageRequest, PageShape, page_params
from db.request import RequestDatabase
from db.task_rows import TASK_COLUMNS, task_row
from db.tasks import TaskFilter, _filter_params, _FilterShape, _page_statements
from main import create_app
from schema import build_schema
from schema.runtime.completers import _leaf_completer
from schema.runtime.fast_path import PlainFieldExecutionContext
from settings import load_settings
from web.tracing import end_operation, operation_span

DEFAULT_DSN = "postgresql+asyncpg://postgres@127.0.0.1:5432/taskql_bench"
BATCHES = int(os.environ.get("BATCHES", "5"))
CONCURRENCY = 32


def _environment(dsn: str) -> None:
    os.environ.update(
        {
            "APP_ENV": "production",
            "JWT_SECRET": "bench-secret-for-taskql-0123456789abcdef",
            "DATABASE_URL": dsn,
            "AUTO_MIGRATE": "false",
            "LOG_LEVEL": "WARNING",
        }
    )


async def best_us(call: Callable[[], Awaitable[object]], calls: int) -> float:
    """The least CPU microseconds per call over BATCHES batches of `calls` calls."""
    for _ in range(calls // 4):
        await call()
    best = float("inf")
    for _ in range(BATCHES):
        started = time.process_time()
        for _ in range(calls):
            await call()
        best = min(best, (time.process_time() - started) * 1e6 / calls)
    return best


def best_sync_us(call: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(BATCHES):
        started = time.process_time()
        for _ in range(calls):
            call()
        best = min(best, (time.process_time() - started) * 1e6 / calls)
    return best


async def asgi_post(app: Any, body: bytes, token: str | None = None) -> bytes:
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    if token is not None:
        headers.append((b"authorization", b"Bearer " + token.encode()))
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
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


async def requests_in_process(rows: list[tuple[str, float]]) -> None:
    """W1 and W2 through the whole app; WORKLOADS=W2 runs only W2 (e.g. under py-spy)."""
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        variables = {"input": {"email": email(0), "password": PASSWORD}}
        answer = await asgi_post(app, json.dumps({"query": LOGIN, "variables": variables}).encode())
        token = json.loads(answer)["data"]["login"]["accessToken"]
        for name, query, batches in (("W1", W1, 60), ("W2", W2, 6)):
            if name not in os.environ.get("WORKLOADS", "W1,W2"):
                continue
            body = json.dumps({"query": query}).encode()
            assert b'"errors"' not in await asgi_post(app, body, token)

            async def thirty_two(body: bytes = body) -> None:
                await asyncio.gather(*(asgi_post(app, body, token) for _ in range(CONCURRENCY)))

            per_batch = await best_us(thirty_two, batches)
            rows.append((f"{name} request, in process (32 at once)", per_batch / CONCURRENCY))


async def database_pieces(dsn: str, rows: list[tuple[str, float]]) -> None:

    engine = create_async_engine(dsn, pool_size=2)
    sessions = create_session_factory(engine, autocommit=True)
    reads = autocommit_engine(engine)
    request = PageRequest(Ordering(), 20)
    statement, _probe = _page_statements(_FilterShape.of(TaskFilter()), PageShape.of(request))
    params = _filter_params(1, TaskFilter()) | page_params(request)
    try:
        async with reads.connect() as connection:

            async def through_sqlalchemy() -> object:
                return (await connection.execute(statement, params)).all()

            async def on_the_driver() -> object:
                return await fetch_all(connection, statement, params)

            rows.append(("W1 page read through SQLAlchemy", await best_us(through_sqlalchemy, 500)))
            rows.append(
                ("W1 page read on asyncpg (db/driver.py)", await best_us(on_the_driver, 500))
            )

        async def session_with_connection() -> None:
            async with sessions() as session:
                await session.connection()

        async def query_reads() -> None:
            async with RequestDatabase(sessions, reads) as database:
                await database.connection()

        rows.append(
            (
                "ORM session + its connection, open and close",
                await best_us(session_with_connection, 500),
            )
        )
        rows.append(("a query's read connection (db/request.py)", await best_us(query_reads, 500)))
    finally:
        await engine.dispose()


def python_pieces(rows: list[tuple[str, float]]) -> None:

    metadata = SimpleResultMetaData([column.key for column in TASK_COLUMNS])
    now = datetime.now(UTC)
    row = Row(
        metadata,
        metadata._effective_processors,
        metadata._key_to_index,
        (7, 1, None, "title", None, False, None, 2, None, now, now),
    )
    names = [column.key for column in TASK_COLUMNS]
    rows.append(
        (
            "SQLAlchemy Row: 11 columns by name",
            best_sync_us(lambda: [getattr(row, n) for n in names], 100_000),
        )
    )
    record = tuple(row)
    typed = task_row(record)
    rows.append(("TaskRow built from a record", best_sync_us(lambda: task_row(record), 100_000)))
    rows.append(
        (
            "TaskRow: 11 fields by name",
            best_sync_us(
                lambda: (
                    typed.id,
                    typed.owner_id,
                    typed.parent_id,
                    typed.title,
                    typed.description,
                    typed.completed,
                    typed.completed_at,
                    typed.priority,
                    typed.due_at,
                    typed.created_at,
                    typed.updated_at,
                ),
                100_000,
            ),
        )
    )
    complete = _leaf_completer(build_schema(load_settings())._schema.type_map["DateTime"])  # type: ignore[arg-type]
    rows.append(("DateTime value completed", best_sync_us(lambda: complete(now), 100_000)))
    rows.append(("datetime.isoformat() alone", best_sync_us(now.isoformat, 100_000)))


def completion_pieces(rows: list[tuple[str, float]]) -> None:
    """The fast path alone: a page of 20 items of the fast-path tests' schema, every
    scalar selected, run from one parsed document (as the parse cache hands it over)."""
    from tests.fast_path_world import FAST, connection, item, world  # noqa: PLC0415

    due = datetime.now(UTC)
    items = [item(id=f"i{n}", title=f"t{n}", note="n", due=due) for n in range(20)]
    root = world(connection=connection(*items))
    selection = (
        "{ connection { edges { node { id title note done rank score color price tags due } } "
        "pageInfo { hasNextPage } } }"
    )
    for name, document, variables in (
        ("20-item page completed, no variables", parse(selection), None),
        ("20-item page completed, with variables", parse(f"query($n: Int) {selection}"), {"n": 1}),
    ):

        def run(document: DocumentNode = document, variables: Any = variables) -> object:
            return execute(
                FAST._schema,
                document,
                root_value=root,
                variable_values=variables,
                executor_class=PlainFieldExecutionContext,
            )

        rows.append((name, best_sync_us(run, 2_000)))


def alias_pieces(rows: list[tuple[str, float]]) -> None:
    """A new document every run: 15 aliases of one object, each with its fields shuffled
    (15 new shapes), through the fast path (compile budget, then closures) and the stock
    path; parsing and validation included in both."""
    from tests.fast_path_world import FAST as FAST_SCHEMA  # noqa: PLC0415
    from tests.fast_path_world import STOCK  # noqa: PLC0415
    from tests.fast_path_world import world as world_of  # noqa: PLC0415
    from tests.test_compile_budget import shuffled_aliases  # noqa: PLC0415

    seeds = iter(range(10**9))
    for name, schema in (("fast path", FAST_SCHEMA), ("stock path", STOCK)):

        def run(schema: Any = schema) -> object:
            return schema.execute_sync(shuffled_aliases(next(seeds)), root_value=world_of())

        rows.append((f"15 shuffled aliases, new document: {name}", best_sync_us(run, 200)))


async def main(dsn: str) -> None:  # noqa: RET503
    _environment(dsn)
    rows: list[tuple[str, float]] = []
    await requests_in_process(rows)
    if os.environ.get("WORKLOADS"):
        return _print(rows)
    await database_pieces(dsn, rows)
    python_pieces(rows)
    completion_pieces(rows)
    alias_pieces(rows)
    fast, stock = rows[-2][1], rows[-1][1]
    tracing_off = tracing_off_us()
    rows.append(("tracing off: what one operation pays for it", tracing_off))
    _print(rows)
    print(f"15 shuffled aliases: fast / stock = {fast / stock:.2f} (target <= 2)")  # noqa: T201
    print(  # noqa: T201
        f"tracing off: {100 * tracing_off / rows[0][1]:.2f}% of a W1 request (target <= 2%)"
    )


def tracing_off_us() -> float:
    """What an operation pays for tracing when it is off (no OTEL_* variable, the default):
    web/graphql.py's operation span and its ending, with no tracer. Nothing else is
    installed when tracing is off (no ASGI middleware, no engine instrumentation)."""

    def operation() -> None:
        with operation_span(None, "query", None) as span:
            pass
        end_operation(span, [])

    return best_sync_us(operation, 100_000)


def _print(rows: list[tuple[str, float]]) -> None:
    print(f"{'what':45} {'CPU us':>9}")  # noqa: T201
    for name, microseconds in rows:
        print(f"{name:45} {microseconds:9.2f}")  # noqa: T201


if __name__ == "__main__":
    arguments = sys.argv[1:]
    dsn = arguments[0] if arguments else DEFAULT_DSN
    uvloop.run(main(dsn.replace("postgresql://", "postgresql+asyncpg://")))
