"""What the current request committed: nothing, something, or perhaps something.

The HTTP status of an answer depends on it (CONTRACT.md, SERVICE_UNAVAILABLE): a 503
invites a retry, which after a commit would do the work twice. So the web layer opens
a `CommitRecord` around each mutation (`recording_commits`), and two events fill it in:

- the engine's `commit` event, fired just before COMMIT goes to the database: `sent`;
- the session's `after_commit` event, fired once the database confirmed it: `confirmed`;
- the engine's `handle_error` event, for a COMMIT the database answered with an error
  (a serialization failure, say): `refused`, it certainly did not commit.

A COMMIT sent and neither confirmed nor refused (the connection was lost while its
reply was awaited, or the request's time ran out then) has an unknown outcome. The
record travels in a context variable, which SQLAlchemy's greenlets and the request's
tasks inherit, so it needs no plumbing through resolvers, loaders or sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session


@dataclass(slots=True)
class CommitRecord:
    sent: int = 0
    """COMMITs sent to the database."""
    confirmed: int = 0
    """COMMITs the database confirmed."""
    refused: int = 0
    """COMMITs the database answered with an error."""

    @property
    def committed(self) -> bool:
        return self.confirmed > 0

    @property
    def unknown(self) -> bool:
        """A COMMIT went out and no reply came back: it may or may not have happened."""
        return self.sent > self.confirmed + self.refused


_CURRENT: ContextVar[CommitRecord | None] = ContextVar("taskql_commits", default=None)


@contextmanager
def recording_commits() -> Iterator[CommitRecord]:
    """Record the commits made inside the block (and the tasks it starts)."""
    record = CommitRecord()
    token = _CURRENT.set(record)
    try:
        yield record
    finally:
        _CURRENT.reset(token)


class RecordedSession(Session):
    """The ORM session class of write sessions: it reports each confirmed commit."""


@event.listens_for(RecordedSession, "after_commit")
def _confirmed(_session: Session) -> None:
    record = _CURRENT.get()
    if record is not None:
        record.confirmed += 1


def _sent(_connection: Any) -> None:
    record = _CURRENT.get()
    if record is not None:
        record.sent += 1


def _answered(
    error: BaseException | None, connection_failure: Callable[[BaseException], bool]
) -> bool:
    """Whether the database itself answered with `error` (PostgreSQL's SQLSTATE, SQLite's
    error code), rather than the connection failing or the wait being cut short."""
    seen = 0
    while error is not None and seen < 5:  # the driver's error is a cause or two below
        if connection_failure(error):
            return False
        if isinstance(getattr(error, "sqlstate", None), str) or hasattr(error, "sqlite_errorcode"):
            return True
        error = error.__cause__ or getattr(error, "orig", None)
        seen += 1
    return False


def record_commits(
    engine: AsyncEngine, *, connection_failure: Callable[[BaseException], bool]
) -> None:
    """Count the COMMITs `engine` sends and how they end (see the module docstring).

    `connection_failure(error)` tells a lost connection (no answer: unknown) from an
    error the database answered with (`db.engine.lost_connection`).
    """

    def refused(context: ExceptionContext) -> None:
        record = _CURRENT.get()
        if record is None or context.statement is not None or not record.unknown:
            return
        if not context.is_disconnect and _answered(context.original_exception, connection_failure):
            record.refused += 1

    event.listen(engine.sync_engine, "commit", _sent)
    event.listen(engine.sync_engine, "handle_error", refused)


__all__ = ["CommitRecord", "RecordedSession", "record_commits", "recording_commits"]
