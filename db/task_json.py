"""Tasks written as JSON by PostgreSQL, for selections that are nothing but data.

A page whose nodes select only columns, tags, the parent, the owner and subtask pages
(W2: `owner { email } parent { title } tags subtasks(first: 5) { ... }`) needs no
Python per task: PostgreSQL can write each edge's JSON in the page's own statement,
as PostGraphile does, and the response carries that text as it is. Building the same
answer from rows (a TaskRow, a Task, an edge and a completed dict per task, a
connection per subtask page) cost most of such a request's CPU (bench/README.md).

A `Shape` says what to write: the response keys, in order, and what each holds. The
GraphQL side decides when a selection may be written this way and builds its shape
(`schema/task_json.py`); this module only turns a shape into SQL, written once per
shape. Every value is written as the GraphQL field writes it (tests/test_task_json*.py
compare the answers with stock Strawberry's, byte for byte): global ids as
`base64("Task:pk")` (URL-safe), DateTimes as `datetime.isoformat()` of the UTC value
(no fraction when it is zero), enums by name, tags in the order the tag loaders read them.

Every relation stays in the owner's scope, read off the row it hangs from: a parent,
a subtask or a tag must have the row's `owner_id`, as the loaders require.
PostgreSQL only: SQLite keeps the rows path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import count

from db.pagination import Ordering

SAFE_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\Z")
"""GraphQL names, which are the only text written into the SQL (keys, type names)."""


@dataclass(frozen=True, slots=True)
class Text:
    """A fixed string (`__typename`)."""

    value: str


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the row in scope: as it is, as a DateTime, or whether it is set."""

    name: str
    kind: str = "value"  # "value" | "datetime" | "present"


@dataclass(frozen=True, slots=True)
class GlobalId:
    """The row's global id (schema/node.py's to_global_id)."""

    type_name: str


@dataclass(frozen=True, slots=True)
class EnumName:
    """An integer column written as the enum value's name (`names[value]`)."""

    column: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Tags:
    """The task's tags, a list (never null)."""


@dataclass(frozen=True, slots=True)
class Parent:
    """The task's parent, null for a top-level task."""

    task: Shape


@dataclass(frozen=True, slots=True)
class Owner:
    """The task's owner (a user row)."""

    user: Shape


@dataclass(frozen=True, slots=True)
class Edges:
    """A connection's edges: one object per task of its page, in the page's order."""

    edge: Shape


@dataclass(frozen=True, slots=True)
class Node:
    """An edge's task."""

    task: Shape


@dataclass(frozen=True, slots=True)
class Subtasks:
    """The first `limit` subtasks in `ordering`, as a connection of `connection`'s keys."""

    limit: int
    ordering: Ordering
    connection: Shape


Member = Text | Column | GlobalId | EnumName | Tags | Parent | Owner | Edges | Node | Subtasks
Shape = tuple[tuple[str, Member], ...]
"""(response key, what it holds) in response order."""


def _literal(text: str) -> str:
    """A GraphQL name as an SQL string literal (nothing else is written into the SQL)."""
    if not SAFE_NAME.match(text):
        raise ValueError(f"not a GraphQL name: {text!r}")
    return f"'{text}'"


def _quoted(text: str) -> str:
    """A GraphQL name as the SQL literal of its JSON string."""
    _literal(text)
    return f"'\"{text}\"'"


def _json(expression: str) -> str:
    """The JSON text of an SQL value, `null` for NULL (to_json escapes as orjson does)."""
    return f"coalesce(to_json({expression})::text, 'null')"


def _datetime(expression: str) -> str:
    """`isoformat()` of an aware UTC datetime: six fraction digits, none when they are 0
    (`.000000+` can only be the fraction; replace() costs a fifth of a CASE on it)."""
    text = f"to_char(({expression} AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    return f"coalesce('\"' || replace({text}, '.000000+', '+') || '\"', 'null')"


def _order_by(alias: str, ordering: Ordering) -> str:
    """db.pagination.order_clauses, as text: the sort column, then the id."""
    direction = "DESC" if ordering.descending else "ASC"
    nulls = ""
    if ordering.field.nullable:
        nulls = " NULLS FIRST" if ordering.descending else " NULLS LAST"
    return f"{alias}.{_name(ordering.field.value)} {direction}{nulls}, {alias}.id {direction}"


