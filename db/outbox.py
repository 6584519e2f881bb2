"""The mail outbox: messages stored with the transaction that needs them, claimed by senders.

A sender claims due rows with one UPDATE whose subquery locks them
`FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite runs one writer at a time), pushing
their `next_attempt_at` past its lease: no other worker or instance picks a
claimed row up while the lease runs, and a sender that dies mid-way leaves the row
to be claimed again when it ends. The bodies of sent and failed rows are cleared,
so no link or token stays in the database once a message is out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage
from db.sessions import rows_matched
from db.types import utcnow
from db.users import email_key

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
MAX_ERROR_LENGTH = 200


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    user_id: int | None
    kind: str
    recipient: str
    subject: str | None
    body_text: str | None
    body_html: str | None
    message_id: str
    attempts: int

    @property
    def composed(self) -> bool:
        """False for a password-reset request the sender has yet to turn into a message."""
        return self.body_text is not None


async def enqueue(
    session: AsyncSession,
    *,
    user_id: int | None,
    kind: str,
    recipient: str,
    message_id: str,
    subject: str | None = None,
    body_text: str | None = None,
    body_html: str | None = None,
) -> None:
    """Store a message (or, without a body, a reset request); it leaves with the caller's commit."""
    session.add(
        OutboxMessage(
            user_id=user_id,
            kind=kind,
            recipient=recipient,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            message_id=message_id,
            status=PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
        )
    )
    await session.flush()


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[ClaimedMessage]:
    """Claim up to `limit` due messages, oldest first, until `lease_until`; commits."""
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=lease_until, attempts=OutboxMessage.attempts + 1)
        .returning(
            OutboxMessage.id,
            OutboxMessage.user_id,
            OutboxMessage.kind,
            OutboxMessage.recipient,
            OutboxMessage.subject,
            OutboxMessage.body_text,
            OutboxMessage.body_html,
            OutboxMessage.message_id,
            OutboxMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = sorted((ClaimedMessage(*row) for row in result), key=lambda message: message.id)
    await session.commit()
    return claimed


async def compose_claimed(
    session: AsyncSession,
    message: ClaimedMessage,
    *,
    user_id: int,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str,
) -> ClaimedMessage:
    """Give a claimed request its user and body (in the transaction that issues its token)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(
            user_id=user_id,
            recipient=recipient,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
        )
        .execution_options(synchronize_session=False)
    )
    return ClaimedMessage(
        id=message.id,
        user_id=user_id,
        kind=message.kind,
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        message_id=message.message_id,
        attempts=message.attempts,
    )


async def drop_requests_for(session: AsyncSession, *, email: str) -> None:
    """Delete the pending reset requests naming `email` (as `email_key` compares), before
    its account goes: they hold no user id for the cascade to follow, and would otherwise
    mail a link to whoever signs up with the address next."""
    requests = (
        await session.execute(
            select(OutboxMessage.id, OutboxMessage.recipient).where(
                OutboxMessage.user_id.is_(None), OutboxMessage.status == PENDING
            )
        )
    ).all()
    ids = [row.id for row in requests if email_key(row.recipient) == email_key(email)]
    if ids:
        await session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .execution_options(synchronize_session=False)
        )


async def drop(session: AsyncSession, message_id: int) -> None:
    """Delete a message that has nobody to go to (a reset request for no usable account)."""
    await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .execution_options(synchronize_session=False)
    )


def _owned(message: ClaimedMessage) -> ColumnElement[bool]:
    """The claim's own row: another sender that claimed it since (lease over) moved `attempts`."""
    return and_(OutboxMessage.id == message.id, OutboxMessage.attempts == message.attempts)


async def mark_sent(session: AsyncSession, messages: list[ClaimedMessage]) -> None:
    for message in messages:
        await session.execute(
            update(OutboxMessage)
            .where(_owned(message))
            .values(status=SENT, sent_at=utcnow(), body_text=None, body_html=None, last_error=None)
            .execution_options(synchronize_session=False)
        )


async def schedule_retry(
    session: AsyncSession, message: ClaimedMessage, *, at: datetime, error: str
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(_owned(message))
        .values(next_attempt_at=at, last_error=error[:MAX_ERROR_LENGTH])
        .execution_options(synchronize_session=False)
    )


async def mark_failed(session: AsyncSession, message: ClaimedMessage, *, error: str) -> bool:
    """Give up on a message; True if this claim still owned it."""
    result = await session.execute(
        update(OutboxMessage)
        .where(_owned(message))
        .values(status=FAILED, body_text=None, body_html=None, last_error=error[:MAX_ERROR_LENGTH])
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result) == 1


async def purge_finished(session: AsyncSession, *, older_than: datetime) -> int:
    """Delete sent messages (and failed ones) older than `older_than`."""
    result = await session.execute(
        delete(OutboxMessage)
        .where(
            or_(
                and_(OutboxMessage.status == SENT, OutboxMessage.sent_at < older_than),
                and_(OutboxMessage.status == FAILED, OutboxMessage.created_at < older_than),
            )
        )
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result)
