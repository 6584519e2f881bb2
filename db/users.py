"""Queries on accounts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, any_, bindparam, delete, exists, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.driver import fetch_all
from db.models import User
from db.request import Reads
from db.sessions import rows_matched
from errors import Conflict

ADMIN = "ADMIN"
EMAIL_TAKEN = "An account with this email already exists."


def email_key(email: str) -> str:
    """The case-insensitive identity of an email address."""
    return email.strip().casefold()


async def create_user(
    session: AsyncSession, *, email: str, password_hash: str, name: str | None
) -> User:
    user = User(
        email=email.strip(), email_key=email_key(email), name=name, password_hash=password_hash
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(EMAIL_TAKEN) from None
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email_key == email_key(email)))
    return result.scalar_one_or_none()


class UserRow(NamedTuple):
    """The public columns of a user, as `users_by_ids` reads them, by name."""

    id: int
    email: str
    name: str | None
    created_at: datetime
    role: str
    email_verified: bool
    suspended_at: datetime | None


USER_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.created_at,
    User.role,
    User.email_verified,
    User.suspended_at,
)
assert tuple(column.key for column in USER_COLUMNS) == UserRow._fields

# Built once: the ids are a bound parameter, so each request reuses the statement
# and its cache key. Core rows, not ORM objects: reads need no session.
_USERS_BY_IDS = select(*USER_COLUMNS).where(
    User.id.in_(bindparam("ids", type_=User.id.type, expanding=True))
)


# On PostgreSQL the ids are one array parameter, so that the read runs on the driver.
_USERS_BY_ID_ARRAY = select(*USER_COLUMNS).where(
    User.id == any_(bindparam("ids", type_=ARRAY(User.id.type)))
)


async def users_by_ids(reads: Reads, ids: Sequence[int]) -> list[UserRow | None]:
    connection = await reads.connection()
    postgresql = connection.dialect.name == "postgresql"
    statement: Select[*tuple[Any, ...]] = _USERS_BY_ID_ARRAY if postgresql else _USERS_BY_IDS
    rows = await fetch_all(connection, statement, {"ids": list(ids)})
    by_id: dict[int, UserRow] = {row.id: row for row in map(UserRow._make, rows)}
    return [by_id.get(user_id) for user_id in ids]


async def set_password_hash(session: AsyncSession, *, user_id: int, password_hash: str) -> None:
    await session.execute(
        update(User).where(User.id == user_id).values(password_hash=password_hash)
    )


async def email_taken(session: AsyncSession, email: str) -> bool:
    return bool(await session.scalar(select(exists().where(User.email_key == email_key(email)))))


async def set_name(session: AsyncSession, *, user_id: int, name: str | None) -> None:
    await session.execute(update(User).where(User.id == user_id).values(name=name))


async def mark_email_verified(session: AsyncSession, *, user_id: int) -> None:
    await session.execute(update(User).where(User.id == user_id).values(email_verified=True))


async def switch_email(session: AsyncSession, *, user_id: int, new_email: str) -> None:
    """Make `new_email` the user's verified address. Another account holding it fails the
    statement (IntegrityError); the caller rolls back."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(email=new_email, email_key=email_key(new_email), email_verified=True)
    )


async def delete_user(session: AsyncSession, *, user_id: int) -> bool:
    """Delete the account; its tasks, tags, sessions, tokens and pending mail go with it
    (ON DELETE CASCADE). Audit entries stay: they hold ids, not references."""
    result = await session.execute(
        delete(User).where(User.id == user_id).execution_options(synchronize_session=False)
    )
    return rows_matched(result) == 1
