"""Refresh-token sessions: one row per login, holding a digest of its current refresh token.

A session is the family of refresh tokens that descend from one login. Rotation
swaps the stored digest in a single conditional UPDATE, so of two concurrent
refreshes with the same token exactly one matches the row; the other matches
nothing, which is indistinguishable from (and treated as) reuse of a spent token.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuthSession, User
from db.request import Reads
from db.types import UTCDateTime, utcnow

SESSIONS_ENDED_CHANNEL = "taskql_sessions_ended"
"""PostgreSQL NOTIFY channel: each ended login, for the workers' LiveSessions caches."""


def session_ended_payload(session_id: str) -> str:
    return f"s:{session_id}"


def user_sessions_ended_payload(user_id: int) -> str:
    return f"u:{user_id}"


def new_session_id() -> str:
    return str(uuid.uuid4())


def rows_matched(result: object) -> int:
    """What an UPDATE or DELETE touched; DML always yields a cursor result."""
    assert isinstance(result, CursorResult)
    return result.rowcount


async def start_session(
    session: AsyncSession,
    *,
    session_id: str,
    user_id: int,
    refresh_jti_hash: str,
    expires_at: datetime,
) -> None:
    session.add(
        AuthSession(
            id=session_id,
            user_id=user_id,
            current_jti_hash=refresh_jti_hash,
            expires_at=expires_at,
        )
    )
    await session.flush()


# Built once: this runs on every authenticated request, and a prebuilt statement
# skips SQLAlchemy's per-call expression building and cache-key generation.
_LIVE_SESSION_EXPIRY = select(AuthSession.expires_at).where(
    AuthSession.id == bindparam("session_id"),
    AuthSession.user_id == bindparam("user_id"),
    AuthSession.revoked_at.is_(None),
    AuthSession.expires_at > bindparam("now", type_=UTCDateTime()),
    exists().where(User.id == AuthSession.user_id),
)


async def live_session_expiry(reads: Reads, *, user_id: int, session_id: str) -> datetime | None:
    """When the login behind an access token expires; None if it ended or its user is gone."""
    connection = await reads.connection()
    expires_at: datetime | None = await connection.scalar(
        _LIVE_SESSION_EXPIRY, {"session_id": session_id, "user_id": user_id, "now": utcnow()}
    )
    return expires_at


async def _announce_end(session: AsyncSession, payload: str) -> None:
    """Tell every worker's LiveSessions (auth/live_sessions.py), on commit, what ended."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(SESSIONS_ENDED_CHANNEL, payload)))


async def rotate_refresh_token(
    session: AsyncSession,
    *,
    session_id: str,
    user_id: int,
    spent_jti_hash: str,
    next_jti_hash: str,
    expires_at: datetime,
) -> bool:
    """Spend the session's current refresh token and store the next one, atomically.

    False when `spent_jti_hash` is not the current token of a live session of
    this user: already spent (reuse or a lost race), revoked or expired.
    """
    result = await session.execute(
        update(AuthSession)
        .where(
            AuthSession.id == session_id,
            AuthSession.user_id == user_id,
            AuthSession.current_jti_hash == spent_jti_hash,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        .values(current_jti_hash=next_jti_hash, expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result) == 1


async def revoke_session(session: AsyncSession, *, session_id: str, user_id: int) -> bool:
    """End one session of this user; True if it was still unrevoked."""
    result = await session.execute(
        update(AuthSession)
        .where(
            AuthSession.id == session_id,
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await _announce_end(session, session_ended_payload(session_id))
    return rows_matched(result) == 1


async def revoke_user_sessions(session: AsyncSession, *, user_id: int) -> int:
    """End every session of this user; how many were still unrevoked."""
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await _announce_end(session, user_sessions_ended_payload(user_id))
    return rows_matched(result)


async def purge_dead_sessions(session: AsyncSession, *, user_id: int) -> int:
    """Delete this user's expired and revoked sessions; how many went.

    Run whenever a user starts a session, so rows never pile up for active users.
    A token of a deleted session is refused exactly like one of a revoked session.
    """
    result = await session.execute(
        delete(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            or_(AuthSession.expires_at <= utcnow(), AuthSession.revoked_at.is_not(None)),
        )
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result)
