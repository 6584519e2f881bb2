"""Reading tasks: every function takes the owner's id and never returns another user's row.

Rows are named tuples (`TaskRow`), not ORM objects: a page of tasks is read on
every request, and building identity-mapped instances for it costs more than the
query. A page or a batch of subtask pages can read each task's tags and parent in
the same statement (`Along`), so a nested page costs one statement per level of
connections, not one per relation. For the same reason the statements are plain Core selects, run
on the request's read connection, and each is built once per shape (which filters,
which ordering, which cursors) with the values as bound parameters: building a
statement and its cache key on every request cost more than executing it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, any_, bindparam, exists, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import aliased

from db.driver import fetch_all
from db.models import Task, TaskTag
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


class TaskRow(NamedTuple):
    """A task's columns, by name. Built from a record by position here in db/ only
    (`task_row`), in TASK_COLUMNS order; everything outside reads fields by name."""

    id: int
    owner_id: int
    parent_id: int | None
    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    priority: int
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime


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
assert tuple(column.key for column in TASK_COLUMNS) == TaskRow._fields
TASK_WIDTH = len(TASK_COLUMNS)
_make_row = TaskRow._make


def task_row(record: Sequence[Any]) -> TaskRow:
    """The TaskRow of a record whose first columns are TASK_COLUMNS (a statement may add more)."""
    return _make_row(record[:TASK_WIDTH])


@dataclass(frozen=True, slots=True)
class Along:
    """What a task statement reads along with each task, so that no statement of its own
    is needed for it: the task's tags, and its parent's row."""

    tags: bool = False
    parent: bool = False


NOTHING_ALONG = Along()


@dataclass(slots=True)
class Related:
    """What was read along with some tasks: tags by task id, parent rows by parent id."""

    tags: dict[int, list[str]] = field(default_factory=dict)
    parents: dict[int, TaskRow | None] = field(default_factory=dict)


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


@dataclass(frozen=True, slots=True)
class _FilterShape:
    """What of a `TaskFilter` changes the SQL text; the values are in `_filter_params`."""

    completed: bool | None
    search: bool
    tags: int
    due_before: bool
    due_after: bool
    parent_id: bool
    top_level: bool | None

    @classmethod
    def of(cls, task_filter: TaskFilter) -> _FilterShape:
        return cls(
            completed=task_filter.completed,
            search=bool(task_filter.search),
            tags=len(task_filter.tags),
            due_before=task_filter.due_before is not None,
            due_after=task_filter.due_after is not None,
            parent_id=task_filter.parent_id is not None,
            top_level=task_filter.top_level,
        )


_OWNER = bindparam("owner_id", type_=Task.owner_id.type)
_IDS = bindparam("ids", type_=Task.id.type, expanding=True)


def escape_like(term: str) -> str:
    """`term` as a LIKE pattern that matches it literally, `%`, `_` and `\\` included."""
    escaped = term.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filter_conditions(shape: _FilterShape) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Task.owner_id == _OWNER]
    if shape.completed is not None:
        conditions.append(Task.completed.is_(shape.completed))
    if shape.search:
        pattern = bindparam("pattern", type_=Task.title.type)
        conditions.append(
            or_(
                Task.title.ilike(pattern, escape=LIKE_ESCAPE),
                Task.description.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    conditions.extend(
        exists().where(
            TaskTag.owner_id == _OWNER,
            TaskTag.task_id == Task.id,
            TaskTag.tag == bindparam(f"tag_{index}", type_=TaskTag.tag.type),
        )
        for index in range(shape.tags)
    )
    if shape.due_before:
        conditions.append(Task.due_at < bindparam("due_before", type_=Task.due_at.type))
    if shape.due_after:
        conditions.append(Task.due_at >= bindparam("due_after", type_=Task.due_at.type))
    if shape.parent_id:
        conditions.append(Task.parent_id == bindparam("parent_id", type_=Task.parent_id.type))
    if shape.top_level is True:
        conditions.append(Task.parent_id.is_(None))
    elif shape.top_level is False:
        conditions.append(Task.parent_id.is_not(None))
    return conditions


def _filter_params(owner_id: int, task_filter: TaskFilter) -> dict[str, Any]:
    """The bound values of `_filter_conditions(_FilterShape.of(task_filter))`."""
    params: dict[str, Any] = {"owner_id": owner_id}
    if task_filter.search:
        params["pattern"] = escape_like(task_filter.search)
    params.update((f"tag_{index}", tag) for index, tag in enumerate(task_filter.tags))
    if task_filter.due_before is not None:
        params["due_before"] = task_filter.due_before
    if task_filter.due_after is not None:
        params["due_after"] = task_filter.due_after
    if task_filter.parent_id is not None:
        params["parent_id"] = task_filter.parent_id
    return params


TAG_SEPARATOR = "\x1f"
"""Joins a task's tags on SQLite, which has no arrays: tags never hold control characters."""
POSTGRESQL = "postgresql"


