"""Record what an engine does inside a block, hooked on SQLAlchemy's events.

from tests.statement_counter import count_statements, pool_traffic
with count_statements(engine) as statements, pool_traffic(engine) as traffic:
    await graphql(client, QUERY, token=token)
assert len(statements) == 7
assert traffic == ["out", "in"]   # one pooled connection, taken and given back
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def _listening(engine: AsyncEngine, hooks: dict[str, Callable[..., None]]) -> Iterator[None]:
    for name, hook in hooks.items():
        event.listen(engine.sync_engine, name, hook)
    try:
        yield
    finally:
        for name, hook in hooks.items():
            event.remove(engine.sync_engine, name, hook)


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Yield a list that collects every statement `engine` executes inside the block."""
    statements: list[str] = []

    def record(
        _connection: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        statements.append(statement)

    with _listening(engine, {"before_cursor_execute": record}):
        yield statements


@contextmanager
def pool_traffic(engine: AsyncEngine) -> Iterator[list[str]]:
    """Yield a list with "out" for each connection the pool hands out inside the block,
    and "in" for each it takes back."""
    traffic: list[str] = []

    def checked_out(*_: object) -> None:
        traffic.append("out")

    def checked_in(*_: object) -> None:
        traffic.append("in")

    with _listening(engine, {"checkout": checked_out, "checkin": checked_in}):
        yield traffic
