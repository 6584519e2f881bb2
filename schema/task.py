"""The Task type, its connection, and the inputs that filter and order tasks.

Relations (`owner`, `parent`, `tags`, `subtasks`) resolve through the owner's
dataloaders, so a page costs one query per relation, not one per task; a page reads
its tasks' tags and parents along in its own statement when they are selected
(schema/relations.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, IntEnum
from operator import attrgetter
from typing import cast

import strawberry

from auth.context import Info
from db.loaders import UserLoaders
from db.pagination import Ordering, Page, PageRequest, Position, SortField, SortValue
from db.tasks import TaskFilter, TaskRow
from db.users import UserRow
from errors import BadUserInput, Unauthenticated
from resolvers.text import require_storable_text
from schema.execution import PURE
from schema.node import Node, from_global_id, to_global_id
from schema.pagination import OMITTED, CursorCodec, PageInfo, given, page_request
from schema.relations import loaded, look_ahead, mapped_later
from schema.user import User
from settings import Settings

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


@dataclass(frozen=True, slots=True)
class RelayArguments:
    """A connection field's Relay arguments as the client sent them."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @classmethod
    def of(
        cls, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> RelayArguments:
        """The arguments of a connection field, OMITTED ones as None."""
        return cls(given(first), given(after), given(last), given(before))

    def page(
        self, settings: Settings, *, owner_id: int, task_ordering: Ordering
    ) -> tuple[CursorCodec, PageRequest]:
        """The owner's cursor codec, and these arguments validated into a page request."""
        codec = CursorCodec(secret=settings.signing_key, user_id=owner_id, ordering=task_ordering)
        request = page_request(
            settings=settings,
            codec=codec,
            ordering=task_ordering,
            first=self.first,
            after=self.after,
            last=self.last,
            before=self.before,
        )
        return codec, request


@strawberry.type(description="A to-do item of the viewer's. Other users' tasks do not exist.")
class Task(Node):
    """Built only from rows read for `owner_pk`, so its relations load with that owner's scope."""

    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    priority: Priority
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    parent_pk: strawberry.Private[int | None]
    owner_pk: strawberry.Private[int]

    loaders: strawberry.Private[UserLoaders]
    settings: strawberry.Private[Settings]

    @classmethod
    def from_row(cls, row: TaskRow, loaders: UserLoaders, settings: Settings) -> Task:
        """The task of `row`; `loaders` are its owner's, which its relations load through."""
        return cls(
            id=to_global_id("Task", row.id),
            pk=row.id,
            parent_pk=row.parent_id,
            owner_pk=row.owner_id,
            title=row.title,
            description=row.description,
            completed=row.completed,
            completed_at=row.completed_at,
            priority=PRIORITIES[row.priority],
            due_at=row.due_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            loaders=loaders,
            settings=settings,
        )

    # Relations answer at once when a page read them along (schema/relations.py); the
    # type checker is told the value, which graphql-core awaits when it is not ready yet.
    @strawberry.field(description="Lower-case, alphabetical.", metadata={PURE: True})
    def tags(self) -> list[str]:
        ready, tags = loaded(self.loaders.tags_by_task, self.pk)
        return tags if ready else cast("list[str]", tags)

    @strawberry.field(metadata={PURE: True})
    def parent(self) -> Task | None:
        if self.parent_pk is None:
            return None
        loaders, settings = self.loaders, self.settings
        return cast(
            "Task | None",
            mapped_later(
                loaders.task_by_id,
                self.parent_pk,
                lambda row: None if row is None else Task.from_row(row, loaders, settings),
            ),
        )

    @strawberry.field(metadata={PURE: True})
    def owner(self) -> User:
        return cast("User", mapped_later(self.loaders.users.user_by_id, self.owner_pk, _owner))

    @strawberry.field(description="Newest first.", metadata={PURE: True})
    def subtasks(
        self,
        *,
        first: int | None = OMITTED,
        after: str | None = OMITTED,
        last: int | None = OMITTED,
        before: str | None = OMITTED,
    ) -> TaskConnection:
        loaders, settings, pk = self.loaders, self.settings, self.pk
        codec, request = RelayArguments.of(first, after, last, before).page(
            settings, owner_id=self.owner_pk, task_ordering=DEFAULT_ORDERING
        )

        def connection(page: Page[TaskRow]) -> TaskConnection:
            return TaskConnection.from_page(
                page,
                codec,
                DEFAULT_ORDERING,
                loaders,
                settings,
                count=lambda: loaders.subtask_count.load(pk),
            )

        # At once when the page above read the subtask pages ahead (task_connection).
        return cast("TaskConnection", mapped_later(loaders.subtask_page, (pk, request), connection))


def _owner(row: UserRow | None) -> User:
    if row is None:
        raise Unauthenticated(reason="invalid")
    return User.from_row(row)


@strawberry.type
class TaskEdge:
    node: Task
    sort_value: strawberry.Private[SortValue]
    codec: strawberry.Private[CursorCodec]

    @property
    def position(self) -> Position:
        return Position(self.sort_value, self.node.pk)

    @strawberry.field(metadata={PURE: True})
    def cursor(self) -> str:
        return self.codec.encode(self.position)


@strawberry.type
class TaskConnection:
    edges: list[TaskEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="All tasks matching the connection's filter; costs a query.")
    async def total_count(self) -> int:
        return await self.count()

    @classmethod
    def from_page(
        cls,
        page: Page[TaskRow],
        codec: CursorCodec,
        task_ordering: Ordering,
        loaders: UserLoaders,
        settings: Settings,
        *,
        count: Callable[[], Awaitable[int]],
    ) -> TaskConnection:
        sort_value = attrgetter(task_ordering.field.value)  # a TaskRow field, by name
        make = Task.from_row
        edges = [
            TaskEdge(node=make(row, loaders, settings), sort_value=sort_value(row), codec=codec)
            for row in page.rows
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start=edges[0].position if edges else None,
                end=edges[-1].position if edges else None,
                codec=codec,
            ),
            count=count,
        )


async def task_connection(
    info: Info,
    *,
    owner_id: int,
    relay: RelayArguments,
    filter_input: TaskFilterInput | None,
    order_by: TaskOrderInput | None,
) -> TaskConnection:
    """A user's tasks as a connection: `Query.tasks` and `User.tasks` both answer this.

    `owner_id` is the viewer's id, or the id of a `User` the request may see. What the
    client selects below the page is read ahead (schema/relations.py): each task's tags
    and parent in the page's own statement, the owner, and each `subtasks(...)` selection
    for the whole page in one statement, so that the page completes without waiting.
    """
    context = info.context
    settings = context.settings
    loaders = context.loaders.for_user(owner_id)
    task_ordering = ordering(given(order_by))
    codec, request = relay.page(settings, owner_id=owner_id, task_ordering=task_ordering)
    conditions = task_filter(given(filter_input))
    ahead = look_ahead(info)
    page = await loaders.task_page(conditions, request, ahead.along)
    if ahead.owner:
        await loaders.users.user_by_id.load(owner_id)
    parent_ids = [row.id for row in page.rows]
    for arguments, along in ahead.subtasks if parent_ids else ():
        try:
            _codec, subtask_request = RelayArguments(**arguments).page(
                settings, owner_id=owner_id, task_ordering=DEFAULT_ORDERING
            )
        except BadUserInput:
            continue  # the field itself reports it
        await loaders.read_subtask_pages(parent_ids, subtask_request, along)
    return TaskConnection.from_page(
        page,
        codec,
        task_ordering,
        loaders,
        settings,
        count=lambda: loaders.task_count(conditions),
    )