def _tags_column(dialect: str, task: Any = Task) -> ColumnElement[Any]:
    """Each task's tags as one value: an ordered array on PostgreSQL, NULL when untagged;
    on SQLite the tags joined by TAG_SEPARATOR, in no particular order (see _tag_list)."""
    owned = (TaskTag.owner_id == _OWNER, TaskTag.task_id == task.id)
    if dialect == POSTGRESQL:
        tags = select(func.array_agg(aggregate_order_by(TaskTag.tag, TaskTag.tag)))
    else:
        tags = select(func.group_concat(TaskTag.tag, TAG_SEPARATOR))
    return tags.where(*owned).scalar_subquery().label("tags")


def _tag_list(value: Any) -> list[str]:
    """The tags column's value as the alphabetical list TaskTag order gives elsewhere."""
    if value is None:
        return []
    if isinstance(value, str):  # SQLite: binary order, as its ORDER BY tag would sort them
        return sorted(value.split(TAG_SEPARATOR))
    return list(value)


class _Layout(NamedTuple):
    """Where a statement's columns sit: the task's, then the tags, then the parent's."""

    tags: int | None
    parent: int | None

    @classmethod
    def of(cls, along: Along) -> _Layout:
        tags = TASK_WIDTH if along.tags else None
        parent = TASK_WIDTH + (1 if along.tags else 0) if along.parent else None
        return cls(tags, parent)

    def collect(self, record: Sequence[Any], related: Related) -> TaskRow:
        """The task of `record`, and what was read along with it into `related`."""
        row = _make_row(record[:TASK_WIDTH])
        if self.tags is not None:
            related.tags[row.id] = _tag_list(record[self.tags])
        if self.parent is not None and row.parent_id is not None:
            parent = record[self.parent : self.parent + TASK_WIDTH]
            related.parents[row.parent_id] = None if parent[0] is None else _make_row(parent)
        return row


# Shapes are bounded (at most 20 tags, five sort fields), but their product is
# not small; the caches keep the shapes in use.
@lru_cache(maxsize=256)
def _page_statements(
    filter_shape: _FilterShape,
    page_shape: PageShape,
    along: Along = NOTHING_ALONG,
    dialect: str = "",
) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]] | None]:
    """A page's statement and, with a cursor, the probe beyond it on its own (for an empty page)."""
    conditions = _filter_conditions(filter_shape)
    columns: list[Any] = [*TASK_COLUMNS]
    if along.tags:
        columns.append(_tags_column(dialect))
    statement = select(*columns)
    if along.parent:
        parent = aliased(Task, name="parent")
        columns = [getattr(parent, column.key) for column in TASK_COLUMNS]
        joined = and_(parent.id == Task.parent_id, parent.owner_id == _OWNER)
        statement = statement.add_columns(*columns).select_from(Task).outerjoin(parent, joined)
    statement = (
        statement.where(*conditions, *window_conditions(page_shape))
        .order_by(*order_clauses(fetch_ordering(page_shape)))
        .limit(LIMIT)
    )
    outside = outside_conditions(page_shape)
    if outside is None:
        return statement, None
    # A scalar subquery, not EXISTS: PostgreSQL drops ORDER BY and LIMIT inside
    # EXISTS and may then scan the table; ordered and limited, it walks the index
    # from the cursor and stops at the first row.
    nearest_outside = (
        select(Task.id)
        .where(*conditions, outside)
        .order_by(*order_clauses(fetch_ordering(page_shape).reversed()))
        .limit(1)
        .correlate(None)
        .scalar_subquery()
    )
    return statement.add_columns(nearest_outside.label("beyond")), select(nearest_outside)


