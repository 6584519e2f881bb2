"""Validation of task inputs: every rule of the contract, each failure naming its field."""

from __future__ import annotations

from strawberry import UNSET

from db.loaders import UserLoaders
from db.subtasks import is_self_or_ancestor
from db.task_writes import NewTask, TaskChanges, lock_owner_tasks
from errors import BadUserInput
from resolvers.text import require_storable_text
from schema.task_arguments import (
    CreateTaskInput,
    Priority,
    UpdateTaskInput,
    aware,
    normalize_tags,
    task_pk,
)

MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 1000
PARENT_NOT_FOUND = "The parent must be another task of yours."


def valid_title(title: str | None) -> str:
    clean = (title or "").strip()
    if not 1 <= len(clean) <= MAX_TITLE_LENGTH:
        raise BadUserInput(f"A title is 1 to {MAX_TITLE_LENGTH} characters.", field="title")
    return require_storable_text(clean, field="title")


def valid_description(description: str | None) -> str | None:
    if description is None:
        return None
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise BadUserInput(
            f"A description is at most {MAX_DESCRIPTION_LENGTH} characters.", field="description"
        )
    return require_storable_text(description, field="description", multiline=True)


async def existing_parent(loaders: UserLoaders, parent_id: str) -> int:
    """The pk of the user's task named by `parent_id`; a missing or foreign one is refused alike."""
    pk = task_pk(parent_id)
    if pk is None or await loaders.task_by_id.load(pk) is None:
        raise BadUserInput(PARENT_NOT_FOUND, field="parentId")
    return pk


async def new_task(loaders: UserLoaders, data: CreateTaskInput) -> NewTask:
    priority = Priority.NONE if data.priority is None else data.priority
    parent_id = data.parent_id
    return NewTask(
        title=valid_title(data.title),
        description=valid_description(data.description),
        priority=int(priority),
        due_at=aware(data.due_at, field="dueAt"),
        parent_id=None if parent_id is None else await existing_parent(loaders, parent_id),
        tags=normalize_tags(data.tags or (), field="tags"),
    )


async def task_changes(loaders: UserLoaders, *, task_id: int, data: UpdateTaskInput) -> TaskChanges:
    """The columns `data` sets: UNSET leaves one alone, None clears it where it may be empty."""
    changes = TaskChanges()
    values = changes.values
    if data.title is not UNSET:
        values["title"] = valid_title(data.title)
    if data.description is not UNSET:
        values["description"] = valid_description(data.description)
    if data.completed is not UNSET:
        if data.completed is None:
            raise BadUserInput("completed is true or false.", field="completed")
        changes.completed = data.completed
    if data.priority is not UNSET:
        if data.priority is None:
            raise BadUserInput("Give a priority; NONE means none.", field="priority")
        values["priority"] = int(data.priority)
    if data.due_at is not UNSET:
        values["due_at"] = aware(data.due_at, field="dueAt")
    if data.tags is not UNSET:
        changes.tags = normalize_tags(data.tags or (), field="tags")
    if data.parent_id is not UNSET:
        values["parent_id"] = await _new_parent(loaders, task_id=task_id, parent_id=data.parent_id)
    return changes


async def _new_parent(loaders: UserLoaders, *, task_id: int, parent_id: str | None) -> int | None:
    if parent_id is None:
        return None
    pk = await existing_parent(loaders, parent_id)
    async with loaders.lock:
        await lock_owner_tasks(loaders.reads, owner_id=loaders.user_id)
        cycle = await is_self_or_ancestor(
            loaders.reads, owner_id=loaders.user_id, task_id=task_id, of_task_id=pk
        )
    if cycle:
        raise BadUserInput("A task cannot be its own parent or a subtask's.", field="parentId")
    return pk
