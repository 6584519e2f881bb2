"""Password-reset and email-verification tokens: random, stored as a digest, single use.

A token is spent by one conditional UPDATE (`spend_token`), so of two concurrent
uses exactly one matches the row. Issuing a token deletes the user's older tokens
of the same purpose, so a superseded token is as unknown as one never issued.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AccountToken
from db.sessions import rows_matched
from db.types import utcnow

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 200


class TokenPurpose(StrEnum):
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a secret
    VERIFY_EMAIL = "verify_email"
    CHANGE_EMAIL = "change_email"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class FoundToken:
    id: int
    user_id: int
    purpose: TokenPurpose
    new_email: str | None
    expired: bool
    used: bool


async def issue_token(
    session: AsyncSession,
    *,
    user_id: int,
    purpose: TokenPurpose,
    ttl_seconds: int,
    new_email: str | None = None,
) -> str:
    """A new token for this user and purpose, voiding the older ones; the caller commits."""
    await session.execute(
        delete(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.purpose == purpose.value)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose.value,
            token_hash=digest(token),
            new_email=new_email,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    await session.flush()
    return token


async def find_token(
    session: AsyncSession, token: str, purposes: tuple[TokenPurpose, ...]
) -> FoundToken | None:
    """The token's row if it was issued for one of `purposes` and not superseded."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None  # never issued: tokens are URL-safe base64
    row = (
        await session.execute(
            select(AccountToken).where(
                AccountToken.token_hash == digest(token),
                AccountToken.purpose.in_([purpose.value for purpose in purposes]),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return FoundToken(
        id=row.id,
        user_id=row.user_id,
        purpose=TokenPurpose(row.purpose),
        new_email=row.new_email,
        expired=row.expires_at <= utcnow(),
        used=row.used_at is not None,
    )


async def spend_token(session: AsyncSession, token_id: int) -> bool:
    """Mark the token used if it is still unused and unexpired; False if another use won."""
    now = utcnow()
    result = await session.execute(
        update(AccountToken)
        .where(
            AccountToken.id == token_id,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result) == 1


async def void_user_tokens(session: AsyncSession, *, user_id: int) -> None:
    """Void every outstanding token of the user: after an email change, links mailed to
    the old address must not reach the account any more. The caller commits."""
    await session.execute(
        delete(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.used_at.is_(None))
        .execution_options(synchronize_session=False)
    )


async def purge_old_tokens(session: AsyncSession, *, older_than: datetime) -> int:
    """Delete tokens that expired or were used before `older_than`."""
    result = await session.execute(
        delete(AccountToken)
        .where(or_(AccountToken.expires_at < older_than, AccountToken.used_at < older_than))
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result)
