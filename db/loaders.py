"""Per-request dataloaders: one batched query per relation, whatever the query shape.

Task data is reached only through `Loaders.for_user(user_id)`, whose loaders
pass that id to every query: a key can only ever name the user's own rows.

Batches of different loaders are dispatched concurrently, but a connection runs one
statement at a time, so every query here waits for the request's lock (which also
makes opening the connection, on first use, happen once).

graphql-core cancels a field's pending siblings when a non-null error nulls their
parent. Cancelling must neither reach a loaded key's future, which every field asking
for that key shares (each caller waits behind `asyncio.shield`), nor interrupt a
statement: on PostgreSQL an interrupted statement leaves the request's connection
refusing every later one. A page or count read outside a loader runs to its end in a
task of its own, and only then is its cancelled caller told (unless the whole request
is being cancelled: its time limit is not held up).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from aiodataloader import DataLoader

from db.admin import count_users, user_page
from db.pagination import Page, PageRequest
from db.request import Reads
from db.subtasks import subtask_counts, subtask_pages
from db.task_rows import NOTHING_ALONG, Along, Related, TaskRow
from db.tasks import (
    TaskFilter,
    count_tasks,
    tags_by_task_ids,
    task_page,
    task_page_json,
    tasks_by_ids,
)
from db.users import UserRow, users_by_ids

SubtaskPageKey = tuple[int, PageRequest]
"""A parent's id and the page of its subtasks."""
Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")
T = TypeVar("T")


def _retrieve_outcome(future: asyncio.Future[Any]) -> None:
    """Mark a failure as seen: its callers may all have been cancelled meanwhile."""
    if not future.cancelled():
        future.exception()


class SharedLoader(DataLoader[Key, Value]):
    """A DataLoader whose callers each wait behind a shield of the key's shared future.

    Values a statement read ahead are kept in `ready`, a plain dict, rather than as
    one resolved future each (`DataLoader.prime`): a nested page primes and reads
    hundreds of them per request. The first value known for a key wins, whether it
    was loaded or read ahead, as with `prime`.
    """

    def __init__(self, batch_load_fn: Callable[[list[Key]], Coroutine[Any, Any, list[Value]]]):
        self.futures: dict[Key, asyncio.Future[Value]] = {}
        self.ready: dict[Key, Value] = {}
        super().__init__(batch_load_fn, cache_map=self.futures)

    def load(self, key: Key) -> asyncio.Future[Value]:
        ready = self.ready
        if key in ready:
            future: asyncio.Future[Value] = self.loop.create_future()
            future.set_result(ready[key])
            return future
        return asyncio.shield(super().load(key))

    def prime(self, key: Key, value: Value) -> SharedLoader[Key, Value]:
        self.prime_all(((key, value),))
        return self

    def clear(self, key: Key) -> SharedLoader[Key, Value]:
        self.ready.pop(key, None)
        super().clear(key)
        return self

    def clear_all(self) -> SharedLoader[Key, Value]:
        self.ready.clear()
        super().clear_all()
        return self

    def prime_all(self, items: Iterable[tuple[Key, Value]]) -> None:
        """Remember values read ahead; a key already loaded or known keeps its value."""
        ready, futures = self.ready, self.futures
        for key, value in items:
            if key not in futures and key not in ready:
                ready[key] = value

    def do_resolve_reject(self, key: Key, future: asyncio.Future[Value]) -> None:
        future.add_done_callback(_retrieve_outcome)
        super().do_resolve_reject(key, future)


async def run_to_completion(reads: Reads, read: Awaitable[T]) -> T:
    """`read` under the statement lock; a field cancelled by graphql-core is told only once
    the statement has ended. When the whole request is being cancelled (its time limit),
    the statement is cancelled with it, at once."""

    async def locked() -> T:
        async with reads.statements:
            return await read

    statement = asyncio.ensure_future(locked())
    statement.add_done_callback(_retrieve_outcome)
    try:
        return await asyncio.shield(statement)
    except asyncio.CancelledError:
        if reads.ending():
            statement.cancel()
        else:
            await asyncio.wait([statement])
        raise


class Loaders:
    """Fresh for every request, so nothing cached outlives it or crosses users.

    Each loader is built on first use: most requests need one or two of them.
    """

    def __init__(self, reads: Reads) -> None:
        self.reads = reads
        self.lock = reads.statements
        self._by_user: dict[int, UserLoaders] = {}

    @cached_property
    def user_by_id(self) -> SharedLoader[int, UserRow | None]:
        async def load_users(ids: Sequence[int]) -> list[UserRow | None]:
            async with self.lock:
                return await users_by_ids(self.reads, ids)

        return SharedLoader(load_users)

    async def user_page(self, *, search: str | None, request: PageRequest) -> Page[UserRow]:
        """A page of the accounts list (administrators only; see resolvers/admin.py)."""
        async with self.lock:
            return await user_page(self.reads, search=search, request=request)

    async def user_count(self, *, search: str | None) -> int:
        async with self.lock:
            return await count_users(self.reads, search=search)

    def for_user(self, user_id: int) -> UserLoaders:
        """The loaders of one user's tasks, made once per request."""
        loaders = self._by_user.get(user_id)
        if loaders is None:
            loaders = self._by_user[user_id] = UserLoaders(self, user_id)
        return loaders


