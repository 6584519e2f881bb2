"""Writing tasks: create, update, delete, each scoped to the owner's id.

Callers validate first; these functions trust their arguments and leave the
commit to the caller, so a mutation is one transaction. Each one announces what it
changed (`db/events.py`) inside that transaction: the one place events come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.events import TaskChange, announce_task_changes
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
    # A mutation's connection: its session's transaction.
    await _lock_owner(await reads.connection(), owner_id=owner_id)


async def _lock_owner(connection: AsyncConnection, *, owner_id: int) -> None:
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
    await announce_task_changes(
        session, [TaskChange("CREATED", owner_id, row.id, None, new.parent_id, now)]
    )
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
    old_parent_id: int | None = None
    if "parent_id" in changes.values:  # a move: the task leaves its old parent
        old_parent_id = await session.scalar(
            select(Task.parent_id).where(Task.owner_id == owner_id, Task.id == task_id)
        )
    result = await session.execute(
        update(Task)
        .where(Task.owner_id == owner_id, Task.id == task_id)
        .values(values)
        .returning(*TASK_COLUMNS)
    )
    found = result.one_or_none()
    if found is None:
        return None
    row = task_row(found)
    if changes.tags is not None:
        await session.execute(
            delete(TaskTag).where(TaskTag.owner_id == owner_id, TaskTag.task_id == task_id)
        )
        await _insert_tags(session, owner_id=owner_id, task_id=task_id, tags=changes.tags)
    if "parent_id" not in changes.values:
        old_parent_id = row.parent_id
    await announce_task_changes(
        session, [TaskChange("UPDATED", owner_id, task_id, old_parent_id, row.parent_id, now)]
    )
    return row


async def delete_task(session: AsyncSession, *, owner_id: int, task_id: int) -> bool:
    """Delete the task with its subtasks, and their tags; False when there is no such task.

    The subtree is read first (the foreign key's cascade would delete it unseen), so
    that each deleted task is announced: DELETED for each, the task first. The
    owner's lock (as `lock_owner_tasks` takes it) keeps a concurrent delete or move from
    changing the subtree between that read and the delete.
    """
    now = utcnow()
    await _lock_owner(await session.connection(), owner_id=owner_id)
    subtree = (
        select(Task.id, Task.parent_id)
        .where(Task.owner_id == owner_id, Task.id == task_id)
        .cte("subtree", recursive=True)
    )
    subtree = subtree.union_all(
        select(Task.id, Task.parent_id).where(
            Task.owner_id == owner_id, Task.parent_id == subtree.c.id
        )
    )
    found = list((await session.execute(select(subtree.c.id, subtree.c.parent_id))).all())
    if not found:
        return False
    await session.execute(
        delete(Task).where(Task.owner_id == owner_id, Task.id.in_([row.id for row in found]))
    )
    found.sort(key=lambda row: (row.id != task_id, row.id))
    await announce_task_changes(
        session,
        [TaskChange("DELETED", owner_id, row.id, row.parent_id, None, now) for row in found],
    )
    return True


async def _insert_tags(
    session: AsyncSession, *, owner_id: int, task_id: int, tags: Sequence[str]
) -> None:
    if tags:
        await session.execute(
            insert(TaskTag),
            [{"task_id": task_id, "tag": tag, "owner_id": owner_id} for tag in tags],
        )
