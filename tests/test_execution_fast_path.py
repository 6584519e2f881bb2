"""The plain-field fast path answers exactly as graphql-core's own path would.

Every case runs one query over one schema twice, with `PlainFieldExecutionContext`
and with Strawberry's stock context, and compares the data (key order included)
and the errors (message, path, locations). Each case also states the answer, so
a change that broke both paths alike would still fail.

The root value is rebuilt for every run (a generator can be read only once), and
every root field is plain, so the fast path starts at the root.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import weakref
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from types import SimpleNamespace
from typing import Any, NewType

import pytest
import strawberry
from _pytest.mark import ParameterSet
from graphql import (
    DocumentNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    execute,
    parse,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult

from schema.runtime.completers import CompileBudget
from schema.runtime.fast_path import PlainFieldExecutionContext
from schema.runtime.plain import PURE
from web.responses import encode_json

Cents = NewType("Cents", int)


def _serialize_cents(value: Any) -> int | None:
    if type(value) is not int:
        raise TypeError(f"not a number of cents: {value!r}")
    return value if value >= 0 else None  # None: graphql-core's own "non-nullable" error


@strawberry.enum
class Color(Enum):
    RED = "red"
    GREEN = "green"


class Paint(Enum):
    """Not in the schema; shares a value with Color.GREEN."""

    GREEN = "green"


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class Person:
    name: str
    email: str | None


@strawberry.type
class Badge:
    label: str

    @classmethod
    def is_type_of(cls, obj: Any, info: GraphQLResolveInfo) -> bool:
        """Badges, and legacy records wherever the field is called `badge`."""
        return isinstance(obj, cls) or info.field_name == "badge"


def _shout(title: str) -> str:
    if not title:
        raise ValueError("nothing to shout")
    return title.upper()


@strawberry.type
class Item(Node):
    title: str
    note: str | None
    done: bool
    rank: int
    score: float
    color: Color
    price: Cents | None
    extra: JSON | None
    due: datetime | None
    tags: list[str]
    owner: Person | None
    badge: Badge | None

    @strawberry.field(metadata={PURE: True})
    def shout(self) -> str:
        return _shout(self.title)

    @strawberry.field(metadata={PURE: True})
    def excerpt(self, length: int = 2) -> str:
        return self.title[:length]

    @strawberry.field
    def slow_shout(self) -> str:
        return _shout(self.title)

    @strawberry.field
    async def later_shout(self) -> str:
        await asyncio.sleep(0)
        return _shout(self.title)


@strawberry.type
class ItemEdge:
    node: Item
    position: strawberry.Private[int]

    @strawberry.field(metadata={PURE: True})
    def cursor(self) -> str:
        if self.position < 0:
            raise ValueError("no cursor before the first edge")
        return f"c{self.position}"


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ItemConnection:
    edges: list[ItemEdge]
    page_info: PageInfo


@strawberry.type
class Query:
    item: Item | None
    required_item: Item
    items: list[Item | None] | None
    connection: ItemConnection | None
    node: Node | None


def _schema(execution_context_class: Any) -> strawberry.Schema:
    cents = strawberry.scalar(name="Cents", serialize=_serialize_cents, parse_value=int)
    return strawberry.Schema(
        query=Query,
        config=StrawberryConfig(scalar_map={Cents: cents}),
        execution_context_class=execution_context_class,
    )


FAST = _schema(PlainFieldExecutionContext)
STOCK = _schema(None)


def item(**changes: Any) -> Item:
    values: dict[str, Any] = {
        "id": "i1",
        "title": "Tea",
        "note": None,
        "done": False,
        "rank": 1,
        "score": 0.5,
        "color": Color.RED,
        "price": 250,
        "extra": None,
        "due": None,
        "tags": ["hot"],
        "owner": Person(name="Ada", email=None),
        "badge": None,
    }
    return Item(**(values | changes))


def connection(*nodes: Any, first_position: int = 0) -> ItemConnection:
    nodes = nodes or (item(), item(id="i2", title="Cake", note="iced"))
    edges = [ItemEdge(node=node, position=first_position + i) for i, node in enumerate(nodes)]
    return ItemConnection(edges=edges, page_info=PageInfo(has_next_page=True, end_cursor="c1"))


def world(**changes: Any) -> Query:
    values: dict[str, Any] = {
        "item": item(),
        "required_item": item(id="i2", title="Cake"),
        "items": [item(), None],
        "connection": connection(),
        "node": item(),
    }
    return Query(**(values | changes))


def items(*values: Any) -> Generator[Any]:
    yield from values


class Later:
    """An awaitable that is not a coroutine (nothing warns if it is never awaited)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, Any]:
        return self.value
        yield


