"""Writing tasks: create, update, delete, each scoped to the owner's id.

Callers validate first; these functions trust their arguments and leave the
commit to the caller, so a mutation is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Task, TaskTag, User
from db.request import Reads
from db.task_rows import TASK_COLUMNS, TaskRow, task_row
from db.types import utcnow


@dataclass(frozen=True, slots=True)
class NewTask:
    title: str
    description: str | None
    priority: int
    due_at: datetime | None
    parent_id: int | None
    tags: Sequence[str]


@dataclass(slots=True)
class TaskChanges:
    """Only the columns a client sent; `tags` is None when the tags are unchanged."""

    values: dict[str, Any] = field(default_factory=dict)
    completed: bool | None = None
    tags: Sequence[str] | None = None


async def lock_owner_tasks(reads: Reads, *, owner_id: int) -> None:
    """Hold off other re-parenting of the owner's tasks until this transaction ends.

    Two moves that are each acyclic alone (A under B, B under A) make a cycle
    together when both check before either writes; taken before the cycle
    check, this lock makes the second one check after the first has committed.
    PostgreSQL locks the owner's row. SQLite has one writer at a time: a no-op
    UPDATE makes this transaction that writer now, so its later reads see every
    committed move.
    """
    connection = await reads.connection()  # a mutation's: its session's transaction
    if connection.dialect.name == "postgresql":
        await connection.execute(select(User.id).where(User.id == owner_id).with_for_update())
    else:
        await connection.execute(update(User).where(User.id == owner_id).values(id=User.id))


async def insert_task(session: AsyncSession, *, owner_id: int, new: NewTask) -> TaskRow:
    now = utcnow()
    result = await session.execute(
        insert(Task)
        .values(
            owner_id=owner_id,
            parent_id=new.parent_id,
            title=new.title,
            description=new.description,
            completed=False,
            priority=new.priority,
            due_at=new.due_at,
            created_at=now,
            updated_at=now,
        )
        .returning(*TASK_COLUMNS)
    )
    row = task_row(result.one())
    await _insert_tags(session, owner_id=owner_id, task_id=row.id, tags=new.tags)
    return row


async def update_task(
    session: AsyncSession, *, owner_id: int, task_id: int, changes: TaskChanges
) -> TaskRow | None:
    """Apply `changes`; None when the owner has no such task (nothing is written then)."""
    now = utcnow()
    values: dict[str, Any] = {**changes.values, "updated_at": now}
    if changes.completed is not None:
        values["completed"] = changes.completed
        # Keeps the first completion time when an already completed task is completed again.
        values["completed_at"] = (
            case((Task.completed.is_(True), Task.completed_at), else_=now)
            if changes.completed
            else None
        )
    result = await session.execute(
        update(Task)
        .where(Task.owner_id == owner_id, Task.id == task_id)
        .values(values)
        .returning(*TASK_COLUMNS)
    )
    found = result.one_or_none()
    row = None if found is None else task_row(found)
    if row is not None and changes.tags is not None:
        await session.execute(
            delete(TaskTag).where(TaskTag.owner_id == owner_id, TaskTag.task_id == task_id)
        )
        await _insert_tags(session, owner_id=owner_id, task_id=task_id, tags=changes.tags)
    return row


async def delete_task(session: AsyncSession, *, owner_id: int, task_id: int) -> bool:
    """Delete the task and, by the foreign key's cascade, its subtasks and tags."""
    result = await session.execute(
        delete(Task).where(Task.owner_id == owner_id, Task.id == task_id).returning(Task.id)
    )
    return result.first() is not None


async def _insert_tags(
    session: AsyncSession, *, owner_id: int, task_id: int, tags: Sequence[str]
) -> None:
    if tags:
        await session.execute(
            insert(TaskTag),
            [{"task_id": task_id, "tag": tag, "owner_id": owner_id} for tag in tags],
        )
