"""The plain-leaf fast path answers exactly as graphql-core's own path would."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from schema.execution import PlainFieldExecutionContext


@strawberry.enum
class Color(Enum):
    RED = "red"


@strawberry.type
class Thing:
    name: str
    nickname: str | None
    color: Color
    count: int

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        return [
            Thing(name="a", nickname=None, color=Color.RED, count=1),
            Thing(name=None, nickname="n", color=Color.RED, count=2),  # type: ignore[arg-type]
            Thing(name="c", nickname=None, color="mauve", count=3),  # type: ignore[arg-type]
        ]


QUERY = "{ things { name nickname color count shout } }"


def _execute(execution_context_class: Any) -> Any:
    schema = strawberry.Schema(query=Query, execution_context_class=execution_context_class)
    result = schema.execute_sync(QUERY)
    return result.data, [(error.message, error.path) for error in result.errors or []]


def test_fast_path_matches_graphql_core_on_values_nulls_and_errors() -> None:
    fast = _execute(PlainFieldExecutionContext)
    stock = _execute(None)
    assert fast == stock
    data, errors = fast
    assert data["things"][0] == {
        "name": "a",
        "nickname": None,
        "color": "RED",
        "count": 1,
        "shout": "A",
    }
    assert data["things"][1] is None
    assert data["things"][2] is None
    assert [path for _, path in errors] == [["things", 1, "name"], ["things", 2, "color"]]
