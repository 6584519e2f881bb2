"""Fast path against graphql-core: resolvers and arguments inside plain subtrees,
and selections (__typename, aliases, merged fields, fragments, @skip and @include)."""

from __future__ import annotations

import pytest

from tests.fast_path_world import (
    Case,
    assert_fast_path_matches_graphql_core,
    assert_fast_path_matches_graphql_core_async,
    case,
    connection,
    item,
    world,
)

RESOLVERS = [
    case(
        "pure methods",
        "{ item { shout } connection { edges { cursor } } }",
        {"item": {"shout": "TEA"}, "connection": {"edges": [{"cursor": "c0"}, {"cursor": "c1"}]}},
    ),
    case(
        "a pure method that raises",
        "{ item { title shout } requiredItem { shout } }",
        {"item": None, "requiredItem": {"shout": "CAKE"}},
        ["item", "shout"],
        root=lambda: world(item=item(title="")),
    ),
    case(
        "a pure cursor that raises nulls the connection",
        "{ connection { edges { cursor node { title } } pageInfo { hasNextPage } } }",
        {"connection": None},
        ["connection", "edges", 0, "cursor"],
        root=lambda: world(connection=connection(item(), item(), first_position=-1)),
    ),
    case(
        "a resolver inside a plain subtree",
        "{ connection { edges { node { title slowShout } } } }",
        {
            "connection": {
                "edges": [
                    {"node": {"title": "Tea", "slowShout": "TEA"}},
                    {"node": {"title": "Cake", "slowShout": "CAKE"}},
                ]
            }
        },
    ),
    case(
        "a resolver that raises inside a plain list",
        "{ items { title slowShout } }",
        {"items": [None, {"title": "Tea", "slowShout": "TEA"}]},
        ["items", 0, "slowShout"],
        root=lambda: world(items=[item(title=""), item()]),
    ),
    case(
        "a pure method with arguments",
        "{ item { excerpt short: excerpt(length: 1) long: excerpt(length: 10) } }",
        {"item": {"excerpt": "Te", "short": "T", "long": "Tea"}},
    ),
    case(
        "an argument from a variable",
        "query($n: Int!) { item { excerpt(length: $n) title } }",
        {"item": {"excerpt": "T", "title": "Tea"}},
        variables={"n": 1},
    ),
]

SELECTIONS = [
    case(
        "__typename at every level",
        """{ __typename
            item { __typename owner { __typename } }
            connection {
                __typename edges { __typename node { __typename } } pageInfo { __typename }
            }
            node { __typename } }""",
        {
            "__typename": "Query",
            "item": {"__typename": "Item", "owner": {"__typename": "Person"}},
            "connection": {
                "__typename": "ItemConnection",
                "edges": [
                    {"__typename": "ItemEdge", "node": {"__typename": "Item"}},
                    {"__typename": "ItemEdge", "node": {"__typename": "Item"}},
                ],
                "pageInfo": {"__typename": "PageInfo"},
            },
            "node": {"__typename": "Item"},
        },
    ),
    case(
        "aliases",
        "{ first: item { name: title } second: requiredItem { title } }",
        {"first": {"name": "Tea"}, "second": {"title": "Cake"}},
    ),
    case(
        "one field under two aliases",
        "{ item { a: title b: title } again: item { note } }",
        {"item": {"a": "Tea", "b": "Tea"}, "again": {"note": None}},
    ),
    case(
        "one field selected three times, merged",
        "{ item { title } item { note owner { name } } item { owner { email } } }",
        {"item": {"title": "Tea", "note": None, "owner": {"name": "Ada", "email": None}}},
    ),
    case(
        "named fragments",
        """query { item { ...Basics } connection { edges { node { ...Basics owner { ...Who } } } } }
        fragment Basics on Item { id title }
        fragment Who on Person { name }""",
        {
            "item": {"id": "i1", "title": "Tea"},
            "connection": {
                "edges": [
                    {"node": {"id": "i1", "title": "Tea", "owner": {"name": "Ada"}}},
                    {"node": {"id": "i2", "title": "Cake", "owner": {"name": "Ada"}}},
                ]
            },
        },
    ),
    case(
        "inline fragments",
        "{ item { ... on Item { title } ... { done } ... on Node { id } } "
        "node { ... on Item { title } } }",
        {"item": {"title": "Tea", "done": False, "id": "i1"}, "node": {"title": "Tea"}},
    ),
    case(
        "@skip and @include with literals",
        """{ item { title note @skip(if: true) done @include(if: false) rank @include(if: true) }
            connection @skip(if: true) { pageInfo { hasNextPage } } }""",
        {"item": {"title": "Tea", "rank": 1}},
    ),
    case(
        "@include with a variable, false",
        "query($show: Boolean!) { item { title owner @include(if: $show) { name } } "
        "items @include(if: $show) { title } }",
        {"item": {"title": "Tea"}},
        variables={"show": False},
    ),
    case(
        "@include with a variable, true",
        "query($show: Boolean!) { item { title owner @include(if: $show) { name } } "
        "items @include(if: $show) { title } }",
        {"item": {"title": "Tea", "owner": {"name": "Ada"}}, "items": [{"title": "Tea"}, None]},
        variables={"show": True},
    ),
    case(
        "@skip on one of two merged selections, skipped",
        "query($skip: Boolean!) { item { title } item @skip(if: $skip) { note } }",
        {"item": {"title": "Tea"}},
        variables={"skip": True},
    ),
    case(
        "@skip on one of two merged selections, kept",
        "query($skip: Boolean!) { item { title } item @skip(if: $skip) { note } }",
        {"item": {"title": "Tea", "note": None}},
        variables={"skip": False},
    ),
    case(
        "@include on a fragment spread",
        """query($show: Boolean!) { item { ...Basics @include(if: $show) done } }
        fragment Basics on Item { id title }""",
        {"item": {"done": False}},
        variables={"show": False},
    ),
]


@pytest.mark.parametrize("case", RESOLVERS + SELECTIONS)
def test_fast_path_matches_graphql_core(case: Case) -> None:
    assert_fast_path_matches_graphql_core(case)


@pytest.mark.parametrize("case", RESOLVERS + SELECTIONS)
async def test_fast_path_matches_graphql_core_async(case: Case) -> None:
    await assert_fast_path_matches_graphql_core_async(case)
