"""Administration: the accounts list, suspension and reinstatement, each ADMIN only.

Access is declared with `permission_classes=[IsAdmin]`; the rules about whom an
admin may suspend (not itself, not another admin: demote first) are checked here.
Every action is recorded in the audit log, in the transaction that performs it.
"""

from __future__ import annotations

import strawberry

from auth.context import Info, RequestContext
from auth.permissions import IsAdmin
from db.admin import ADMIN, AdminAction, record, set_suspended
from db.sessions import revoke_user_sessions
from errors import BadUserInput, Forbidden, NotFound
from resolvers.text import is_storable_text
from schema.admin import MAX_REASON_LENGTH, NEWEST_FIRST, UserConnection, user_cursor_codec
from schema.node import from_global_id
from schema.pagination import OMITTED, page_request
from schema.task import RelayArguments
from schema.task_arguments import MAX_SEARCH_LENGTH
from schema.user import User


async def _users(
    context: RequestContext, relay: RelayArguments, search: str | None
) -> UserConnection:
    viewer_id = context.require_user_id()
    if search is not None and (len(search) > MAX_SEARCH_LENGTH or not is_storable_text(search)):
        raise BadUserInput(f"Search at most {MAX_SEARCH_LENGTH} characters.", field="search")
    codec = user_cursor_codec(secret=context.settings.signing_key, viewer_id=viewer_id)
    request = page_request(
        settings=context.settings,
        codec=codec,
        ordering=NEWEST_FIRST,
        first=relay.first,
        after=relay.after,
        last=relay.last,
        before=relay.before,
    )
    loaders = context.loaders
    page = await loaders.user_page(search=search or None, request=request)
    return UserConnection.from_page(
        page, codec, count=lambda: loaders.user_count(search=search or None)
    )


def _user_pk(global_id: str) -> int:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != "User":
        raise NotFound
    return decoded[1]


async def _target(context: RequestContext, global_id: str) -> User:
    row = await context.loaders.user_by_id.load(_user_pk(global_id))
    if row is None:
        raise NotFound
    return User.from_row(row)


async def _suspend(context: RequestContext, global_id: str, reason: str) -> User:
    admin_id = context.require_user_id()
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH or not is_storable_text(reason):
        raise BadUserInput(f"Give a reason of 1 to {MAX_REASON_LENGTH} characters.", field="reason")
    target = await _target(context, global_id)
    if target.pk == admin_id:
        raise Forbidden("Administrators cannot suspend themselves.")
    if target.role.value == ADMIN:
        raise Forbidden("Administrators cannot be suspended; demote them first.")
    await set_suspended(context.db, user_id=target.pk, suspended=True)
    # Always, even for an account already suspended: no session of it may survive.
    await revoke_user_sessions(context.db, user_id=target.pk)
    await record(
        context.db,
        actor_id=admin_id,
        action=AdminAction.SUSPEND,
        target_id=target.pk,
        reason=reason,
    )
    await context.db.commit()
    context.services.live_sessions.forget_user(target.pk)
    return await _reloaded(context, target.pk)


async def _reinstate(context: RequestContext, global_id: str) -> User:
    admin_id = context.require_user_id()
    target = await _target(context, global_id)
    await set_suspended(context.db, user_id=target.pk, suspended=False)
    await record(context.db, actor_id=admin_id, action=AdminAction.REINSTATE, target_id=target.pk)
    await context.db.commit()
    return await _reloaded(context, target.pk)


async def _reloaded(context: RequestContext, user_id: int) -> User:
    context.loaders.user_by_id.clear(user_id)
    row = await context.loaders.user_by_id.load(user_id)
    if row is None:
        raise NotFound
    return User.from_row(row)


@strawberry.type
class AdminQuery:
    @strawberry.field(
        description="Every account, newest first (ADMIN only). `search`: a case-insensitive "
        "substring of the email or name.",
        permission_classes=[IsAdmin],
    )
    async def users(
        self,
        info: Info,
        *,
        first: int | None = OMITTED,
        after: str | None = OMITTED,
        last: int | None = OMITTED,
        before: str | None = OMITTED,
        search: str | None = OMITTED,
    ) -> UserConnection:
        return await _users(
            info.context,
            RelayArguments.of(first, after, last, before),
            None if search is OMITTED else search,
        )


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description="Suspend an account and end all its sessions (ADMIN only).",
        permission_classes=[IsAdmin],
    )
    async def suspend_user(self, info: Info, id: strawberry.ID, reason: str) -> User:  # noqa: A002
        return await _suspend(info.context, id, reason)

    @strawberry.mutation(
        description="Let a suspended account log in again (ADMIN only).",
        permission_classes=[IsAdmin],
    )
    async def reinstate_user(self, info: Info, id: strawberry.ID) -> User:  # noqa: A002
        return await _reinstate(info.context, id)
