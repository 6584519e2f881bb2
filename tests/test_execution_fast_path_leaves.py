"""Fast path against graphql-core: every leaf type given usual and unusual values, and
the DateTime values it leaves to the response encoder."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from _pytest.mark import ParameterSet

from tests.fast_path_world import (
    FAST,
    Case,
    Color,
    ErrorPath,
    Paint,
    Query,
    assert_fast_path_matches_graphql_core,
    assert_fast_path_matches_graphql_core_async,
    case,
    item,
    world,
)
from web.responses import encode_json

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


@pytest.mark.parametrize("case", LEAVES)
def test_fast_path_matches_graphql_core(case: Case) -> None:
    assert_fast_path_matches_graphql_core(case)


@pytest.mark.parametrize("case", LEAVES)
async def test_fast_path_matches_graphql_core_async(case: Case) -> None:
    await assert_fast_path_matches_graphql_core_async(case)


def test_utc_datetimes_are_left_to_the_encoder() -> None:
    """What makes the DateTime leaves above cheap; the cases above show the bytes match."""
    result = FAST.execute_sync("{ item { due } }", root_value=world(item=item(due=MOMENT)))
    assert result.data == {"item": {"due": MOMENT}}
    assert encode_json(result.data) == b'{"item":{"due":"2030-01-31T09:00:00.123456+00:00"}}'


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
