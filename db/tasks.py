"""Reading tasks: every function takes the owner's id and never returns another user's row.

Rows are plain column tuples (`TaskRow`), not ORM objects: a page of tasks is
read on every request, and building identity-mapped instances for it costs more
than the query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Row, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Task, TaskTag
from db.pagination import (
    Page,
    PageRequest,
    fetch_ordering,
    order_clauses,
    outside_conditions,
    page_from_rows,
    window_conditions,
)

TaskRow: TypeAlias = Row[*tuple[Any, ...]]
TASK_COLUMNS = (
    Task.id,
    Task.owner_id,
    Task.parent_id,
    Task.title,
    Task.description,
    Task.completed,
    Task.completed_at,
    Task.priority,
    Task.due_at,
    Task.created_at,
    Task.updated_at,
)
LIKE_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Validated filter values; `tags` are normalised and `parent_id` is a primary key."""

    completed: bool | None = None
    search: str | None = None
    tags: tuple[str, ...] = ()
    due_before: datetime | None = None
    due_after: datetime | None = None
    parent_id: int | None = None
    top_level: bool | None = None


def escape_like(term: str) -> str:
    """`term` as a LIKE pattern that matches it literally, `%`, `_` and `\\` included."""
    escaped = term.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_conditions(owner_id: int, task_filter: TaskFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Task.owner_id == owner_id]
    if task_filter.completed is not None:
        conditions.append(Task.completed.is_(task_filter.completed))
    if task_filter.search:
        pattern = escape_like(task_filter.search)
        conditions.append(
            or_(
                Task.title.ilike(pattern, escape=LIKE_ESCAPE),
                Task.description.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    conditions.extend(
        exists().where(TaskTag.owner_id == owner_id, TaskTag.task_id == Task.id, TaskTag.tag == tag)
        for tag in task_filter.tags
    )
    if task_filter.due_before is not None:
        conditions.append(Task.due_at < task_filter.due_before)
    if task_filter.due_after is not None:
        conditions.append(Task.due_at >= task_filter.due_after)
    if task_filter.parent_id is not None:
        conditions.append(Task.parent_id == task_filter.parent_id)
    if task_filter.top_level is True:
        conditions.append(Task.parent_id.is_(None))
    elif task_filter.top_level is False:
        conditions.append(Task.parent_id.is_not(None))
    return conditions


def _page_statement(
    conditions: list[ColumnElement[bool]], request: PageRequest
) -> Select[*tuple[Any, ...]]:
    return (
        select(*TASK_COLUMNS)
        .where(*conditions, *window_conditions(request))
        .order_by(*order_clauses(fetch_ordering(request)))
        .limit(request.limit + 1)
    )


async def task_page(
    session: AsyncSession, *, owner_id: int, task_filter: TaskFilter, request: PageRequest
) -> Page[TaskRow]:
    """One page of the owner's tasks, in one statement.

    With a cursor, whether rows lie beyond it on the other side rides along as
    an uncorrelated subquery column, which both databases evaluate once; only an
    empty page needs it asked separately.
    """
    conditions = filter_conditions(owner_id, task_filter)
    statement = _page_statement(conditions, request)
    outside = outside_conditions(request)
    if outside is None:
        return page_from_rows(request, (await session.execute(statement)).all(), outside=False)
    # A scalar subquery, not EXISTS: PostgreSQL drops ORDER BY and LIMIT inside
    # EXISTS and may then scan the table; ordered and limited, it walks the index
    # from the cursor and stops at the first row.
    nearest_outside = (
        select(Task.id)
        .where(*conditions, outside)
        .order_by(*order_clauses(fetch_ordering(request).reversed()))
        .limit(1)
        .correlate(None)
        .scalar_subquery()
    )
    rows = (await session.execute(statement.add_columns(nearest_outside.label("beyond")))).all()
    beyond = rows[0].beyond if rows else await session.scalar(select(nearest_outside))
    return page_from_rows(request, rows, outside=beyond is not None)


async def count_tasks(session: AsyncSession, *, owner_id: int, task_filter: TaskFilter) -> int:
    conditions = filter_conditions(owner_id, task_filter)
    return int(await session.scalar(select(func.count()).where(*conditions)) or 0)


async def tasks_by_ids(
    session: AsyncSession, *, owner_id: int, ids: Sequence[int]
) -> list[TaskRow | None]:
    result = await session.execute(
        select(*TASK_COLUMNS).where(Task.owner_id == owner_id, Task.id.in_(ids))
    )
    by_id = {row.id: row for row in result}
    return [by_id.get(task_id) for task_id in ids]


async def tags_by_task_ids(
    session: AsyncSession, *, owner_id: int, task_ids: Sequence[int]
) -> list[list[str]]:
    """Each task's tags in alphabetical order, in the order of `task_ids`."""
    result = await session.execute(
        select(TaskTag.task_id, TaskTag.tag)
        .where(TaskTag.owner_id == owner_id, TaskTag.task_id.in_(task_ids))
        .order_by(TaskTag.task_id, TaskTag.tag)
    )
    tags: defaultdict[int, list[str]] = defaultdict(list)
    for task_id, tag in result:
        tags[task_id].append(tag)
    return [tags.get(task_id, []) for task_id in task_ids]


async def subtask_pages(
    session: AsyncSession, *, owner_id: int, parent_ids: Sequence[int], request: PageRequest
) -> list[Page[TaskRow]]:
    """The same page of subtasks for many parents in one statement (a window per parent)."""
    conditions = [Task.owner_id == owner_id, Task.parent_id.in_(parent_ids)]
    ranked = (
        select(
            *TASK_COLUMNS,
            func.row_number()
            .over(partition_by=Task.parent_id, order_by=order_clauses(fetch_ordering(request)))
            .label("rank"),
        )
        .where(*conditions, *window_conditions(request))
        .subquery()
    )
    result = await session.execute(
        select(*(ranked.c[column.key] for column in TASK_COLUMNS))
        .where(ranked.c.rank <= request.limit + 1)
        .order_by(ranked.c.parent_id, ranked.c.rank)
    )
    rows: defaultdict[int, list[TaskRow]] = defaultdict(list)
    for row in result:
        rows[row.parent_id].append(row)
    with_rows_outside: set[int] = set()
    outside = outside_conditions(request)
    if outside is not None:
        with_rows_outside = set(
            await session.scalars(
                select(Task.parent_id).where(*conditions, outside).group_by(Task.parent_id)
            )
        )
    return [
        page_from_rows(request, rows.get(parent_id, []), outside=parent_id in with_rows_outside)
        for parent_id in parent_ids
    ]


async def subtask_counts(
    session: AsyncSession, *, owner_id: int, parent_ids: Sequence[int]
) -> list[int]:
    result = await session.execute(
        select(Task.parent_id, func.count())
        .where(Task.owner_id == owner_id, Task.parent_id.in_(parent_ids))
        .group_by(Task.parent_id)
    )
    counts: dict[int | None, int] = dict(result.all())
    return [counts.get(parent_id, 0) for parent_id in parent_ids]


async def is_self_or_ancestor(
    session: AsyncSession, *, owner_id: int, task_id: int, of_task_id: int
) -> bool:
    """Whether `task_id` is `of_task_id` or one of its ancestors (walks up with a recursive CTE).

    UNION (not UNION ALL) stops the walk even on a cycle, which the schema
    forbids but a crashed writer must not turn into an endless query.
    """
    chain = (
        select(Task.id, Task.parent_id)
        .where(Task.owner_id == owner_id, Task.id == of_task_id)
        .cte("chain", recursive=True)
    )
    chain = chain.union(
        select(Task.id, Task.parent_id).where(
            Task.owner_id == owner_id, Task.id == chain.c.parent_id
        )
    )
    found = await session.scalar(select(exists().where(chain.c.id == task_id)))
    return bool(found)
