"""Who may see or do what, declared on fields with Strawberry's `permission_classes`.

A permission that does not hold raises the domain error (`UNAUTHENTICATED` without
a user, `FORBIDDEN` otherwise), which `schema/errors.py` codes like any other. The
viewer's role is read from the database on every request (through the request's
user loader), so a demotion takes effect at once.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from auth.context import Info, RequestContext
from errors import Forbidden, Unauthenticated

ADMIN_ROLE = "ADMIN"
ADMINS_ONLY = "Only administrators may do this."


async def viewer_is_admin(context: RequestContext) -> bool:
    """Whether the authenticated viewer has the ADMIN role (UNAUTHENTICATED without a viewer)."""
    user_id = context.require_user_id()
    row = await context.loaders.user_by_id.load(user_id)
    if row is None:
        raise Unauthenticated(reason="invalid")
    return row.role == ADMIN_ROLE


class IsAdmin(BasePermission):
    """The viewer is an administrator."""

    message = ADMINS_ONLY

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if not await viewer_is_admin(info.context):
            raise Forbidden(ADMINS_ONLY)
        return True


class IsOwnAccount(BasePermission):
    """The field belongs to the viewer's own account (`source.pk` is the viewer's id):
    an administrator sees other accounts, never what is in them."""

    message = "Only the account's owner may see this."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.require_user_id() != source.pk:
            raise Forbidden(self.message)
        return True
