"""Fast path against graphql-core: result shapes, nulls and errors in lists, objects,
connections and interfaces (see tests/fast_path_world.py for how a case is compared)."""

from __future__ import annotations

from collections.abc import Generator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.fast_path_world import (
    Badge,
    Case,
    Person,
    assert_fast_path_matches_graphql_core,
    assert_fast_path_matches_graphql_core_async,
    case,
    connection,
    item,
    world,
)


def items(*values: Any) -> Generator[Any]:
    yield from values


class LazyRow:
    """A row whose relation refuses to load, as SQLAlchemy's `lazy="raise"` does."""

    email = None

    @property
    def name(self) -> str:
        raise RuntimeError("Person.name is not loaded")


TEA = {"id": "i1", "title": "Tea", "note": None}
CAKE = {"id": "i2", "title": "Cake", "note": "iced"}

SHAPES = [
    case(
        "connection of plain objects",
        """{ connection {
            edges { cursor node { id title note owner { name email } } }
            pageInfo { hasNextPage endCursor }
        } }""",
        {
            "connection": {
                "edges": [
                    {"cursor": "c0", "node": TEA | {"owner": {"name": "Ada", "email": None}}},
                    {"cursor": "c1", "node": CAKE | {"owner": {"name": "Ada", "email": None}}},
                ],
                "pageInfo": {"hasNextPage": True, "endCursor": "c1"},
            }
        },
    ),
    case(
        "every kind of leaf",
        "{ item { id title note done rank score color price extra tags badge { label } } }",
        {
            "item": TEA
            | {
                "done": False,
                "rank": 1,
                "score": 0.5,
                "color": "RED",
                "price": 250,
                "extra": None,
                "tags": ["hot"],
                "badge": None,
            }
        },
    ),
    case(
        "null item in a nullable list",
        "{ items { title } }",
        {"items": [{"title": "Tea"}, None]},
    ),
    case(
        "null nullable list", "{ items { title } }", {"items": None}, root=lambda: world(items=None)
    ),
    case(
        "null nullable object", "{ item { title } }", {"item": None}, root=lambda: world(item=None)
    ),
    case(
        "null non-null root object nulls the data",
        "{ item { title } requiredItem { title } }",
        None,
        ["requiredItem"],
        root=lambda: world(required_item=None),
    ),
    case(
        "null non-null leaf nulls its nullable parent",
        "{ item { title note } requiredItem { title } }",
        {"item": None, "requiredItem": {"title": "Cake"}},
        ["item", "title"],
        root=lambda: world(item=item(title=None)),
    ),
    case(
        "null in a non-null list item",
        "{ item { tags } }",
        {"item": None},
        ["item", "tags", 1],
        root=lambda: world(item=item(tags=["a", None])),
    ),
    case(
        "null non-null list",
        "{ item { tags } }",
        {"item": None},
        ["item", "tags"],
        root=lambda: world(item=item(tags=None)),
    ),
    case(
        "null edge node nulls the connection",
        "{ connection { edges { node { title } } pageInfo { hasNextPage } } }",
        {"connection": None},
        ["connection", "edges", 1, "node"],
        root=lambda: world(connection=connection(item(), None)),
    ),
    case(
        "null nullable object deep in a connection",
        "{ connection { edges { node { owner { name } } } } }",
        {
            "connection": {
                "edges": [{"node": {"owner": None}}, {"node": {"owner": {"name": "Ada"}}}]
            }
        },
        root=lambda: world(connection=connection(item(owner=None), item())),
    ),
    case(
        "errors in several list items, in order",
        "{ items { title color } }",
        {"items": [None, {"title": "Tea", "color": "RED"}, None]},
        ["items", 0, "title"],
        ["items", 2, "color"],
        root=lambda: world(items=[item(title=None), item(), item(color="mauve")]),
    ),
    case(
        "tuples as lists",
        "{ items { title tags } }",
        {"items": [{"title": "Tea", "tags": ["a", "b"]}, None]},
        root=lambda: world(items=(item(tags=("a", "b")), None)),
    ),
    case(
        "generators as lists",
        "{ items { title tags } }",
        {"items": [{"title": "Tea", "tags": ["a", "b"]}, None]},
        root=lambda: world(items=items(item(tags=items("a", "b")), None)),
    ),
    case(
        "a string where a list belongs",
        "{ item { tags } }",
        {"item": None},
        ["item", "tags"],
        root=lambda: world(item=item(tags="hot")),
    ),
    case(
        "is_type_of refuses another class",
        "{ item { title } }",
        {"item": None},
        ["item"],
        root=lambda: world(item=Person(name="Ada", email=None)),
    ),
    case(
        "is_type_of refuses another class in a list",
        "{ items { title } }",
        {"items": [{"title": "Tea"}, None]},
        ["items", 1],
        root=lambda: world(items=[item(), Person(name="Ada", email=None)]),
    ),
    case(
        "is_type_of refuses another class as an edge node",
        "{ connection { edges { node { title } } } }",
        {"connection": None},
        ["connection", "edges", 0, "node"],
        root=lambda: world(connection=connection(Person(name="Ada", email=None))),
    ),
    case(
        "a duck-typed object where no is_type_of asks",
        "{ item { owner { name email } } }",
        {"item": {"owner": {"name": "Bo", "email": "bo@example.com"}}},
        root=lambda: world(item=item(owner=SimpleNamespace(name="Bo", email="bo@example.com"))),
    ),
    case(
        "a duck-typed object missing a field",
        "{ item { owner { name email } } }",
        {"item": {"owner": {"name": "Bo", "email": None}}},
        ["item", "owner", "email"],
        root=lambda: world(item=item(owner=SimpleNamespace(name="Bo"))),
    ),
    case(
        "an interface field, then plain fields below it",
        "{ node { id __typename ... on Item { title owner { name } } } }",
        {"node": {"id": "i1", "__typename": "Item", "title": "Tea", "owner": {"name": "Ada"}}},
    ),
    case(
        "an interface field given an object outside the interface",
        "{ node { id } }",
        {"node": None},
        ["node"],
        root=lambda: world(node=Person(name="Ada", email=None)),
    ),
    case(
        "a type's own is_type_of, given a Badge",
        "{ item { badge { label } } }",
        {"item": {"badge": {"label": "gold"}}},
        root=lambda: world(item=item(badge=Badge(label="gold"))),
    ),
]

DIVERGENCES = [
    case(
        "a source attribute that raises",
        "{ item { title owner { name } } }",
        {"item": {"title": "Tea", "owner": None}},
        ["item", "owner", "name"],
        root=lambda: world(item=item(owner=LazyRow())),
    ),
    case(
        "a type's own is_type_of that reads info",
        "{ item { badge { label } } }",
        {"item": {"badge": {"label": "gold"}}},
        root=lambda: world(item=item(badge=SimpleNamespace(label="gold"))),
    ),
]


@pytest.mark.parametrize("case", SHAPES + DIVERGENCES)
def test_fast_path_matches_graphql_core(case: Case) -> None:
    assert_fast_path_matches_graphql_core(case)


@pytest.mark.parametrize("case", SHAPES + DIVERGENCES)
async def test_fast_path_matches_graphql_core_async(case: Case) -> None:
    await assert_fast_path_matches_graphql_core_async(case)