def _array(item: str, order_by: str, source: str) -> str:
    """A JSON array of `item` per row of `source`, compact; `[]` for no rows."""
    aggregate = f"'[' || string_agg({item}, ',' ORDER BY {order_by}) || ']'"
    return f"coalesce((SELECT {aggregate} FROM {source}), '[]')"  # noqa: S608


class _Writer:
    """Writes one shape's SQL: an expression of the JSON text, compact as orjson writes
    it (no spaces), so that both paths answer the same bytes. Every subquery gets an
    alias of its own."""

    def __init__(self) -> None:
        self._numbers = count(1)

    def alias(self, prefix: str) -> str:
        return f"{prefix}{next(self._numbers)}"

    def object(
        self, shape: Shape, alias: str, value: Callable[[Member, str], str] | None = None
    ) -> str:
        """The JSON object of `shape`'s keys and values (each written by `value`)."""
        if not shape:
            raise ValueError("a shape has at least one key")
        write = value or self.value
        parts = []
        for index, (key, member) in enumerate(shape):
            _literal(key)
            parts.append(f"'{'{' if index == 0 else ','}\"{key}\":'")
            parts.append(write(member, alias))
        return f"({' || '.join(parts)} || '}}')"

    # Only validated GraphQL names, column names and integers are written into the SQL:
    # `_literal` and `_name` refuse anything else (hence the S608 exemptions).
    def value(self, member: Member, alias: str) -> str:  # noqa: PLR0911 - one case per kind
        match member:
            case Text(value):
                return _quoted(value)
            case Column(name, "value"):
                return _json(f"{alias}.{_name(name)}")
            case Column(name, "datetime"):
                return _datetime(f"{alias}.{_name(name)}")
            case Column(name, "present"):
                return f"(CASE WHEN {alias}.{_name(name)} IS NULL THEN 'false' ELSE 'true' END)"
            case GlobalId(type_name):
                text = f"convert_to('{_name(type_name)}:' || {alias}.id, 'UTF8')"
                return f"('\"' || translate(encode({text}, 'base64'), '+/', '-_') || '\"')"
            case EnumName(column, names):
                cases = " ".join(
                    f"WHEN {number} THEN {_quoted(name)}" for number, name in enumerate(names)
                )
                return f"(CASE {alias}.{_name(column)} {cases} ELSE 'null' END)"
            case Tags():
                tag = self.alias("tt")
                return _array(
                    f"to_json({tag}.tag)::text",
                    f"{tag}.tag",
                    f"task_tags {tag} WHERE {tag}.owner_id = {alias}.owner_id "
                    f"AND {tag}.task_id = {alias}.id",
                )
            case Parent(task):
                parent = self.alias("p")
                return (
                    f"coalesce((SELECT {self.object(task, parent)} FROM tasks {parent} "  # noqa: S608
                    f"WHERE {parent}.id = {alias}.parent_id "
                    f"AND {parent}.owner_id = {alias}.owner_id), 'null')"
                )
            case Owner(user):
                owner = self.alias("u")
                return (
                    f"coalesce((SELECT {self.object(user, owner)} FROM users {owner} "  # noqa: S608
                    f"WHERE {owner}.id = {alias}.owner_id), 'null')"
                )
            case Subtasks(limit, ordering, connection):

                def part(member: Member, parent: str) -> str:
                    if isinstance(member, Edges):
                        return self.subtask_edges(member.edge, parent, limit, ordering)
                    return self.value(member, parent)

                return self.object(connection, alias, part)
            case Node(task):
                return self.object(task, alias)
        raise ValueError(f"cannot write {member!r} here")

    def subtask_edges(self, edge: Shape, parent: str, limit: int, ordering: Ordering) -> str:
        """The first `limit` subtasks of `parent` in `ordering`, an edge object each."""
        page, row = self.alias("s"), self.alias("s")
        return _array(
            self.object(edge, row),
            _order_by(row, ordering),
            f"(SELECT * FROM tasks {page} "  # noqa: S608
            f"WHERE {page}.owner_id = {parent}.owner_id AND {page}.parent_id = {parent}.id "
            f"ORDER BY {_order_by(page, ordering)} LIMIT {int(limit)}) {row}",
        )


def _name(name: str) -> str:
    if not SAFE_NAME.match(name):
        raise ValueError(f"not a column name: {name!r}")
    return name


@lru_cache(maxsize=256)
def edge_json(edge: Shape, table: str = "tasks") -> str:
    """SQL for one edge object of `edge`'s shape, for the task row of `table`."""
    return _Writer().object(edge, table)
