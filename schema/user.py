"""The User type."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Protocol

import strawberry

from auth.context import Info
from auth.permissions import IsOwnAccount
from schema.node import Node, to_global_id
from schema.pagination import OMITTED

if TYPE_CHECKING:
    from schema.task import TaskConnection
    from schema.task_arguments import TaskFilterInput, TaskOrderInput


class UserFields(Protocol):
    """What a User is built from: a `db.users.UserRow`, or the ORM user a signup made."""

    @property
    def id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def role(self) -> str: ...
    @property
    def email_verified(self) -> bool: ...
    @property
    def suspended_at(self) -> datetime | None: ...


@strawberry.enum(description="What an account may do: USER, or ADMIN (set by `taskql promote`).")
class Role(Enum):
    USER = "USER"
    ADMIN = "ADMIN"


@strawberry.input
class UpdateProfileInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="At most 100 characters after trimming; an explicit null clears it.",
    )


@strawberry.type(
    description="An account. Users see only themselves; administrators see every account, "
    "but never another account's tasks."
)
class User(Node):
    """Built for the viewer, the user a signup or login just authenticated, or (for an
    administrator) any account."""

    email: str
    name: str | None
    created_at: datetime
    email_verified: bool
    role: Role
    suspended: bool
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: UserFields) -> User:
        return cls(
            id=to_global_id("User", row.id),
            pk=row.id,
            email=row.email,
            name=row.name,
            created_at=row.created_at,
            email_verified=row.email_verified,
            role=Role(row.role),
            suspended=row.suspended_at is not None,
        )

    @strawberry.field(
        description="This user's tasks; default order CREATED_AT DESC. FORBIDDEN for "
        "anyone but the user.",
        permission_classes=[IsOwnAccount],
    )
    async def tasks(
        self,
        info: Info,
        *,
        first: int | None = OMITTED,
        after: str | None = OMITTED,
        last: int | None = OMITTED,
        before: str | None = OMITTED,
        filter: Annotated[TaskFilterInput, strawberry.lazy("schema.task_arguments")]  # noqa: A002
        | None = OMITTED,
        order_by: Annotated[TaskOrderInput, strawberry.lazy("schema.task_arguments")]
        | None = OMITTED,
    ) -> Annotated[TaskConnection, strawberry.lazy("schema.task")]:
        from schema.task import RelayArguments, task_connection  # noqa: PLC0415 - schema.task imports this module

        return await task_connection(
            info,
            owner_id=self.pk,
            relay=RelayArguments.of(first, after, last, before),
            filter_input=filter,
            order_by=order_by,
        )
