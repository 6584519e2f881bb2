"""Reading tasks: every function takes the owner's id and never returns another user's row.

Rows are `TaskRow`s (`db/task_rows.py`). The statements are plain Core selects, run
on the request's read connection, and each is built once per shape (which filters,
which ordering, which cursors, what is read along) with the values as bound
parameters: building a statement and its cache key on every request cost more than
executing it. Subtasks are read in `db/subtasks.py`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import aliased, join

from db.driver import fetch_all
from db.models import Task, TaskTag, User
from db.pagination import (
    LIMIT,
    Page,
    PageRequest,
    PageShape,
    RowT,
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
    task_row,
)
from db.users import USER_COLUMNS

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


def escape_like(term: str) -> str:
    """`term` as a LIKE pattern that matches it literally, `%`, `_` and `\\` included."""
    escaped = term.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filter_conditions(shape: _FilterShape) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Task.owner_id == OWNER]
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
            TaskTag.owner_id == OWNER,
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


# Shapes are bounded (at most 20 tags, five sort fields), but their product is
# not small; the caches keep the shapes in use.
@lru_cache(maxsize=256)
def _page_statements(
    filter_shape: _FilterShape,
    page_shape: PageShape,
    along: Along = NOTHING_ALONG,
    dialect: str = "",
    edge_json: str | None = None,
) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]] | None]:
    """A page's statement and, with a cursor, the probe beyond it on its own (for an empty page).

    With `edge_json` (SQL from db/task_json.py) the statement reads that one column per
    task instead of the task's columns and what `along` asks for."""
    conditions = _filter_conditions(filter_shape)
    columns: list[Any] = [*TASK_COLUMNS]
    if edge_json is not None:
        columns, along = [literal_column(edge_json, Text).label("edge")], NOTHING_ALONG
    if along.tags:
        columns.append(tags_column(dialect))
    tables: Any = Task
    if along.parent:
        parent = aliased(Task, name="parent")
        columns += [getattr(parent, column.key) for column in TASK_COLUMNS]
        joined = and_(parent.id == Task.parent_id, parent.owner_id == OWNER)
        tables = join(tables, parent, joined, isouter=True)
    if along.owner:
        columns += USER_COLUMNS
        tables = join(tables, User, User.id == Task.owner_id)
    statement = select(*columns).select_from(tables)
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
    layout, related = Layout.of(along), Related()
    page = await _page(
        reads,
        owner_id,
        task_filter,
        request,
        along,
        None,
        lambda record: layout.collect(record, related),
    )
    return page, related


async def task_page_json(
    reads: Reads, *, owner_id: int, task_filter: TaskFilter, request: PageRequest, edge_json: str
) -> Page[str] | None:
    """`task_page` with each task as the JSON text of an edge (`db.task_json.edge_json`);
    None on a database other than PostgreSQL."""
    if (await reads.connection()).dialect.name != POSTGRESQL:
        return None
    return await _page(
        reads, owner_id, task_filter, request, NOTHING_ALONG, edge_json, itemgetter(0)
    )


async def _page(  # noqa: PLR0917
    reads: Reads,
    owner_id: int,
    task_filter: TaskFilter,
    request: PageRequest,
    along: Along,
    edge_json: str | None,
    row_of: Callable[[Any], RowT],
) -> Page[RowT]:
    connection = await reads.connection()
    statement, probe = _page_statements(
        _FilterShape.of(task_filter),
        PageShape.of(request),
        along,
        connection.dialect.name,
        edge_json,
    )
    params = _filter_params(owner_id, task_filter) | page_params(request)
    records = await fetch_all(connection, statement, params)
    rows = [row_of(record) for record in records]
    if probe is None:
        return page_from_rows(request, rows, outside=False)
    beyond = records[0][-1] if records else await connection.scalar(probe, params)
    return page_from_rows(request, rows, outside=beyond is not None)


@lru_cache(maxsize=64)
def _count_statement(filter_shape: _FilterShape) -> Select[int]:
    return select(func.count()).where(*_filter_conditions(filter_shape))


async def count_tasks(reads: Reads, *, owner_id: int, task_filter: TaskFilter) -> int:
    connection = await reads.connection()
    statement = _count_statement(_FilterShape.of(task_filter))
    return int(await connection.scalar(statement, _filter_params(owner_id, task_filter)) or 0)


_TASKS_BY_IDS = select(*TASK_COLUMNS).where(Task.owner_id == OWNER, Task.id.in_(IDS))


async def tasks_by_ids(reads: Reads, *, owner_id: int, ids: Sequence[int]) -> list[TaskRow | None]:
    connection = await reads.connection()
    result = await connection.execute(_TASKS_BY_IDS, {"owner_id": owner_id, "ids": list(ids)})
    by_id = {row.id: row for row in map(task_row, result)}
    return [by_id.get(task_id) for task_id in ids]


_TAGS_BY_TASK_IDS = (
    select(TaskTag.task_id, TaskTag.tag)
    .where(TaskTag.owner_id == OWNER, TaskTag.task_id.in_(IDS))
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