async def task_page(
    reads: Reads,
    *,
    owner_id: int,
    task_filter: TaskFilter,
    request: PageRequest,
    along: Along = NOTHING_ALONG,
) -> tuple[Page[TaskRow], Related]:
    """One page of the owner's tasks, and what `along` asks to read with them, in one statement.

    With a cursor, whether rows lie beyond it on the other side rides along as
    an uncorrelated subquery column, which both databases evaluate once; only an
    empty page needs it asked separately.
    """
    connection = await reads.connection()
    statement, probe = _page_statements(
        _FilterShape.of(task_filter), PageShape.of(request), along, connection.dialect.name
    )
    params = _filter_params(owner_id, task_filter) | page_params(request)
    records = await fetch_all(connection, statement, params)
    layout, related = _Layout.of(along), Related()
    rows = [layout.collect(record, related) for record in records]
    if probe is None:
        return page_from_rows(request, rows, outside=False), related
    beyond = records[0][-1] if records else await connection.scalar(probe, params)
    return page_from_rows(request, rows, outside=beyond is not None), related


@lru_cache(maxsize=64)
def _count_statement(filter_shape: _FilterShape) -> Select[int]:
    return select(func.count()).where(*_filter_conditions(filter_shape))


async def count_tasks(reads: Reads, *, owner_id: int, task_filter: TaskFilter) -> int:
    connection = await reads.connection()
    statement = _count_statement(_FilterShape.of(task_filter))
    return int(await connection.scalar(statement, _filter_params(owner_id, task_filter)) or 0)


_TASKS_BY_IDS = select(*TASK_COLUMNS).where(Task.owner_id == _OWNER, Task.id.in_(_IDS))


async def tasks_by_ids(reads: Reads, *, owner_id: int, ids: Sequence[int]) -> list[TaskRow | None]:
    connection = await reads.connection()
    result = await connection.execute(_TASKS_BY_IDS, {"owner_id": owner_id, "ids": list(ids)})
    by_id = {row.id: row for row in map(task_row, result)}
    return [by_id.get(task_id) for task_id in ids]


_TAGS_BY_TASK_IDS = (
    select(TaskTag.task_id, TaskTag.tag)
    .where(TaskTag.owner_id == _OWNER, TaskTag.task_id.in_(_IDS))
    .order_by(TaskTag.task_id, TaskTag.tag)
)


async def tags_by_task_ids(
    reads: Reads, *, owner_id: int, task_ids: Sequence[int]
) -> list[list[str]]:
    """Each task's tags in alphabetical order, in the order of `task_ids`."""
    connection = await reads.connection()
    result = await connection.execute(
        _TAGS_BY_TASK_IDS, {"owner_id": owner_id, "ids": list(task_ids)}
    )
    tags: defaultdict[int, list[str]] = defaultdict(list)
    for task_id, tag in result:
        tags[task_id].append(tag)
    return [tags.get(task_id, []) for task_id in task_ids]


_OWNED_CHILDREN = (Task.owner_id == _OWNER, Task.parent_id.in_(_IDS))


def _owned_children(dialect: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The owner's tasks under any of the parents `ids`: on PostgreSQL `= ANY(array)`, one
    parameter whatever the number of ids, so that the statement runs on the driver."""
    if dialect != POSTGRESQL:
        return _OWNED_CHILDREN
    ids = bindparam("ids", type_=ARRAY(Task.id.type))
    return Task.owner_id == _OWNER, Task.parent_id == any_(ids)


@lru_cache(maxsize=64)
def _subtask_statements(
    page_shape: PageShape, along: Along = NOTHING_ALONG, dialect: str = ""
) -> tuple[Select[*tuple[Any, ...]], Select[int | None] | None]:
    """The subtask pages' window statement and, with a cursor, the parents with rows beyond it."""
    owned_children = _owned_children(dialect)
    extra = [_tags_column(dialect)] if along.tags else []
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
    layout, related = _Layout.of(along), Related()
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
        .where(Task.owner_id == _OWNER, Task.id == bindparam("of_task_id", type_=Task.id.type))
        .cte("chain", recursive=True)
    )
    chain = chain.union(
        select(Task.id, Task.parent_id).where(Task.owner_id == _OWNER, Task.id == chain.c.parent_id)
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
