"""A task as db/ hands it out (`TaskRow`), and what a statement can read along with it.

Rows are named tuples, not ORM objects: a page of tasks is read on every request,
and building identity-mapped instances for it costs more than the query. Built from
a record by position here only; everything outside db/ reads fields by name.

A page or a batch of subtask pages can read each task's tags and parent in the same
statement (`Along`), so that a nested page costs one statement per level of
connections, not one per relation; what was read along comes back as `Related`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from db.models import Task, TaskTag
from db.users import USER_COLUMNS, UserRow


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


make_row = TaskRow._make


def task_row(record: Sequence[Any]) -> TaskRow:
    """The TaskRow of a record whose first columns are TASK_COLUMNS (a statement may add more)."""
    return make_row(record[:TASK_WIDTH])


@dataclass(frozen=True, slots=True)
class Along:
    """What a task statement reads along with each task, so that no statement of its own
    is needed for it: the task's tags, its parent's row, its owner's row."""

    tags: bool = False
    parent: bool = False
    owner: bool = False


NOTHING_ALONG = Along()


@dataclass(slots=True)
class Related:
    """What was read along with some tasks: tags by task id, parent rows by parent id."""

    tags: dict[int, list[str]] = field(default_factory=dict)
    parents: dict[int, TaskRow | None] = field(default_factory=dict)
    owner: UserRow | None = None
    """The tasks' owner (a statement reads one owner's tasks)."""


OWNER = bindparam("owner_id", type_=Task.owner_id.type)


IDS = bindparam("ids", type_=Task.id.type, expanding=True)


TAG_SEPARATOR = "\x1f"
"""Joins a task's tags on SQLite, which has no arrays: tags never hold control characters."""


POSTGRESQL = "postgresql"


def tags_column(dialect: str, task: Any = Task) -> ColumnElement[Any]:
    """Each task's tags as one value: an ordered array on PostgreSQL, NULL when untagged;
    on SQLite the tags joined by TAG_SEPARATOR, in no particular order (see _tag_list)."""
    owned = (TaskTag.owner_id == OWNER, TaskTag.task_id == task.id)
    if dialect == POSTGRESQL:
        tags = select(func.array_agg(aggregate_order_by(TaskTag.tag, TaskTag.tag)))
    else:
        tags = select(func.group_concat(TaskTag.tag, TAG_SEPARATOR))
    return tags.where(*owned).scalar_subquery().label("tags")


def _tag_list(value: Any) -> list[str]:
    """The tags column's value as the alphabetical list TaskTag order gives elsewhere."""
    if type(value) is list:  # PostgreSQL's ordered array, as asyncpg decodes it
        return value
    if value is None:
        return []
    if isinstance(value, str):  # SQLite: binary order, as its ORDER BY tag would sort them
        return sorted(value.split(TAG_SEPARATOR))
    return list(value)


class Layout(NamedTuple):
    """Where a statement's columns sit: the task's, then the tags, the parent's, the owner's."""

    tags: int | None
    parent: int | None
    owner: int | None

    @classmethod
    def of(cls, along: Along) -> Layout:
        tags = TASK_WIDTH if along.tags else None
        after_tags = TASK_WIDTH + (1 if along.tags else 0)
        parent = after_tags if along.parent else None
        owner = after_tags + (TASK_WIDTH if along.parent else 0) if along.owner else None
        return cls(tags, parent, owner)

    def collect(self, record: Sequence[Any], related: Related) -> TaskRow:
        """The task of `record`, and what was read along with it into `related`."""
        row = make_row(record[:TASK_WIDTH])
        if self.tags is not None:
            related.tags[row.id] = _tag_list(record[self.tags])
        if self.parent is not None and row.parent_id is not None:
            parent = record[self.parent : self.parent + TASK_WIDTH]
            related.parents[row.parent_id] = None if parent[0] is None else make_row(parent)
        if self.owner is not None and related.owner is None:
            related.owner = UserRow._make(record[self.owner : self.owner + len(USER_COLUMNS)])
        return row
