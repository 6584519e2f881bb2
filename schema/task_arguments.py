"""The inputs that create, change, filter and order tasks, and their validation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import Enum, IntEnum

import strawberry

from db.pagination import Ordering, SortField
from db.tasks import TaskFilter
from errors import BadUserInput
from resolvers.text import require_storable_text
from schema.node import from_global_id

MAX_TAGS = 20


MAX_TAG_LENGTH = 50


MAX_SEARCH_LENGTH = 200


DEFAULT_ORDERING = Ordering(SortField.CREATED_AT, descending=True)


@strawberry.enum
class Priority(IntEnum):
    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    URGENT = 4


PRIORITIES = tuple(Priority)


@strawberry.enum
class TaskOrderField(Enum):
    CREATED_AT = SortField.CREATED_AT
    UPDATED_AT = SortField.UPDATED_AT
    DUE_AT = SortField.DUE_AT
    PRIORITY = SortField.PRIORITY
    TITLE = SortField.TITLE


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input(name="TaskOrder")
class TaskOrderInput:
    field: TaskOrderField
    direction: OrderDirection


@strawberry.input(name="TaskFilter", description="Every given condition must hold.")
class TaskFilterInput:
    completed: bool | None = None
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive substring of the title or description, taken literally.",
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="Tasks carrying all of these tags."
    )
    due_before: datetime | None = strawberry.field(
        default=None, description="Tasks due strictly before this instant."
    )
    due_after: datetime | None = strawberry.field(
        default=None, description="Tasks due at or after this instant."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Subtasks of this task."
    )
    top_level: bool | None = strawberry.field(
        default=None, description="true: only tasks without a parent; false: only subtasks."
    )


@strawberry.input
class CreateTaskInput:
    title: str = strawberry.field(description="1 to 200 characters after trimming.")
    description: str | None = strawberry.field(
        default=None, description="At most 1,000 characters."
    )
    priority: Priority | None = strawberry.field(default=None, description="NONE when omitted.")
    due_at: datetime | None = strawberry.field(default=None, description="With a time zone offset.")
    tags: list[str] | None = strawberry.field(
        default=None, description="At most 20, each 1 to 50 characters; stored lower-case."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Another task of yours."
    )


@strawberry.input(description="An omitted field is unchanged; an explicit null clears it.")
class UpdateTaskInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    completed: bool | None = strawberry.UNSET
    priority: Priority | None = strawberry.UNSET
    due_at: datetime | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Another task of yours, not this one nor one of its subtasks; null: top level.",
    )


def task_pk(global_id: str) -> int | None:
    """The primary key of a well-formed Task id, None for anything else."""
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != "Task":
        return None
    return decoded[1]


def normalize_tags(tags: Iterable[str], *, field: str) -> tuple[str, ...]:
    """Trimmed, lower-case, each 1..50 characters, duplicates dropped, at most 20."""
    normalized: dict[str, None] = {}
    for tag in tags:
        clean = tag.strip().lower()
        if not 1 <= len(clean) <= MAX_TAG_LENGTH:
            raise BadUserInput(f"Tags are 1 to {MAX_TAG_LENGTH} characters.", field=field)
        normalized[require_storable_text(clean, field=field)] = None
    if len(normalized) > MAX_TAGS:
        raise BadUserInput(f"A task has at most {MAX_TAGS} tags.", field=field)
    return tuple(normalized)


def aware(moment: datetime | None, *, field: str) -> datetime | None:
    """`moment` in UTC; it needs an offset, and its UTC instant must fit in years 1 to 9999."""
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise BadUserInput("Give a time zone offset, e.g. 2030-01-31T09:00:00Z.", field=field)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise BadUserInput("Give a moment between years 1 and 9999 in UTC.", field=field) from None


def task_filter(filter_input: TaskFilterInput | None) -> TaskFilter:
    if filter_input is None:
        return TaskFilter()
    search = filter_input.search
    if search is not None:
        if len(search) > MAX_SEARCH_LENGTH:
            raise BadUserInput(f"Search at most {MAX_SEARCH_LENGTH} characters.", field="search")
        require_storable_text(search, field="search", multiline=True)
    parent_id = None
    if filter_input.parent_id is not None:
        parent_id = task_pk(filter_input.parent_id)
        if parent_id is None:
            raise BadUserInput("Not a task id.", field="parentId")
    return TaskFilter(
        completed=filter_input.completed,
        search=search or None,
        tags=normalize_tags(filter_input.tags or (), field="tags"),
        due_before=aware(filter_input.due_before, field="dueBefore"),
        due_after=aware(filter_input.due_after, field="dueAfter"),
        parent_id=parent_id,
        top_level=filter_input.top_level,
    )


def ordering(order_by: TaskOrderInput | None) -> Ordering:
    if order_by is None:
        return DEFAULT_ORDERING
    return Ordering(order_by.field.value, order_by.direction is OrderDirection.DESC)