class LazyRow:
    """A row whose relation refuses to load, as SQLAlchemy's `lazy="raise"` does."""

    email = None

    @property
    def name(self) -> str:
        raise RuntimeError("Person.name is not loaded")


ErrorPath = list[str | int]


@dataclass(frozen=True)
class Case:
    query: str
    root: Callable[[], Query]
    variables: dict[str, Any] | None
    data: dict[str, Any] | None
    error_paths: list[ErrorPath]


def case(
    name: str,
    query: str,
    data: dict[str, Any] | None,
    *error_paths: ErrorPath,
    root: Callable[[], Query] = world,
    variables: dict[str, Any] | None = None,
    diverges: str | None = None,
) -> ParameterSet:
    marks = [pytest.mark.xfail(strict=True, reason=diverges)] if diverges else []
    return pytest.param(Case(query, root, variables, data, list(error_paths)), id=name, marks=marks)


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

REFUSED: Any = object()
"""The leaf's scalar refuses the value: an error at the leaf."""

NULLABLE_LEAVES = {"note", "price", "extra", "due"}


def leaf(name: str, field: str, value: Any, completed: Any) -> ParameterSet:
    """`field` with `value`, read both inside a plain subtree and below an interface field."""
    query = f"{{ item {{ {field} }} node {{ ... on Item {{ {field} }} }} }}"
    errors: list[ErrorPath] = []
    if completed is REFUSED:
        errors = [["item", field], ["node", field]]
        completed_item = {field: None} if field in NULLABLE_LEAVES else None
    else:
        completed_item = {field: completed}

    def root() -> Query:
        return world(item=item(**{field: value}), node=item(**{field: value}))

    return case(name, query, {"item": completed_item, "node": completed_item}, *errors, root=root)


MOMENT = datetime(2030, 1, 31, 9, 0, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))

