"""Task change events: announced inside the writing transaction, fanned out after its commit.

`db/task_writes.py` calls `announce_task_changes` for every task it creates, updates
or deletes, inside the mutation's transaction:

- on PostgreSQL with `pg_notify`, which the server delivers at commit, in commit
  order, to every process that LISTENs (`db/listener.py` feeds them to the process's
  `TaskEventHub`), and never for a rollback;
- on SQLite (one process) the changes wait on the session and go to the hub named
  in its `info` right after its commit; a rollback drops them.

A change is small (kind, owner, task, parent before and after, time of the change):
subscribers read the task themselves, as themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import ARRAY, Text, bindparam, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

logger = logging.getLogger("taskql.events")

TASK_EVENTS_CHANNEL = "taskql_task_events"
"""PostgreSQL NOTIFY channel of task changes."""
TASK_EVENT_SINK = "taskql.task_event_sink"
"""Session `info` key (SQLite): where committed changes go, `TaskEventHub.publish`."""
_PENDING = "taskql.pending_task_changes"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

T = TypeVar("T")

ChangeKind = Literal["CREATED", "UPDATED", "DELETED"]
_KIND_CODES: dict[str, ChangeKind] = {"C": "CREATED", "U": "UPDATED", "D": "DELETED"}


@dataclass(frozen=True, slots=True)
class TaskChange:
    kind: ChangeKind
    user_id: int
    task_id: int
    old_parent_id: int | None
    new_parent_id: int | None
    at: datetime

    def encode(self) -> str:
        """`K:user:task:old:new:microseconds`, a few dozen bytes (NOTIFY allows 8000)."""
        return ":".join(
            (
                self.kind[0],
                str(self.user_id),
                str(self.task_id),
                "" if self.old_parent_id is None else str(self.old_parent_id),
                "" if self.new_parent_id is None else str(self.new_parent_id),
                str((self.at - EPOCH) // MICROSECOND),
            )
        )

    @classmethod
    def decode(cls, payload: str) -> TaskChange | None:
        """The change a payload names; None (logged) for anything malformed."""
        try:
            kind, user, task, old, new, micros = payload.split(":")
            return cls(
                kind=_KIND_CODES[kind],
                user_id=int(user),
                task_id=int(task),
                old_parent_id=int(old) if old else None,
                new_parent_id=int(new) if new else None,
                at=EPOCH + int(micros) * MICROSECOND,
            )
        except (KeyError, ValueError):
            logger.warning("ignored a malformed task event notification")
            return None

    def concerns_parent(self, parent_id: int) -> bool:
        """Whether the task is a direct subtask of `parent_id` before or after the change."""
        return parent_id in (self.old_parent_id, self.new_parent_id)


async def announce_task_changes(session: AsyncSession, changes: Sequence[TaskChange]) -> None:
    """Send `changes` when, and only when, the session's transaction commits."""
    if not changes:
        return
    if session.get_bind().dialect.name == "postgresql":
        payloads = [change.encode() for change in changes]
        if len(payloads) == 1:
            await session.execute(select(func.pg_notify(TASK_EVENTS_CHANNEL, payloads[0])))
        else:  # a deleted subtree: one round trip, notified in this order
            payload = func.unnest(bindparam("payloads", payloads, type_=ARRAY(Text)))
            await session.execute(
                select(func.pg_notify(TASK_EVENTS_CHANNEL, payload.column_valued("payload")))
            )
        return
    sync_session = session.sync_session
    pending: list[TaskChange] | None = sync_session.info.get(_PENDING)
    if pending is None:
        pending = sync_session.info[_PENDING] = []
        event.listen(sync_session, "after_commit", _deliver_pending)
        event.listen(sync_session, "after_soft_rollback", _drop_pending)
    pending.extend(changes)


def _deliver_pending(sync_session: Session) -> None:
    pending: list[TaskChange] = sync_session.info.get(_PENDING) or []
    if not pending:
        return
    changes = list(pending)
    pending.clear()
    sink: Callable[[Iterable[TaskChange]], None] | None = sync_session.info.get(TASK_EVENT_SINK)
    if sink is not None:
        sink(changes)


