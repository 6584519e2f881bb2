"""Tasks: the task queries and mutations, each scoped to the authenticated user.

Another user's id behaves exactly like an id that does not exist: `null` from
queries, `NOT_FOUND` from mutations, `BAD_USER_INPUT` as a parent.
"""

from __future__ import annotations

import asyncio

import strawberry
from sqlalchemy.exc import IntegrityError

from auth.context import Info, RequestContext
from auth.permissions import viewer_is_admin
from db.task_writes import delete_task, insert_task, update_task
from errors import BadUserInput, NotFound
from resolvers.task_inputs import PARENT_NOT_FOUND, new_task, task_changes
from schema.node import Node, from_global_id, to_global_id
from schema.pagination import OMITTED
from schema.task import RelayArguments, Task, TaskConnection, task_connection
from schema.task_arguments import (
    CreateTaskInput,
    TaskFilterInput,
    TaskOrderInput,
    UpdateTaskInput,
    task_pk,
)
from schema.user import User


async def _task(context: RequestContext, global_id: str) -> Task | None:
    pk = task_pk(global_id)
    if pk is None:
        return None
    loaders = context.loaders.for_user(context.require_user_id())
    row = await loaders.task_by_id.load(pk)
    return None if row is None else Task.from_row(row, loaders, context.settings)


async def _node(context: RequestContext, global_id: str) -> Node | None:
    user_id = context.require_user_id()
    decoded = from_global_id(global_id)
    if decoded is None:
        return None
    type_name, pk = decoded
    if type_name == "Task":
        return await _task(context, global_id)
    if type_name == "User" and (pk == user_id or await viewer_is_admin(context)):
        row = await context.loaders.user_by_id.load(pk)
        return None if row is None else User.from_row(row)
    return None


@strawberry.type
class TaskQuery:
    @strawberry.field(description="One of your tasks; null when missing or not yours.")
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:  # noqa: A002
        info.context.require_user_id()
        return await _task(info.context, id)

    @strawberry.field(description="Your tasks; default order CREATED_AT DESC, ties by id.")
    async def tasks(
        self,
        info: Info,
        *,
        first: int | None = OMITTED,
        after: str | None = OMITTED,
        last: int | None = OMITTED,
        before: str | None = OMITTED,
        filter: TaskFilterInput | None = OMITTED,  # noqa: A002
        order_by: TaskOrderInput | None = OMITTED,
    ) -> TaskConnection:
        return await task_connection(
            info,
            owner_id=info.context.require_user_id(),
            relay=RelayArguments.of(first, after, last, before),
            filter_input=filter,
            order_by=order_by,
        )

    @strawberry.field(description="Any object of yours by its global id; null when missing.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:  # noqa: A002
        return await _node(info.context, id)

    @strawberry.field(description="Objects by global id, in order; null for each one missing.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        context = info.context
        context.require_user_id()
        limit = context.settings.max_page_size
        if len(ids) > limit:
            raise BadUserInput(f"Ask for at most {limit} ids at once.", field="ids")
        return list(await asyncio.gather(*(_node(context, each) for each in ids)))


@strawberry.type
class TaskMutation:
    @strawberry.mutation(description="Create a task of yours.")
    async def create_task(self, info: Info, input: CreateTaskInput) -> Task:  # noqa: A002
        context = info.context
        user_id = context.require_user_id()
        new = await new_task(context.loaders.for_user(user_id), input)
        try:
            row = await insert_task(context.db, owner_id=user_id, new=new)
            await context.db.commit()
        except IntegrityError:
            # The parent was deleted between the check and the insert.
            raise BadUserInput(PARENT_NOT_FOUND, field="parentId") from None
        return Task.from_row(row, context.loaders.for_user(user_id), context.settings)

    @strawberry.mutation(description="Change a task; omitted fields stay, explicit nulls clear.")
    async def update_task(
        self,
        info: Info,
        id: strawberry.ID,  # noqa: A002
        input: UpdateTaskInput,  # noqa: A002
    ) -> Task:
        context = info.context
        user_id = context.require_user_id()
        pk = task_pk(id)
        if pk is None:
            raise NotFound
        changes = await task_changes(context.loaders.for_user(user_id), task_id=pk, data=input)
        try:
            row = await update_task(context.db, owner_id=user_id, task_id=pk, changes=changes)
            await context.db.commit()
        except IntegrityError:
            raise BadUserInput(PARENT_NOT_FOUND, field="parentId") from None
        if row is None:
            raise NotFound
        return Task.from_row(row, context.loaders.for_user(user_id), context.settings)

    @strawberry.mutation(description="Delete a task and its subtasks; returns the deleted id.")
    async def delete_task(self, info: Info, id: strawberry.ID) -> strawberry.ID:  # noqa: A002
        context = info.context
        user_id = context.require_user_id()
        pk = task_pk(id)
        if pk is None or not await delete_task(context.db, owner_id=user_id, task_id=pk):
            raise NotFound
        await context.db.commit()
        return to_global_id("Task", pk)
