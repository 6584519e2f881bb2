"""Reading subtasks: pages of many parents' subtasks at once, their counts, ancestry.

Every function takes the owner's id and never returns another user's row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, any_, bindparam, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from db.driver import fetch_all
from db.models import Task
from db.pagination import (
    LIMIT,
    Page,
    PageRequest,
    PageShape,
    fetch_ordering,
    order_clauses,
    outside_conditions,
    page_from_rows,
    page_params,
    window_conditions,
)
from db.request import Reads
from db.task_rows import (
    IDS,
    NOTHING_ALONG,
    OWNER,
    POSTGRESQL,
    TASK_COLUMNS,
    Along,
    Layout,
    Related,
    TaskRow,
    tags_column,
)

_OWNED_CHILDREN = (Task.owner_id == OWNER, Task.parent_id.in_(IDS))


def _owned_children(dialect: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The owner's tasks under any of the parents `ids`: on PostgreSQL `= ANY(array)`, one
    parameter whatever the number of ids, so that the statement runs on the driver."""
    if dialect != POSTGRESQL:
        return _OWNED_CHILDREN
    ids = bindparam("ids", type_=ARRAY(Task.id.type))
    return Task.owner_id == OWNER, Task.parent_id == any_(ids)


@lru_cache(maxsize=64)
def _subtask_statements(
    page_shape: PageShape, along: Along = NOTHING_ALONG, dialect: str = ""
) -> tuple[Select[*tuple[Any, ...]], Select[int | None] | None]:
    """The subtask pages' window statement and, with a cursor, the parents with rows beyond it."""
    owned_children = _owned_children(dialect)
    extra = [tags_column(dialect)] if along.tags else []
    ranked = (
        select(
            *TASK_COLUMNS,
            *extra,
            func.row_number()
            .over(partition_by=Task.parent_id, order_by=order_clauses(fetch_ordering(page_shape)))
            .label("rank"),
        )
        .where(*owned_children, *window_conditions(page_shape))
        .subquery()
    )
    statement = (
        select(*(ranked.c[column.key] for column in TASK_COLUMNS), *(ranked.c.tags for _ in extra))
        .where(ranked.c.rank <= LIMIT)
        .order_by(ranked.c.parent_id, ranked.c.rank)
    )
    outside = outside_conditions(page_shape)
    if outside is None:
        return statement, None
    return statement, select(Task.parent_id).where(*owned_children, outside).group_by(
        Task.parent_id
    )


async def subtask_pages(
    reads: Reads,
    *,
    owner_id: int,
    parent_ids: Sequence[int],
    request: PageRequest,
    along: Along = NOTHING_ALONG,
) -> tuple[list[Page[TaskRow]], Related]:
    """The same page of subtasks for many parents in one statement (a window per parent),
    with each subtask's tags when `along` asks for them (parents are never read along)."""
    connection = await reads.connection()
    along = Along(tags=along.tags)
    statement, parents_with_rows_outside = _subtask_statements(
        PageShape.of(request), along, connection.dialect.name
    )
    params = {"owner_id": owner_id, "ids": list(parent_ids), **page_params(request)}
    layout, related = Layout.of(along), Related()
    rows: defaultdict[int | None, list[TaskRow]] = defaultdict(list)
    for record in await fetch_all(connection, statement, params):
        row = layout.collect(record, related)
        rows[row.parent_id].append(row)
    with_rows_outside: set[int | None] = set()
    if parents_with_rows_outside is not None:
        with_rows_outside = set(await connection.scalars(parents_with_rows_outside, params))
    pages = [
        page_from_rows(request, rows.get(parent_id, []), outside=parent_id in with_rows_outside)
        for parent_id in parent_ids
    ]
    return pages, related


_SUBTASK_COUNTS = (
    select(Task.parent_id, func.count()).where(*_OWNED_CHILDREN).group_by(Task.parent_id)
)


async def subtask_counts(reads: Reads, *, owner_id: int, parent_ids: Sequence[int]) -> list[int]:
    connection = await reads.connection()
    result = await connection.execute(
        _SUBTASK_COUNTS, {"owner_id": owner_id, "ids": list(parent_ids)}
    )
    counts: dict[int | None, int] = dict(result.all())
    return [counts.get(parent_id, 0) for parent_id in parent_ids]


def _self_or_ancestor_statement() -> Select[bool]:
    """UNION (not UNION ALL) stops the walk even on a cycle, which the schema
    forbids but a crashed writer must not turn into an endless query."""
    chain = (
        select(Task.id, Task.parent_id)
        .where(Task.owner_id == OWNER, Task.id == bindparam("of_task_id", type_=Task.id.type))
        .cte("chain", recursive=True)
    )
    chain = chain.union(
        select(Task.id, Task.parent_id).where(Task.owner_id == OWNER, Task.id == chain.c.parent_id)
    )
    return select(exists().where(chain.c.id == bindparam("task_id", type_=Task.id.type)))


_SELF_OR_ANCESTOR = _self_or_ancestor_statement()


async def is_self_or_ancestor(
    reads: Reads, *, owner_id: int, task_id: int, of_task_id: int
) -> bool:
    """Whether `task_id` is `of_task_id` or one of its ancestors (walks up with a recursive CTE)."""
    connection = await reads.connection()
    found = await connection.scalar(
        _SELF_OR_ANCESTOR, {"owner_id": owner_id, "task_id": task_id, "of_task_id": of_task_id}
    )
    return bool(found)
