"""Refresh-token sessions: one row per login, holding a digest of its current refresh token."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuthSession, User
from db.types import utcnow


def new_session_id() -> str:
    return str(uuid.uuid4())


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


async def session_is_live(session: AsyncSession, *, user_id: int, session_id: str) -> bool:
    """True while the user exists and the login behind an access token is not revoked."""
    live = exists().where(
        AuthSession.id == session_id,
        AuthSession.user_id == user_id,
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > utcnow(),
        User.id == AuthSession.user_id,
    )
    return bool(await session.scalar(select(live)))
