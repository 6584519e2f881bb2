"""`taskEvents`: the viewer's committed task changes, as they happen (WebSocket only).

Changes come from the process's TaskEventHub (`db/events.py`), which holds only the
subscriber's own user's changes. For each one the task is read afresh, as the
subscriber's user (once for all of that user's subscribers on this process that
ask at the same moment, `TaskEventHub.read_once`), on a read connection taken for
that read alone
(an idle subscription holds none, nor does an event on its way to the socket): a
change whose task is gone by then is dropped, unless it is the DELETED one. The
event's selection then runs on fresh loaders that already hold the task, and open
a connection only if it asks for more (its parent, tags, subtasks).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial

import strawberry

from auth.context import Info, RequestContext
from db.events import TaskChange
from db.loaders import Loaders, UserLoaders
from db.request import RequestDatabase
from db.task_rows import TaskRow
from errors import NotFound
from schema.node import to_global_id
from schema.pagination import OMITTED, given
from schema.runtime.errors import database_unavailable
from schema.subscription import TaskEvent, TaskEventKind
from schema.task import Task
from schema.task_arguments import task_pk
from settings import Settings


@strawberry.type
class TaskSubscription:
    @strawberry.subscription(
        description="Your tasks' changes as they commit; parentId: only its direct subtasks'."
    )
    async def task_events(
        self, info: Info, parent_id: strawberry.ID | None = OMITTED
    ) -> AsyncIterator[TaskEvent]:
        context = info.context
        user_id = context.require_user_id()
        parent_pk: int | None = None
        parent_id = given(parent_id)
        if parent_id is not None:
            parent_pk = task_pk(parent_id)
            loaders = context.loaders.for_user(user_id)
            if parent_pk is None or await loaders.task_by_id.load(parent_pk) is None:
                raise NotFound
        await context.database.close()  # an idle subscription holds no connection
        return _task_events(context, user_id, parent_pk)


async def _task_events(
    context: RequestContext, user_id: int, parent_pk: int | None
) -> AsyncIterator[TaskEvent]:
    # Subscriptions run only over a WebSocket (HTTP refuses them), which sets this.
    assert context.subscribe_task_events is not None
    subscriber = context.subscribe_task_events(user_id, parent_pk)
    services = context.services
    try:
        while True:
            change = await subscriber.next()
            row: TaskRow | None = None
            if change.kind != "DELETED":
                try:
                    row = await services.task_events.read_once(
                        user_id, change, partial(_read_task, context, user_id, change.task_id)
                    )
                except Exception as error:
                    if not database_unavailable(error):
                        raise
                    subscriber.fall_behind()  # the socket closes (1013): clients refetch
                    return
                if row is None:
                    continue
            database = RequestDatabase(services.read_session_factory, services.read_engine)
            context.database, context.loaders = database, Loaders(database)
            loaders = context.loaders.for_user(user_id)
            if row is not None:
                loaders.task_by_id.prime(change.task_id, row)
            try:
                yield _event(change, row, loaders, context.settings)
            finally:
                await _close(database)
    finally:
        subscriber.close()


async def _read_task(context: RequestContext, user_id: int, task_id: int) -> TaskRow | None:
    services = context.services
    async with services.task_events.reads:
        database = RequestDatabase(services.read_session_factory, services.read_engine)
        try:
            return await Loaders(database).for_user(user_id).task_by_id.load(task_id)
        finally:
            await _close(database)


async def _close(database: RequestDatabase) -> None:
    # Shielded: a socket that goes away mid-close must not strand the connection.
    await asyncio.shield(database.close())


def _event(
    change: TaskChange, row: TaskRow | None, loaders: UserLoaders, settings: Settings
) -> TaskEvent:
    task = None if row is None else Task.from_row(row, loaders, settings)
    return TaskEvent(
        kind=TaskEventKind(change.kind),
        task_id=to_global_id("Task", change.task_id),
        task=task,
        at=change.at,
    )
