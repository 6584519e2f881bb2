"""The schema and roots that the fast-path tests run, and how a case is compared.

Every case runs one query over one schema twice, with `PlainFieldExecutionContext`
and with Strawberry's stock context, and compares the data (key order included)
and the errors (message, path, locations). Each case also states the answer, so
a change that broke both paths alike would still fail.

The root value is rebuilt for every run (a generator can be read only once), and
every root field is plain, so the fast path starts at the root.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NewType

import pytest
import strawberry
from _pytest.mark import ParameterSet
from graphql import GraphQLResolveInfo
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult

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


def item_schema(execution_context_class: Any) -> strawberry.Schema:
    cents = strawberry.scalar(name="Cents", serialize=_serialize_cents, parse_value=int)
    return strawberry.Schema(
        query=Query,
        config=StrawberryConfig(scalar_map={Cents: cents}),
        execution_context_class=execution_context_class,
    )


FAST = item_schema(PlainFieldExecutionContext)
STOCK = item_schema(None)


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


def _answer(result: ExecutionResult) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The data as a client receives it (the fast path leaves UTC datetimes to the encoder)."""
    return json.loads(encode_json(result.data)), [error.formatted for error in result.errors or []]


def assert_same_and_expected(fast: ExecutionResult, stock: ExecutionResult, case: Case) -> None:
    assert stock.data == case.data
    assert [error.path for error in stock.errors or []] == case.error_paths
    assert _answer(fast) == _answer(stock)
    assert encode_json(fast.data) == encode_json(stock.data)  # and in the same order


def assert_fast_path_matches_graphql_core(case: Case) -> None:
    fast = FAST.execute_sync(case.query, variable_values=case.variables, root_value=case.root())
    stock = STOCK.execute_sync(case.query, variable_values=case.variables, root_value=case.root())
    assert_same_and_expected(fast, stock, case)


async def assert_fast_path_matches_graphql_core_async(case: Case) -> None:
    fast = await FAST.execute(case.query, variable_values=case.variables, root_value=case.root())
    stock = await STOCK.execute(case.query, variable_values=case.variables, root_value=case.root())
    assert_same_and_expected(fast, stock, case)
