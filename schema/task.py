"""The Task type and its connection.

Relations (`owner`, `parent`, `tags`, `subtasks`) resolve through the owner's
dataloaders, so a page costs one query per relation, not one per task; a page reads
what its nodes select ahead (schema/relations.py), so that they answer at once. The
inputs that filter and order tasks are in `schema/task_arguments.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import cast

import strawberry

from auth.context import Info
from db.loaders import UserLoaders
from db.pagination import Ordering, Page, PageRequest, Position, SortValue
from db.task_rows import TaskRow
from db.users import UserRow
from errors import BadUserInput, Unauthenticated
from schema.node import Node
from schema.pagination import OMITTED, CursorCodec, PageInfo, given, page_request
from schema.relations import loaded, look_ahead, mapped_later
from schema.runtime.plain import PURE
from schema.task_arguments import (
    DEFAULT_ORDERING,
    PRIORITIES,
    Priority,
    TaskFilterInput,
    TaskOrderInput,
    ordering,
    task_filter,
)
from schema.task_json import connection_json
from schema.user import User
from settings import Settings


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
    parent_pk: strawberry.Private[int | None]
    owner_pk: strawberry.Private[int]

    loaders: strawberry.Private[UserLoaders]
    settings: strawberry.Private[Settings]

    @classmethod
    def from_row(cls, row: TaskRow, loaders: UserLoaders, settings: Settings) -> Task:
        """The task of `row`; `loaders` are its owner's, which its relations load through."""
        return cls(
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
        memo = self.loaders.memo
        owner = memo.get(User)
        if owner is None:
            owner = mapped_later(self.loaders.users.user_by_id, self.owner_pk, _owner)
            if isinstance(owner, User):  # one User object for every task of the page
                memo[User] = owner
        return cast("User", owner)

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
        # Every task of a page validates the same arguments: once per request.
        given_arguments = (first, after, last, before)
        paged = loaders.memo.get(given_arguments)
        if paged is None:
            paged = loaders.memo[given_arguments] = _subtask_paging(
                RelayArguments.of(first, after, last, before), loaders, settings
            )
        codec, request = paged

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


def _subtask_paging(
    arguments: RelayArguments, loaders: UserLoaders, settings: Settings
) -> tuple[CursorCodec, PageRequest]:
    """A `subtasks(...)` selection's codec and page request, validated once per request:
    the page read ahead and each task's field share one PageRequest, so that looking a
    page up finds the very key it was stored under."""
    paged: tuple[CursorCodec, PageRequest] | None = loaders.memo.get(arguments)
    if paged is None:
        paged = loaders.memo[arguments] = arguments.page(
            settings, owner_id=loaders.user_id, task_ordering=DEFAULT_ORDERING
        )
    return paged


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
    # A selection of nothing but data: PostgreSQL writes it (schema/task_json.py).
    written = connection_json(
        info, lambda arguments: _subtask_paging(RelayArguments(**arguments), loaders, settings)[1]
    )
    if written is not None:
        page_json = await loaders.task_page_json(conditions, request, written.edge_sql)
        if page_json is not None:
            return cast("TaskConnection", written.answer(page_json.rows))
    ahead = look_ahead(info)
    page = await loaders.task_page(conditions, request, ahead.along)
    parent_ids = [row.id for row in page.rows]
    for arguments, along in ahead.subtasks if parent_ids else ():
        try:
            _codec, subtask_request = _subtask_paging(
                RelayArguments(**arguments), loaders, settings
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
