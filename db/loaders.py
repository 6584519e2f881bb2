"""Per-request dataloaders: one batched query per relation, whatever the query shape."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.users import users_by_ids


class Loaders:
    """Fresh for every request, so nothing cached outlives it or crosses users."""

    def __init__(self, session: AsyncSession) -> None:
        async def load_users(ids: Sequence[int]) -> list[User | None]:
            return await users_by_ids(session, ids)

        self.user_by_id: DataLoader[int, User | None] = DataLoader(load_users)
