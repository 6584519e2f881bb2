"""The User type."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db import models
from schema.node import Node, to_global_id


@strawberry.type(description="An account. Users only ever see themselves.")
class User(Node):
    email: str
    name: str | None
    created_at: datetime
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.User) -> User:
        return cls(
            id=to_global_id("User", row.id),
            pk=row.id,
            email=row.email,
            name=row.name,
            created_at=row.created_at,
        )
