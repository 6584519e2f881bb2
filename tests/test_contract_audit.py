"""Findings of a black-box audit against the contract, each pinned through /graphql."""

from __future__ import annotations

import httpx
import pytest

from tests.test_tasks import create_task, titles, user_token


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    return await user_token(client, "audit@example.com")


async def test_search_ignores_case_beyond_ascii(client: httpx.AsyncClient, token: str) -> None:
    """`search` is case-insensitive for every letter, on SQLite as on PostgreSQL."""
    await create_task(client, token, title="ÉCOLE Été")
    await create_task(client, token, title="plain", description="Ünïcode ÑANDÚ")

    async def matching(search: str) -> list[str]:
        return await titles(client, token, filter={"search": search})

    assert await matching("école été") == ["ÉCOLE Été"]
    assert await matching("ünïcode ñandú") == ["plain"]
    assert await matching("ÜNÏCODE") == ["plain"]