def _drop_pending(sync_session: Session, _previous_transaction: Any) -> None:
    pending: list[TaskChange] | None = sync_session.info.get(_PENDING)
    if pending:
        pending.clear()


class TaskSubscriber:
    """One subscription's queue of changes of one user's tasks (of one parent's), bounded."""

    __slots__ = ("_closed", "_hub", "_on_behind", "_queue", "parent_id", "user_id")

    def __init__(
        self,
        hub: TaskEventHub,
        user_id: int,
        parent_id: int | None,
        *,
        max_queued: int,
        on_behind: Callable[[], None],
    ) -> None:
        self._hub = hub
        self.user_id = user_id
        self.parent_id = parent_id
        self._queue: asyncio.Queue[TaskChange] = asyncio.Queue(max_queued)
        self._on_behind = on_behind
        self._closed = False

    def offer(self, change: TaskChange) -> None:
        if self._closed or (
            self.parent_id is not None and not change.concerns_parent(self.parent_id)
        ):
            return
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            self.fall_behind()

    def fall_behind(self) -> None:
        """Give up: its queue overflowed, or an event could not be read. Events from
        here on would be missing, so the subscriber is told (its socket closes)."""
        self.close()
        self._on_behind()

    async def next(self) -> TaskChange:
        return await self._queue.get()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._hub.remove(self)


class TaskEventHub:
    """A process's subscribers by user, and the one way changes reach them (`publish`).

    `reads` admits the subscribers' reads of their events' tasks a few at a time, as
    MAX_CONCURRENT_QUERIES admits queries: a burst of events waits its turn here (its
    subscribers' queues bound the wait) instead of exhausting the connection pool.
    """

    def __init__(self, *, max_queued: int, max_concurrent_reads: int = 10) -> None:
        self.max_queued = max_queued
        self.reads = asyncio.Semaphore(max_concurrent_reads)
        self._by_user: dict[int, set[TaskSubscriber]] = {}
        self._reading: dict[tuple[int, TaskChange], asyncio.Future[Any]] = {}

    async def read_once(
        self, user_id: int, change: TaskChange, read: Callable[[], Awaitable[T]]
    ) -> T:
        """`read()` for `user_id`'s subscribers of `change`, run once for those that ask
        while it runs: a user's sockets on this process then cost one read per change,
        not one each. The key holds the subscriber's user id, and `read` reads as that
        user, so a read is only ever shared within one user."""
        key = (user_id, change)
        running = self._reading.get(key)
        if running is not None:
            return cast("T", await asyncio.shield(running))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._reading[key] = future
        try:
            value = await read()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: those who wait get it too
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._reading[key]

    def subscribe(
        self, user_id: int, parent_id: int | None, *, on_behind: Callable[[], None]
    ) -> TaskSubscriber:
        """A subscriber of `user_id`'s changes (only `parent_id`'s subtasks' unless None);
        `on_behind` is called, and the subscriber closed, when it cannot keep up."""
        subscriber = TaskSubscriber(
            self, user_id, parent_id, max_queued=self.max_queued, on_behind=on_behind
        )
        self._by_user.setdefault(user_id, set()).add(subscriber)
        return subscriber

    def remove(self, subscriber: TaskSubscriber) -> None:
        subscribers = self._by_user.get(subscriber.user_id)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._by_user[subscriber.user_id]

    def publish(self, changes: Iterable[TaskChange]) -> None:
        """Hand committed changes, in commit order, to their user's subscribers."""
        for change in changes:
            for subscriber in list(self._by_user.get(change.user_id, ())):
                subscriber.offer(change)

    def subscriber_count(self, user_id: int) -> int:
        return len(self._by_user.get(user_id, ()))

    def publish_payload(self, payload: str) -> None:
        """A notification from TASK_EVENTS_CHANNEL (db/listener.py)."""
        change = TaskChange.decode(payload)
        if change is not None:
            self.publish((change,))
