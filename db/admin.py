"""Administration: the accounts list, suspension, roles, and the audit log of admin actions.

The accounts list pages by keyset over `(created_at, id)`, newest first, like task
pages (`db/pagination.py`), and `search` matches a case-insensitive substring of
the email or the name.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, func, literal, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AdminAuditEntry, User
from db.pagination import Page, PageRequest, page_from_rows
from db.request import Reads
from db.sessions import rows_matched
from db.types import utcnow
from db.users import USER_COLUMNS, UserRow, email_key

USER = "USER"
ADMIN = "ADMIN"


class AdminAction(StrEnum):
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    PROMOTE = "promote"
    DEMOTE = "demote"


def _search(search: str | None) -> list[ColumnElement[bool]]:
    if not search:
        return []
    needle = search.lower()
    return [
        or_(
            func.lower(User.email).contains(needle, autoescape=True),
            func.lower(func.coalesce(User.name, "")).contains(needle, autoescape=True),
        )
    ]


def _window(request: PageRequest) -> list[ColumnElement[bool]]:
    """Newest first: `after` a position means older than it, `before` newer."""
    key = tuple_(User.created_at, User.id)
    conditions = []
    for position, older in ((request.after, True), (request.before, False)):
        if position is not None:
            bound = tuple_(
                literal(position.value, User.created_at.type), literal(position.id, User.id.type)
            )
            conditions.append(key < bound if older else key > bound)
    return conditions


async def user_page(reads: Reads, *, search: str | None, request: PageRequest) -> Page[UserRow]:
    statement = select(*USER_COLUMNS).where(*_search(search), *_window(request))
    if request.backward:
        statement = statement.order_by(User.created_at.asc(), User.id.asc())
    else:
        statement = statement.order_by(User.created_at.desc(), User.id.desc())
    connection = await reads.connection()
    result = await connection.execute(statement.limit(request.limit + 1))
    rows = [UserRow._make(row) for row in result]
    outside = request.before is not None if request.backward else request.after is not None
    return page_from_rows(request, rows, outside=outside)


async def count_users(reads: Reads, *, search: str | None) -> int:
    connection = await reads.connection()
    count = await connection.scalar(select(func.count()).select_from(User).where(*_search(search)))
    return int(count or 0)


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: AdminAction,
    target_id: int,
    reason: str | None = None,
) -> None:
    session.add(
        AdminAuditEntry(actor_id=actor_id, action=action.value, target_id=target_id, reason=reason)
    )
    await session.flush()


async def set_suspended(session: AsyncSession, *, user_id: int, suspended: bool) -> bool:
    """Suspend or reinstate; True if that changed anything."""
    state = User.suspended_at.is_(None) if suspended else User.suspended_at.is_not(None)
    result = await session.execute(
        update(User)
        .where(User.id == user_id, state)
        .values(suspended_at=utcnow() if suspended else None)
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result) == 1


async def set_role_by_email(session: AsyncSession, *, email: str, role: str) -> int | None:
    """Give the account with this email `role`, recording it; its id, or None if unknown."""
    user_id = await session.scalar(select(User.id).where(User.email_key == email_key(email)))
    if user_id is None:
        return None
    await session.execute(update(User).where(User.id == user_id).values(role=role))
    action = AdminAction.PROMOTE if role == ADMIN else AdminAction.DEMOTE
    await record(session, actor_id=None, action=action, target_id=user_id)
    return int(user_id)