LEAVES = [
    leaf("Int", "rank", 7, 7),
    leaf("Int largest", "rank", 2**31 - 1, 2**31 - 1),
    leaf("Int smallest", "rank", -(2**31), -(2**31)),
    leaf("Int above 32 bits", "rank", 2**31, REFUSED),
    leaf("Int below 32 bits", "rank", -(2**31) - 1, REFUSED),
    leaf("Int from bool", "rank", True, 1),
    leaf("Int from whole float", "rank", 3.0, 3),
    leaf("Int from fraction", "rank", 2.5, REFUSED),
    leaf("Int from numeric str", "rank", "7", 7),
    leaf("Int null", "rank", None, REFUSED),
    leaf("Float", "score", 1.5, 1.5),
    leaf("Float from int", "score", 2, 2.0),
    leaf("Float NaN", "score", math.nan, REFUSED),
    leaf("Float inf", "score", math.inf, REFUSED),
    leaf("Float -inf", "score", -math.inf, REFUSED),
    leaf("Float from numeric str", "score", "1.5", 1.5),
    leaf("Float from other str", "score", "many", REFUSED),
    leaf("String", "title", "Tea", "Tea"),
    leaf("String from int", "title", 5, "5"),
    leaf("String from bool", "title", True, "true"),
    leaf("String from float", "title", 1.5, "1.5"),
    leaf("String from bytes", "title", b"Tea", REFUSED),
    leaf("String from list", "title", ["Tea"], REFUSED),
    leaf("String from enum", "title", Color.RED, "Color.RED"),
    leaf("nullable String null", "note", None, None),
    leaf("nullable String from int", "note", 5, "5"),
    leaf("nullable String from object", "note", object(), REFUSED),
    leaf("Boolean", "done", True, True),
    leaf("Boolean from int", "done", 1, True),
    leaf("Boolean from float", "done", 0.0, False),
    leaf("Boolean from str", "done", "yes", REFUSED),
    leaf("Boolean null", "done", None, REFUSED),
    leaf("ID", "id", "i1", "i1"),
    leaf("ID from int", "id", 7, "7"),
    leaf("ID from float", "id", 1.5, REFUSED),
    leaf("ID from bool", "id", True, REFUSED),
    leaf("enum member", "color", Color.GREEN, "GREEN"),
    leaf("enum value", "color", "green", "GREEN"),
    leaf("enum name", "color", "GREEN", REFUSED),
    leaf("enum non-member", "color", "mauve", REFUSED),
    leaf("enum member of another enum", "color", Paint.GREEN, REFUSED),
    leaf("custom scalar", "price", 250, 250),
    leaf("custom scalar coerced to None", "price", -1, REFUSED),
    leaf("custom scalar that raises", "price", "250", REFUSED),
    leaf("JSON", "extra", {"a": [1, None]}, {"a": [1, None]}),
    leaf("DateTime UTC", "due", MOMENT, "2030-01-31T09:00:00.123456+00:00"),
    leaf(
        "DateTime UTC whole second",
        "due",
        MOMENT.replace(microsecond=0),
        "2030-01-31T09:00:00+00:00",
    ),
    leaf("DateTime UTC year 1", "due", datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00+00:00"),
    leaf(
        "DateTime other offset",
        "due",
        MOMENT.astimezone(PLUS_TWO),
        "2030-01-31T11:00:00.123456+02:00",
    ),
    leaf("DateTime naive", "due", MOMENT.replace(tzinfo=None), "2030-01-31T09:00:00.123456"),
    leaf("DateTime from str", "due", "2030-01-31", REFUSED),
]

SYNC_CASES = SHAPES + RESOLVERS + SELECTIONS + DIVERGENCES + LEAVES

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


def _answer(result: ExecutionResult) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The data as a client receives it (the fast path leaves UTC datetimes to the encoder)."""
    return json.loads(encode_json(result.data)), [error.formatted for error in result.errors or []]


def _assert_same_and_expected(fast: ExecutionResult, stock: ExecutionResult, case: Case) -> None:
    assert stock.data == case.data
    assert [error.path for error in stock.errors or []] == case.error_paths
    assert _answer(fast) == _answer(stock)
    assert encode_json(fast.data) == encode_json(stock.data)  # and in the same order


@pytest.mark.parametrize("case", SYNC_CASES)
def test_fast_path_matches_graphql_core(case: Case) -> None:
    fast = FAST.execute_sync(case.query, variable_values=case.variables, root_value=case.root())
    stock = STOCK.execute_sync(case.query, variable_values=case.variables, root_value=case.root())
    _assert_same_and_expected(fast, stock, case)


@pytest.mark.parametrize("case", SYNC_CASES + ASYNC_CASES)
async def test_fast_path_matches_graphql_core_async(case: Case) -> None:
    fast = await FAST.execute(case.query, variable_values=case.variables, root_value=case.root())
    stock = await STOCK.execute(case.query, variable_values=case.variables, root_value=case.root())
    _assert_same_and_expected(fast, stock, case)


@pytest.mark.parametrize(
    ("query", "root", "slow_paths"),
    [
        pytest.param(
            "{ connection { edges { cursor node { title owner { name } } } "
            "pageInfo { endCursor } } }",
            world,
            [],
            id="plain connection",
        ),
        pytest.param(
            "{ item { title slowShout } }",
            world,
            [["item"], ["item", "slowShout"]],
            id="a resolver",
        ),
        pytest.param(
            "{ item { rank } requiredItem { rank } }",
            lambda: world(item=item(rank=2**31)),
            [["item"], ["item", "rank"]],
            id="a refused value",
        ),
    ],
)
def test_fast_path_is_taken_for_plain_selections(
    query: str, root: Callable[[], Query], slow_paths: list[ErrorPath]
) -> None:
    """Guards the suite above: it would pass trivially if nothing took the fast path."""
    seen: list[ErrorPath] = []

    class Recording(PlainFieldExecutionContext):
        def execute_field(
            self,
            parent_type: GraphQLObjectType,
            source: Any,
            field_details_list: FieldDetailsList,
            path: Path,
            position_context: Any,
        ) -> Any:
            seen.append(path.as_list())
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )

    result = _schema(Recording).execute_sync(query, root_value=root())
    assert result.data is not None
    assert seen == slow_paths


class KeyedRecord(dict[str, str]):
    title = "attribute"


@strawberry.type
class KeyedThing:
    title: str


@strawberry.type
class KeyedRoot:
    @strawberry.field
    def thing(self) -> KeyedThing:
        return KeyedRecord(title="item")  # type: ignore[return-value]


def test_a_schema_with_its_own_default_resolver_keeps_it() -> None:
    """Basic fields are read with the schema's default resolver; the fast path then stays out."""

    def build(context_class: Any) -> strawberry.Schema:
        return strawberry.Schema(
            query=KeyedRoot,
            config=StrawberryConfig(default_resolver=lambda source, name: source[name]),
            execution_context_class=context_class,
        )

    query = "{ thing { title } }"
    fast = build(PlainFieldExecutionContext).execute_sync(query)
    stock = build(None).execute_sync(query)
    assert stock.data == {"thing": {"title": "item"}}
    assert (fast.data, fast.errors) == (stock.data, stock.errors)


def test_one_parsed_document_run_again_answers_each_root_like_graphql_core() -> None:
    """A document without variables keeps its completers between runs (the parse cache
    hands every request the same nodes); each run still reads its own root, gives up
    where its own values are unusual, and fragments still apply by type."""
    document = parse(
        "{ item { title rank ...on Item { done } } items { title note } required: requiredItem"
        " { title } }"
    )
    roots = [
        world(),
        world(item=item(title="Cake", rank=7), items=[item(note="n")]),
        world(item=item(title=None)),  # a null where the schema forbids one: error, null item
        world(items=[item(rank=2**40)], required_item=item(title="Pie")),
        world(),
    ]
    for root in roots:
        fast, stock = (
            execute(schema._schema, document, root_value=root, **kwargs)
            for schema, kwargs in (
                (FAST, {"executor_class": PlainFieldExecutionContext}),
                (STOCK, {}),
            )
        )
        assert isinstance(fast, GraphQLExecutionResult)
        assert isinstance(stock, GraphQLExecutionResult)
        assert (fast.data, fast.errors) == (stock.data, stock.errors)


def test_runs_with_variables_share_completers_unless_a_directive_could_use_them() -> None:
    """Variables change which fields a selection collects only through directives: a
    document without any shares its completers between runs, as one without variables
    does; one with `@include(if: $show)` builds them again, and answers each run right."""
    compiled: list[object] = []

    class Counting(PlainFieldExecutionContext):
        def _compile(self, field_type: Any, field_details_list: FieldDetailsList) -> Any:
            compiled.append(field_type)
            return super()._compile(field_type, field_details_list)

    counting = _schema(Counting)

    def compilations(document: DocumentNode, *runs: dict[str, Any]) -> int:
        compiled.clear()
        for variables in runs:
            fast, stock = (
                execute(schema._schema, document, world(), variable_values=variables, **kwargs)
                for schema, kwargs in ((counting, {"executor_class": Counting}), (STOCK, {}))
            )
            assert isinstance(fast, GraphQLExecutionResult)
            assert isinstance(stock, GraphQLExecutionResult)
            assert stock.errors is None
            assert (fast.data, fast.errors) == (stock.data, stock.errors)
        return len(compiled)

    plain = parse("query($n: Int) { item { title owner { name } } items { note } }")
    assert compilations(plain, {"n": 1}) > 0
    assert compilations(plain, {"n": 2}, {"n": None}) == 0
    directed = parse(
        "query($show: Boolean!) { item { title ... @include(if: $show) { rank } owner { name } } }"
    )
    once = compilations(directed, {"show": True})
    assert once > 0
    assert compilations(directed, {"show": False}, {"show": True}) == 2 * once
    in_a_fragment = parse(
        "query($show: Boolean!) { item { ...Parts owner { name } } }"
        " fragment Parts on Item { title rank @include(if: $show) }"
    )
    once = compilations(in_a_fragment, {"show": False})
    assert once > 0
    assert compilations(in_a_fragment, {"show": True}, {"show": False}) == 2 * once


def test_aliases_do_not_make_new_code() -> None:
    """A client's aliases are values of a completer, not its source: a selection of the
    same shape under other names compiles nothing new (nor can a name reach the code)."""
    first = FAST.execute_sync("{ item { a: title b: rank __typename } }", root_value=world())
    assert first.data == {"item": {"a": "Tea", "b": 1, "__typename": "Item"}}
    compiled = CompileBudget.compiled
    second = FAST.execute_sync("{ item { c: title d: rank kind: __typename } }", root_value=world())
    assert second.data == {"item": {"c": "Tea", "d": 1, "kind": "Item"}}
    assert CompileBudget.compiled == compiled


def test_utc_datetimes_are_left_to_the_encoder() -> None:
    """What makes the DateTime leaves above cheap; the cases above show the bytes match."""
    result = FAST.execute_sync("{ item { due } }", root_value=world(item=item(due=MOMENT)))
    assert result.data == {"item": {"due": MOMENT}}
    assert encode_json(result.data) == b'{"item":{"due":"2030-01-31T09:00:00.123456+00:00"}}'


def test_a_document_once_run_is_not_kept_alive_by_its_completers() -> None:
    """Completers built for a document go with it: a document too long for the parse
    cache, sent once per request, must not pile up in memory."""
    document = parse("{ item { title rank } items { title } }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    field = weakref.ref(operation.selection_set.selections[0])
    result = execute(
        FAST._schema, document, root_value=world(), executor_class=PlainFieldExecutionContext
    )
    assert isinstance(result, GraphQLExecutionResult)
    assert result.errors is None
    del document, operation, result
    gc.collect()
    assert field() is None


def test_unformatted_datetimes_are_written_as_isoformat_by_either_encoder() -> None:
    """orjson, and the standard encoder taken for text orjson refuses (a lone surrogate)."""
    moments = [MOMENT, MOMENT.replace(microsecond=0), datetime(1, 1, 1, tzinfo=UTC)]
    expected = [moment.isoformat() for moment in moments]
    assert json.loads(encode_json({"at": moments})) == {"at": expected}
    assert json.loads(encode_json({"at": moments, "text": "\ud800"})) == {
        "at": expected,
        "text": "\ud800",
    }
    with pytest.raises(TypeError):
        encode_json({"text": "\ud800", "other": object()})