class UserLoaders:
    """Everything a request reads about one user's tasks, batched and scoped to that user."""

    def __init__(self, loaders: Loaders, user_id: int) -> None:
        self.reads = loaders.reads
        self.lock = loaders.lock
        self.user_id = user_id
        self.users = loaders
        """The request's loaders of users: a task's owner is `users.user_by_id`."""
        self.memo: dict[object, Any] = {}
        """What the layers above derive once per request from this user's data (e.g. the
        owner's User object, a connection's validated arguments), by their own keys."""

    def prime(self, related: Related) -> None:
        """Remember what a statement read along with its tasks: their loads need no query."""
        if related.tags:
            self.tags_by_task.prime_all(related.tags.items())
        if related.parents:
            self.task_by_id.prime_all(related.parents.items())
        if related.owner is not None:
            self.users.user_by_id.prime(related.owner.id, related.owner)

    @cached_property
    def task_by_id(self) -> SharedLoader[int, TaskRow | None]:
        async def load_tasks(ids: Sequence[int]) -> list[TaskRow | None]:
            async with self.lock:
                return await tasks_by_ids(self.reads, owner_id=self.user_id, ids=ids)

        return SharedLoader(load_tasks)

    @cached_property
    def tags_by_task(self) -> SharedLoader[int, list[str]]:
        async def load_tags(task_ids: Sequence[int]) -> list[list[str]]:
            async with self.lock:
                return await tags_by_task_ids(self.reads, owner_id=self.user_id, task_ids=task_ids)

        return SharedLoader(load_tags)

    @cached_property
    def subtask_page(self) -> SharedLoader[SubtaskPageKey, Page[TaskRow]]:
        async def load_subtask_pages(keys: Sequence[SubtaskPageKey]) -> list[Page[TaskRow]]:
            parents_by_request: defaultdict[PageRequest, list[int]] = defaultdict(list)
            for parent_id, request in keys:
                parents_by_request[request].append(parent_id)
            pages: dict[SubtaskPageKey, Page[TaskRow]] = {}
            for request, parent_ids in parents_by_request.items():
                async with self.lock:
                    found = await self._subtask_pages(parent_ids, request, NOTHING_ALONG)
                keys_found = ((parent_id, request) for parent_id in parent_ids)
                pages.update(zip(keys_found, found, strict=True))
            return [pages[key] for key in keys]

        return SharedLoader(load_subtask_pages)

    async def read_subtask_pages(
        self, parent_ids: Sequence[int], request: PageRequest, along: Along
    ) -> None:
        """Read ahead one page of subtasks of each parent, with what `along` asks, in one
        statement, so that `subtask_page` answers these at once."""
        found = await run_to_completion(self.reads, self._subtask_pages(parent_ids, request, along))
        # keeps a page already loaded, if any
        self.subtask_page.prime_all(
            ((parent_id, request), page) for parent_id, page in zip(parent_ids, found, strict=True)
        )

    async def _subtask_pages(
        self, parent_ids: Sequence[int], request: PageRequest, along: Along
    ) -> list[Page[TaskRow]]:
        """The statement itself; the caller holds the statement lock."""
        pages, related = await subtask_pages(
            self.reads, owner_id=self.user_id, parent_ids=parent_ids, request=request, along=along
        )
        self.prime(related)
        return pages

    @cached_property
    def subtask_count(self) -> SharedLoader[int, int]:
        async def load_subtask_counts(parent_ids: Sequence[int]) -> list[int]:
            async with self.lock:
                return await subtask_counts(
                    self.reads, owner_id=self.user_id, parent_ids=parent_ids
                )

        return SharedLoader(load_subtask_counts)

    async def task_page(
        self, task_filter: TaskFilter, request: PageRequest, along: Along = NOTHING_ALONG
    ) -> Page[TaskRow]:
        """A top-level connection's page: its own query, so there is nothing to batch. What
        `along` reads with it is primed into the loaders."""
        page, related = await run_to_completion(
            self.reads,
            task_page(
                self.reads,
                owner_id=self.user_id,
                task_filter=task_filter,
                request=request,
                along=along,
            ),
        )
        self.prime(related)
        return page

    async def task_page_json(
        self, task_filter: TaskFilter, request: PageRequest, edge_sql: str
    ) -> Page[str] | None:
        """A top-level connection's page with each task as its edge's JSON text, written by
        PostgreSQL (db/task_json.py); None on another database (the caller reads rows)."""
        return await run_to_completion(
            self.reads,
            task_page_json(
                self.reads,
                owner_id=self.user_id,
                task_filter=task_filter,
                request=request,
                edge_json=edge_sql,
            ),
        )

    async def task_count(self, task_filter: TaskFilter) -> int:
        return await run_to_completion(
            self.reads, count_tasks(self.reads, owner_id=self.user_id, task_filter=task_filter)
        )
