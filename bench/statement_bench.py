"""CPU cost of `db.tasks.task_page` per call: page 1, and the page after its last row.

    uv run python -m bench.statement_bench [DSN]   (default: the seeded taskql_bench database)

Each call opens its own autocommit session, as a request does. Prints the
minimum over BATCHES batches of CALLS calls of the process CPU time per call (the
database server's time is not counted). To compare with another version of
`db/`, run the same file from a copy of that tree (e.g. `git archive HEAD`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy.ext.asyncio import create_async_engine

from db.engine import create_session_factory
from db.pagination import Ordering, Page, PageRequest, Position
from db.tasks import TaskFilter, TaskRow, task_page

DEFAULT_DSN = "postgresql+asyncpg://postgres@127.0.0.1:5432/taskql_bench"
OWNER_ID = 1
PAGE_SIZE = 20
CALLS = int(os.environ.get("CALLS", "200"))
BATCHES = int(os.environ.get("BATCHES", "7"))


async def cpu_ms_per_call(call: Callable[[], Awaitable[object]]) -> float:
    for _ in range(CALLS // 4):
        await call()
    best = float("inf")
    for _ in range(BATCHES):
        started = time.process_time()
        for _ in range(CALLS):
            await call()
        best = min(best, (time.process_time() - started) * 1000 / CALLS)
    return best


async def main(dsn: str) -> None:
    engine = create_async_engine(dsn)
    sessions = create_session_factory(engine, autocommit=True)
    ordering = Ordering()
    no_filter = TaskFilter()

    async def page(request: PageRequest) -> Page[TaskRow]:
        async with sessions() as session:
            return await task_page(
                session, owner_id=OWNER_ID, task_filter=no_filter, request=request
            )

    first = PageRequest(ordering, PAGE_SIZE)
    try:
        last_row = (await page(first)).rows[-1]
        after = PageRequest(ordering, PAGE_SIZE, after=Position(last_row.created_at, last_row.id))
        for name, request in (("page 1", first), ("after cursor", after)):
            cpu_ms = await cpu_ms_per_call(partial(page, request))
            print(f"{name:>12}: {cpu_ms:.3f} ms CPU per call")  # noqa: T201
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DSN))
