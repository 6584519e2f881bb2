"""The accounts list administrators page through: `UserConnection`, newest first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from db.pagination import Ordering, Page, Position, SortField
from db.users import UserRow
from schema.pagination import CursorCodec, PageInfo
from schema.runtime.plain import PURE
from schema.user import User

NEWEST_FIRST = Ordering(SortField.CREATED_AT, descending=True)
MAX_REASON_LENGTH = 500


def user_cursor_codec(*, secret: str, viewer_id: int) -> CursorCodec:
    """Cursors of the accounts list: signed for the viewer, and never valid as task cursors."""
    return CursorCodec(secret=f"{secret}|users", user_id=viewer_id, ordering=NEWEST_FIRST)


@strawberry.type
class UserEdge:
    node: User
    position: strawberry.Private[Position]
    codec: strawberry.Private[CursorCodec]

    @strawberry.field(metadata={PURE: True})
    def cursor(self) -> str:
        return self.codec.encode(self.position)


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="All accounts matching the search; costs a query.")
    async def total_count(self) -> int:
        return await self.count()

    @classmethod
    def from_page(
        cls, page: Page[UserRow], codec: CursorCodec, *, count: Callable[[], Awaitable[int]]
    ) -> UserConnection:
        edges = [
            UserEdge(
                node=User.from_row(row), position=Position(row.created_at, row.id), codec=codec
            )
            for row in page.rows
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start=edges[0].position if edges else None,
                end=edges[-1].position if edges else None,
                codec=codec,
            ),
            count=count,
        )
