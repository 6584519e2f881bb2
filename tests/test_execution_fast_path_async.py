"""Fast path against graphql-core where a value is awaited: async resolvers and
awaitable attributes inside plain subtrees."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tests.fast_path_world import (
    Case,
    Person,
    assert_fast_path_matches_graphql_core_async,
    case,
    item,
    world,
)


class Later:
    """An awaitable that is not a coroutine (nothing warns if it is never awaited)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, Any]:
        return self.value
        yield


ASYNC_CASES = [
    case(
        "an async resolver inside a plain subtree",
        "{ connection { edges { node { title laterShout } } } item { laterShout owner { name } } }",
        {
            "connection": {
                "edges": [
                    {"node": {"title": "Tea", "laterShout": "TEA"}},
                    {"node": {"title": "Cake", "laterShout": "CAKE"}},
                ]
            },
            "item": {"laterShout": "TEA", "owner": {"name": "Ada"}},
        },
    ),
    case(
        "sync and async errors, in order",
        "{ items { title laterShout } item { rank } requiredItem { title } }",
        {
            "items": [None, {"title": "Tea", "laterShout": "TEA"}],
            "item": None,
            "requiredItem": {"title": "Cake"},
        },
        ["item", "rank"],
        ["items", 0, "laterShout"],
        root=lambda: world(items=[item(title=""), item()], item=item(rank=2**31)),
    ),
    case(
        "an awaitable attribute",
        "{ item { owner { name } } }",
        {"item": {"owner": {"name": "Bo"}}},
        root=lambda: world(item=item(owner=Later(Person(name="Bo", email=None)))),
    ),
    case(
        "an awaitable attribute resolving to null, only __typename selected",
        "{ item { owner { __typename } } }",
        {"item": {"owner": None}},
        root=lambda: world(item=item(owner=Later(None))),
    ),
    case(
        "an awaitable attribute of an identity scalar",
        "{ item { extra } }",
        {"item": {"extra": {"a": 1}}},
        root=lambda: world(item=item(extra=Later({"a": 1}))),
    ),
]


@pytest.mark.parametrize("case", ASYNC_CASES)
async def test_fast_path_matches_graphql_core_async(case: Case) -> None:
    await assert_fast_path_matches_graphql_core_async(case)
